"""Issue 15: reconfirmation. Days before the event each confirmed attendee is asked to say
they are still coming; a yes is recorded without a reply, a no frees the place, and silence
releases it to someone waiting (never when nobody is)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailbot.cli.people import booking_record
from mailbot.pipeline.reconfirm import reconfirm_and_release
from mailbot.pipeline.tasks import send_digest
from mailbot.store.database import connect
from mailbot.store.store import Store
from mailbot.store.tables import BookingRow
from tests.harness import Reply, Workspace, compose
from tests.processes import run_mailbot as run
from tests.realmail import made_up_name, officer_request

STARTS = datetime.fromisoformat("2099-03-10T11:00:00+00:00")  # London keeps GMT in March
ASKED = STARTS - timedelta(days=5)
RECONFIRM = 'reconfirm = "5d"\nreconfirm_hours = 48'


def reconfirming(tmp_path: Path, capacity: int, officers: int) -> Workspace:
    ws = Workspace(tmp_path, capacity=capacity)
    ws.set_booking(RECONFIRM)
    ws.deliver(*(officer_request(i) for i in range(officers)))
    ws.poll()
    ws.new_replies()
    return ws


def run_at(ws: Workspace, moment: datetime) -> None:
    with ws.bot(clock=lambda: moment) as bot:
        reconfirm_and_release(bot.store, bot.handling(), moment, offset="5d", hours=48)
        bot.deliver()


def poll_at(ws: Workspace, moment: datetime) -> None:
    with ws.bot(clock=lambda: moment) as bot:
        bot.deliver_every_seconds = float("inf")
        bot.poll()


def answer(ws: Workspace, request: Reply, index: int, text: str) -> None:
    ws.deliver(
        compose(
            f"{made_up_name(index)} <officer{index}@lancashire.police.uk>",
            text,
            subject=f"Re: {request.message['Subject']}",
            message_id=f"<answer{index}@l>",
            in_reply_to=str(request.message["Message-ID"]),
        )
    )


def rows(ws: Workspace) -> dict[str, BookingRow]:
    with Session(connect(ws.settings.database_url())) as session:
        return {r.email: r for r in session.exec(select(BookingRow)).all()}


def officer(index: int) -> str:
    return f"officer{index}@lancashire.police.uk"


def test_the_requests_go_out_once_at_the_offset_to_those_confirmed(tmp_path: Path) -> None:
    ws = reconfirming(tmp_path, capacity=2, officers=3)
    run_at(ws, ASKED - timedelta(hours=1))
    assert ws.new_replies() == [], "not yet"
    run_at(ws, ASKED)
    asked = {r.to: r for r in ws.new_replies()}
    assert sorted(asked) == [officer(0), officer(1)]
    assert {r.outcome for r in asked.values()} == {"reconfirm"}
    body = asked[officer(0)].message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "YES" in text and "CANCEL" in text and "48 hours" in text
    run_at(ws, ASKED + timedelta(hours=1))
    assert ws.new_replies() == [], "asked once"


def test_yes_keeps_the_place_silence_releases_it_to_the_next_person_waiting(
    tmp_path: Path,
) -> None:
    ws = reconfirming(tmp_path, capacity=2, officers=3)
    run_at(ws, ASKED)
    asked = {r.to: r for r in ws.new_replies()}
    answer(ws, asked[officer(0)], 0, "Yes, still coming - thanks")
    poll_at(ws, ASKED + timedelta(hours=2))
    assert ws.new_replies() == [], "a yes needs no reply"
    assert rows(ws)[officer(0)].reconfirmed_at is not None
    listed = [booking_record(b) for b in Store(connect(ws.settings.database_url())).bookings()]
    reconfirmed = {b["email"]: b["reconfirmed"] for b in listed}  # bookings --format json
    assert reconfirmed == {officer(0): True, officer(1): None, officer(2): None}

    run_at(ws, ASKED + timedelta(hours=47))
    assert ws.new_replies() == [], "not before reconfirm_hours"
    run_at(ws, ASKED + timedelta(hours=48))
    told = {r.to: r for r in ws.new_replies()}
    assert {a: r.outcome for a, r in told.items()} == {
        officer(1): "released",
        officer(2): "promoted",
    }
    released = told[officer(1)]
    (invite,) = [
        p for p in released.message.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    assert "METHOD:CANCEL" in invite.get_content()
    body = released.message.get_body(("plain",))
    assert body is not None and "waiting list" in body.get_content()
    state = rows(ws)
    assert (state[officer(0)].status, state[officer(1)].status) == ("confirmed", "cancelled")
    assert state[officer(2)].status == "confirmed"
    run_at(ws, ASKED + timedelta(hours=60))
    assert ws.new_replies() == [], "released once; the promoted person is not asked"


def test_no_cancels_and_passes_the_place_on(tmp_path: Path) -> None:
    ws = reconfirming(tmp_path, capacity=2, officers=3)
    run_at(ws, ASKED)
    asked = {r.to: r for r in ws.new_replies()}
    answer(ws, asked[officer(1)], 1, "Sorry, I can't make it now.")
    poll_at(ws, ASKED + timedelta(hours=1))
    told = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert told == [(officer(1), "cancelled"), (officer(2), "promoted")]


def test_with_nobody_waiting_nothing_is_released(tmp_path: Path) -> None:
    ws = reconfirming(tmp_path, capacity=2, officers=2)
    run_at(ws, ASKED)
    assert len(ws.new_replies()) == 2
    run_at(ws, ASKED + timedelta(hours=49))
    assert ws.new_replies() == []
    assert {row.status for row in rows(ws).values()} == {"confirmed"}


def test_over_a_lowered_capacity_nothing_is_released(tmp_path: Path) -> None:
    """Found by the lifecycle model: a release passed its place on although the organiser had
    lowered capacity below the places held, so the event went over the capacity they set."""
    ws = reconfirming(tmp_path, capacity=2, officers=3)
    run_at(ws, ASKED)
    assert len(ws.new_replies()) == 2
    ws.deliver(
        compose(
            "Forum Organiser <organiser@example.ac.uk>",
            "CAPACITY cse-forum-preston 1",
            subject="Re: digest",
            message_id="<lower@example.ac.uk>",
        )
    )
    poll_at(ws, ASKED + timedelta(hours=1))
    ws.new_replies()
    run_at(ws, ASKED + timedelta(hours=49))
    assert [r.outcome for r in ws.new_replies()] == []
    assert [rows(ws)[officer(i)].status for i in range(3)] == [
        "confirmed",
        "confirmed",
        "waitlisted",
    ]


def test_accepting_the_calendar_entry_again_reconfirms(tmp_path: Path) -> None:
    ws = reconfirming(tmp_path, capacity=1, officers=2)
    run_at(ws, ASKED)
    ws.new_replies()
    accepted = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0//EN\r\n"
        "METHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:booking-abc@example.ac.uk\r\n"
        "DTSTAMP:20990305T120000Z\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{officer(0)}\r\n"
        "ORGANIZER:mailto:bookings@example.ac.uk\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    ws.deliver(
        compose(
            f"{made_up_name(0)} <{officer(0)}>",
            "Accepted",
            subject="Accepted: CSE forum",
            message_id="<accept0@l>",
            calendar=accepted,
        )
    )
    poll_at(ws, ASKED + timedelta(hours=1))
    assert ws.new_replies() == []
    run_at(ws, ASKED + timedelta(hours=49))
    assert ws.new_replies() == [], "kept: they answered, though someone is waiting"
    assert rows(ws)[officer(0)].status == "confirmed"


def digest_at(ws: Workspace, moment: datetime) -> str:
    with ws.bot(clock=lambda: moment) as bot:
        return send_digest(bot.scheduled(), "organiser@example.ac.uk", dry_run=True).text


def test_the_digest_shows_who_has_answered_and_whose_place_was_released(tmp_path: Path) -> None:
    ws = reconfirming(tmp_path, capacity=3, officers=4)
    assert "Still coming?" not in digest_at(ws, ASKED - timedelta(days=1)), "not yet asked"
    run_at(ws, ASKED)
    asked = {r.to: r for r in ws.new_replies()}
    answer(ws, asked[officer(0)], 0, "Yes please, still coming.")
    poll_at(ws, ASKED + timedelta(hours=1))
    text = digest_at(ws, ASKED + timedelta(hours=2))
    assert "Still coming? 1 of 3 asked have said yes." in text
    assert "not answered yet: PC 1001 Ben Lee" in text or officer(1) in text
    run_at(ws, ASKED + timedelta(hours=48))  # one person waits: one place is released
    text = digest_at(ws, ASKED + timedelta(hours=49))
    assert "1 released to people waiting" in text
    assert text.count("not answered yet") == 1, "the one not released is still named"


@pytest.mark.integration
def test_reminders_dry_run_previews_the_requests_and_a_release_and_changes_nothing(
    tmp_path: Path,
) -> None:
    """`mailbot reminders --dry-run` says whom it would ask and whose place it would release,
    and sends and records neither; the real run then does both. The CLI runs on the real
    clock, so the event is two days from now."""
    ws = Workspace(tmp_path, capacity=1)
    day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    ws.config.write_text(ws.config.read_text().replace("2099-03-10", day))
    ws.set_booking(RECONFIRM)
    ws.deliver(*(officer_request(i) for i in range(2)))  # one place: one confirmed, one waiting
    ws.poll()
    ws.new_replies()

    preview = run("reminders", "--dry-run", "--config", str(ws.config))
    assert preview.returncode == 0, preview.stderr
    assert f"would ask {officer(0)} to reconfirm" in preview.stdout
    assert ws.new_replies() == [] and rows(ws)[officer(0)].reconfirm_asked_at is None

    # Asked 49 hours ago and never answered, with someone waiting: due for release.
    run_at(ws, datetime.now(UTC) - timedelta(hours=49))
    assert [r.outcome for r in ws.new_replies()] == ["reconfirm"]
    preview = run("reminders", "--dry-run", "--config", str(ws.config))
    ref = rows(ws)[officer(0)].ref
    assert f"would release {ref}: not reconfirmed in 48 hours" in preview.stdout, preview.stdout
    assert ws.new_replies() == []
    assert [rows(ws)[officer(i)].status for i in range(2)] == ["confirmed", "waitlisted"]

    done = run("reminders", "--config", str(ws.config))
    assert done.returncode == 0, done.stderr
    assert f"{ref}: not reconfirmed in 48 hours" in done.stdout
    sent = [(r.to, r.outcome) for r in ws.new_replies() if r.outcome != "reminder"]
    assert sorted(sent) == [(officer(0), "released"), (officer(1), "promoted")]
