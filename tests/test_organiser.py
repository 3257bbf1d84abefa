"""The organiser's commands by email: carried out all or nothing, each answered."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailbot.inbound.commands import Verb, parse_commands
from mailbot.store.database import connect
from mailbot.store.tables import AuditRow, BookingRow
from tests.harness import Reply, Workspace, compose, first_officer_cancels, unverified_request
from tests.realmail import officer_request

ORGANISER = "Forum Organiser <organiser@example.ac.uk>"


def by_email(ws: Workspace) -> dict[str, BookingRow]:
    with Session(connect(ws.settings.database_url())) as session:
        return {r.email: r for r in session.exec(select(BookingRow)).all()}


def command(ws: Workspace, text: str, sender: str = ORGANISER, key: str = "o1") -> None:
    ws.deliver(compose(sender, text, subject="Re: digest", message_id=f"<{key}@example.ac.uk>"))
    ws.poll()


def answer_parts(answer: Reply) -> tuple[str, str]:
    """The organiser's answer as text, and as the HTML part's text (entities undone)."""
    text = answer.message.get_body(("plain",))
    page = answer.message.get_body(("html",))
    assert text is not None and page is not None
    return str(text.get_content()), html.unescape(str(page.get_content()))


def full_house(tmp_path: Path, capacity: int = 2, officers: int = 3) -> Workspace:
    ws = Workspace(tmp_path, capacity=capacity)
    ws.deliver(*(officer_request(i) for i in range(officers)))
    ws.poll()
    ws.new_replies()
    return ws


def test_approve_confirms_a_held_request_and_both_are_told(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=5)
    ws.deliver(
        compose(
            "Chris Doyle <chris.doyle@cumbria.police.uk>",
            "Please book me a place.\n\nChris Doyle",
            message_id="<held@cumbria>",
            authenticated=False,
        )
    )
    ws.poll()
    (held,) = ws.new_replies()
    assert held.outcome == "held" and held.booking is not None

    command(ws, f"APPROVE {held.booking}\n\nThanks\nForum Organiser")
    replies = {r.to: r for r in ws.new_replies()}
    assert replies["chris.doyle@cumbria.police.uk"].outcome == "confirmed"
    answer = replies["organiser@example.ac.uk"]
    body = answer.message.get_body(("plain",))
    assert body is not None and f"APPROVE {held.booking}: confirmed" in body.get_content()
    assert by_email(ws)["chris.doyle@cumbria.police.uk"].status == "confirmed"
    with Session(connect(ws.settings.database_url())) as session:
        actors = {a.actor for a in session.exec(select(AuditRow)).all()}
    assert "organiser@example.ac.uk" in actors


def test_a_typo_or_an_unknown_reference_changes_nothing_and_says_why(tmp_path: Path) -> None:
    ws = full_house(tmp_path)
    before = {e: r.status for e, r in by_email(ws).items()}
    ref = by_email(ws)["officer0@lancashire.police.uk"].ref
    command(ws, f"CANCEL {ref}\nAPROVE {ref}\nCANCEL ZZZ-999")
    (answer,) = ws.new_replies()
    assert answer.to == "organiser@example.ac.uk"
    body = answer.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "did you mean APPROVE?" in text
    assert {e: r.status for e, r in by_email(ws).items()} == before, "all or nothing"


def test_a_command_that_cannot_be_done_undoes_the_ones_before_it(tmp_path: Path) -> None:
    ws = full_house(tmp_path)
    before = by_email(ws)
    ref = before["officer0@lancashire.police.uk"].ref
    command(ws, f"CANCEL {ref}\nCANCEL ZZZ-999")
    (answer,) = ws.new_replies()  # the organiser's, and nobody was told of a change
    body = answer.message.get_body(("plain",))
    assert body is not None and "CANCEL ZZZ-999: no booking ZZZ-999" in body.get_content()
    after = by_email(ws)
    assert {e: r.status for e, r in after.items()} == {e: r.status for e, r in before.items()}
    assert {e: r.updated_at for e, r in after.items()} == {
        e: r.updated_at for e, r in before.items()
    }, "the cancellation and the promotion it caused were written, then undone"
    with Session(connect(ws.settings.database_url())) as session:
        actions = [a.action for a in session.exec(select(AuditRow)).all()]
    assert not any("cancelled" in action for action in actions)


def test_unknown_reference_alone_is_reported(tmp_path: Path) -> None:
    ws = full_house(tmp_path)
    command(ws, "CANCEL ZZZ-999")
    (answer,) = ws.new_replies()
    body = answer.message.get_body(("plain",))
    assert body is not None and "CANCEL ZZZ-999: no booking ZZZ-999" in body.get_content()


def test_cancel_by_the_organiser_promotes_the_waitlist(tmp_path: Path) -> None:
    ws = full_house(tmp_path)
    ref = by_email(ws)["officer0@lancashire.police.uk"].ref
    command(ws, f"CANCEL {ref}")
    told = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert told == [
        ("officer0@lancashire.police.uk", "cancelled"),
        ("officer2@lancashire.police.uk", "promoted"),
        ("organiser@example.ac.uk", "info"),
    ]


def test_a_capacity_increase_promotes_from_the_waitlist_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    ws = full_house(tmp_path, capacity=1, officers=4)
    command(ws, "CAPACITY cse-forum-preston 3")
    told = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert told == [
        ("officer1@lancashire.police.uk", "promoted"),
        ("officer2@lancashire.police.uk", "promoted"),
        ("organiser@example.ac.uk", "info"),
    ]
    ws.deliver(officer_request(9))
    ws.poll()  # a new process re-reads config.toml (capacity 1): the organiser's 3 must stand
    (late,) = ws.new_replies()
    assert late.outcome == "waitlisted"


def test_add_and_list(tmp_path: Path) -> None:
    ws = full_house(tmp_path, capacity=5, officers=2)
    command(ws, "ADD sam.hale@kent.police.uk DS Siân Hale\nLIST")
    replies = {r.to: r for r in ws.new_replies()}
    assert replies["sam.hale@kent.police.uk"].outcome == "confirmed"
    answer = replies["organiser@example.ac.uk"].message
    (attachment,) = list(answer.iter_attachments())
    assert attachment.get_filename() == "cse-forum-preston-attendees.csv"
    assert attachment.get_content_charset() == "utf-8"
    rows = list(csv.reader(io.StringIO(attachment.get_content().lstrip("\ufeff"))))
    emails = {row[5] for row in rows[1:]}
    assert {"sam.hale@kent.police.uk", "officer0@lancashire.police.uk"} <= emails
    sam = next(row for row in rows if row[5] == "sam.hale@kent.police.uk")
    assert sam[:4] == ["Hale", "Siân", "Detective Sergeant", "Kent Police"], "read as written"


def test_commands_from_anyone_else_are_an_ordinary_mail(tmp_path: Path) -> None:
    ws = full_house(tmp_path)
    ref = by_email(ws)["officer0@lancashire.police.uk"].ref
    command(ws, f"CANCEL {ref}", sender="Someone <someone@gmail.example.com>")
    (reply,) = ws.new_replies()
    assert reply.to == "someone@gmail.example.com"
    assert by_email(ws)["officer0@lancashire.police.uk"].status == "confirmed"


def test_unauthenticated_organiser_mail_is_refused(tmp_path: Path) -> None:
    ws = full_house(tmp_path)
    ref = by_email(ws)["officer0@lancashire.police.uk"].ref
    ws.deliver(compose(ORGANISER, f"CANCEL {ref}", message_id="<spoof@x>", authenticated=False))
    ws.poll()
    (answer,) = ws.new_replies()
    body = answer.message.get_body(("plain",))
    assert body is not None and "could not be authenticated" in body.get_content()
    assert by_email(ws)["officer0@lancashire.police.uk"].status == "confirmed"


def test_command_parsing_table() -> None:
    parsed = parse_commands(
        "approve abc-def\nCAPACITY cse-forum-preston 80\nADD <a.b@met.police.uk> PC Ann Bee\n"
        "MOVE ABC-DEF other-event\nLIST\n\nThanks, Organiser"
    )
    assert [c.verb for c in parsed.commands] == [
        Verb.APPROVE,
        Verb.CAPACITY,
        Verb.ADD,
        Verb.MOVE,
        Verb.LIST,
    ]
    assert parsed.commands[0].ref == "ABC-DEF"
    assert parsed.commands[1].number == 80
    assert (parsed.commands[2].email, parsed.commands[2].name) == (
        "a.b@met.police.uk",
        "PC Ann Bee",
    )
    assert parsed.problems == ()
    bad = parse_commands("CAPACITY cse-forum-preston lots\nCANCEL 12345")
    assert len(bad.problems) == 2 and not bad.commands


def test_decline_by_the_organiser_tells_the_attendee_and_frees_the_place(tmp_path: Path) -> None:
    ws = full_house(tmp_path)
    ref = by_email(ws)["officer1@lancashire.police.uk"].ref
    command(ws, f"DECLINE {ref}")
    told = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert told == [
        ("officer1@lancashire.police.uk", "declined"),
        ("officer2@lancashire.police.uk", "promoted"),
        ("organiser@example.ac.uk", "info"),
    ]
    assert by_email(ws)["officer1@lancashire.police.uk"].status == "declined"


def test_organiser_mail_without_commands_gets_help_and_thanks_gets_nothing(tmp_path: Path) -> None:
    ws = full_house(tmp_path)
    command(ws, "Could you tell me how many have booked?", key="q1")
    (answer,) = ws.new_replies()
    body = answer.message.get_body(("plain",))
    assert body is not None and "no command found" in body.get_content()
    assert "APPROVE <reference>" in body.get_content()
    command(ws, "Thanks!", key="t1")
    assert ws.new_replies() == []


@pytest.mark.parametrize(("verb", "outcome"), [("CANCEL", "cancelled"), ("DECLINE", "declined")])
def test_an_attendee_whose_booking_the_organiser_ends_is_told_who_ended_it(
    tmp_path: Path, verb: str, outcome: str
) -> None:
    # Issue 14, defect 3: they read "Thank you for letting us know", having asked for nothing.
    ws = full_house(tmp_path)
    ref = by_email(ws)["officer0@lancashire.police.uk"].ref
    command(ws, f"{verb} {ref}")
    (told,) = [r for r in ws.new_replies() if r.to == "officer0@lancashire.police.uk"]
    assert told.outcome == outcome
    for kind in ("plain", "html"):
        part = told.message.get_body((kind,))
        assert part is not None
        text = part.get_content()
        assert "Thank you for letting us know" not in text
        assert "reserved for serving police officers" not in text
        assert "The organiser" in text and "organiser@example.ac.uk" in text


def test_a_held_request_approved_into_a_full_event_joins_the_back_of_the_waitlist(
    tmp_path: Path,
) -> None:
    # Issue 14, defect 2: B's request, held for checking before A joined the waitlist, was
    # approved into the full event and told "number 2"; the place that came free went to B.
    ws = Workspace(tmp_path, capacity=1)
    ws.deliver(officer_request(0))  # takes the only place
    ws.deliver(unverified_request())
    ws.poll()
    ws.deliver(officer_request(1))  # A: full, waitlisted
    ws.poll()
    told = {r.to: r for r in ws.new_replies()}
    assert told["bea.quinn@cumbria.police.uk"].outcome == "held"
    assert told["officer1@lancashire.police.uk"].outcome == "waitlisted"
    held = by_email(ws)["bea.quinn@cumbria.police.uk"].ref

    command(ws, f"APPROVE {held}")
    told = {r.to: r for r in ws.new_replies()}
    approved = told["bea.quinn@cumbria.police.uk"]
    assert approved.outcome == "waitlisted"
    body = approved.message.get_body(("plain",))
    assert body is not None and "number 2" in body.get_content()

    first = by_email(ws)["officer0@lancashire.police.uk"].ref
    command(ws, f"CANCEL {first}", key="o2")
    promoted = [r.to for r in ws.new_replies() if r.outcome == "promoted"]
    assert promoted == ["officer1@lancashire.police.uk"], "places pass on in order of joining"
    assert by_email(ws)["bea.quinn@cumbria.police.uk"].status == "waitlisted"


def test_one_mail_of_commands_sends_each_person_one_mail_with_where_they_end_up(
    tmp_path: Path,
) -> None:
    # Issue 14: "One person gets at most one mail per event per poll, saying their final
    # state." Approved and then cancelled by the same mail, they were sent both.
    ws = Workspace(tmp_path, capacity=2)
    ws.deliver(unverified_request())
    ws.poll()
    ws.new_replies()
    held = by_email(ws)["bea.quinn@cumbria.police.uk"].ref
    command(ws, f"APPROVE {held}\nCANCEL {held}")
    told = [(r.to, r.outcome) for r in ws.new_replies() if r.to != "organiser@example.ac.uk"]
    assert told == [("bea.quinn@cumbria.police.uk", "cancelled")]
    assert by_email(ws)["bea.quinn@cumbria.police.uk"].status == "cancelled"


def test_someone_the_organiser_places_is_told_the_organiser_did(tmp_path: Path) -> None:
    # Issue 14: each notice says who acted. An officer added by the organiser had never
    # written: "Your place is confirmed" alone left them wondering who booked it.
    ws = Workspace(tmp_path, capacity=1)
    command(ws, "ADD sam.hale@kent.police.uk DS Sam Hale\nADD kit.rowe@kent.police.uk PC Kit Rowe")
    told = {r.to: r for r in ws.new_replies()}
    for address, outcome in (
        ("sam.hale@kent.police.uk", "confirmed"),
        ("kit.rowe@kent.police.uk", "waitlisted"),
    ):
        assert told[address].outcome == outcome
        for kind in ("plain", "html"):
            part = told[address].message.get_body((kind,))
            assert part is not None
            text = part.get_content()
            assert "arranged by the organiser, Forum Organiser" in text, (address, kind)
            assert "automatic message" in text


def test_a_cancellation_while_over_a_lowered_capacity_passes_no_place_on(tmp_path: Path) -> None:
    # Found by tests/test_lifecycle_model.py: with fewer places than people holding one, a
    # cancellation gave the freed seat to the next person waiting, over capacity again.
    ws = full_house(tmp_path, capacity=2, officers=3)
    command(ws, "CAPACITY cse-forum-preston 1")
    ws.new_replies()
    ws.deliver(first_officer_cancels())
    ws.poll()
    assert [(r.to, r.outcome) for r in ws.new_replies()] == [
        ("officer0@lancashire.police.uk", "cancelled")
    ]
    assert by_email(ws)["officer2@lancashire.police.uk"].status == "waitlisted"


def test_a_refused_mail_of_commands_lists_every_line_with_what_became_of_it(
    tmp_path: Path,
) -> None:
    # Issue 16: only the bad line was listed, so the good lines above it looked done.
    ws = full_house(tmp_path)
    before = by_email(ws)
    first, waiting = (before[f"officer{i}@lancashire.police.uk"].ref for i in (0, 2))
    command(
        ws,
        f"CANCEL {first} - she emailed me\nCAPACITY cse-forum-preston 3\nCANCEL ZZZ-999\n"
        f"APROVE {waiting}\nLIST\n\nThanks\nForum Organiser",
    )
    (answer,) = ws.new_replies()  # nobody else is told anything
    assert answer.to == "organiser@example.ac.uk"
    assert not list(answer.message.iter_attachments()), "LIST was not done either"
    refused = "not done: nothing in this mail was carried out, because of lines 3 and 4"
    for part in answer_parts(answer):
        for line in (
            f"1. CANCEL {first} - she emailed me: {refused}",
            f"2. CAPACITY cse-forum-preston 3: {refused}",
            "3. CANCEL ZZZ-999: no booking ZZZ-999",
            f"4. APROVE {waiting}: not understood (did you mean APPROVE?)",
            f"5. LIST: {refused}",
        ):
            assert line in part, (line, part)
        assert "Thanks" not in part.split("Your commands")[1].split("all together")[0]
    after = by_email(ws)
    assert {e: r.status for e, r in after.items()} == {e: r.status for e, r in before.items()}


def test_every_line_of_a_mail_of_commands_carried_out_says_what_was_done(tmp_path: Path) -> None:
    ws = full_house(tmp_path, capacity=5, officers=2)
    first = by_email(ws)["officer0@lancashire.police.uk"].ref
    command(ws, f"CANCEL {first}\nADD sam.hale@kent.police.uk DS Sam Hale\nLIST")
    answer = next(r for r in ws.new_replies() if r.to == "organiser@example.ac.uk")
    for part in answer_parts(answer):
        assert f"1. CANCEL {first}: cancelled (Police Constable Ann Lee, officer0@" in part
        assert "2. ADD sam.hale@kent.police.uk DS Sam Hale: " in part
        assert "confirmed (Detective Sergeant Sam Hale, sam.hale@kent.police.uk)" in part
        assert "3. LIST: attendee list attached (cse-forum-preston-attendees.csv)" in part
        assert "not done" not in part


@pytest.mark.parametrize("mark", ["-", "\u2013", "--", "#", "("])
def test_a_note_after_a_command_is_allowed_and_kept_in_the_history(
    tmp_path: Path, mark: str
) -> None:
    ws = full_house(tmp_path)
    first = by_email(ws)["officer0@lancashire.police.uk"].ref
    line = f"CANCEL {first} {mark} she emailed me" + (")" if mark == "(" else "")
    command(ws, line)
    told = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert told == [
        ("officer0@lancashire.police.uk", "cancelled"),
        ("officer2@lancashire.police.uk", "promoted"),
        ("organiser@example.ac.uk", "info"),
    ]
    assert by_email(ws)["officer0@lancashire.police.uk"].status == "cancelled"
    with Session(connect(ws.settings.database_url())) as session:
        why = [a.detail for a in session.exec(select(AuditRow)).all() if a.booking_ref == first]
    assert any("the organiser's note: she emailed me" in detail for detail in why), why


def test_a_reference_in_a_note_is_not_acted_on(tmp_path: Path) -> None:
    ws = full_house(tmp_path, capacity=3, officers=3)
    refs = [by_email(ws)[f"officer{i}@lancashire.police.uk"].ref for i in range(3)]
    command(ws, f"CANCEL {refs[0]} - duplicate of {refs[1]}\nAPPROVE {refs[2]} # not {refs[1]}")
    (answer,) = ws.new_replies()
    text, _ = answer_parts(answer)
    assert f"1. CANCEL {refs[0]} - duplicate of {refs[1]}: " in text
    assert f"2. APPROVE {refs[2]} # not {refs[1]}: {refs[2]} is confirmed, not held" in text
    assert "nothing in this mail was carried out, because of line 2" in text
    statuses = {r.ref: r.status for r in by_email(ws).values()}
    assert statuses == dict.fromkeys(refs, "confirmed"), "the note's reference was not used"

    command(ws, f"CANCEL {refs[0]} - duplicate of {refs[1]}", key="o2")
    statuses = {r.ref: r.status for r in by_email(ws).values()}
    assert [statuses[ref] for ref in refs] == ["cancelled", "confirmed", "confirmed"]
