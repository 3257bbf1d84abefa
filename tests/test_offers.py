"""Waitlist offers: a freed place is held for the next person, who accepts by reply, or the
offer lapses and passes on."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from mailbot.store.database import connect
from mailbot.store.tables import BookingRow
from tests.harness import FIXED_NOW, Reply, Workspace, compose, first_officer_cancels
from tests.realmail import officer_request


def statuses(ws: Workspace) -> dict[str, str]:
    with Session(connect(ws.settings.database_url())) as session:
        return {r.email: r.status for r in session.exec(select(BookingRow)).all()}


def offering(tmp_path: Path) -> Workspace:
    ws = offers_on(tmp_path, capacity=1, officers=3)
    ws.deliver(first_officer_cancels())
    ws.poll()
    return ws


def poll_at(ws: Workspace, hours: float) -> None:
    with ws.bot(clock=lambda: FIXED_NOW + timedelta(hours=hours)) as bot:
        bot.poll()


def test_the_next_person_is_offered_the_place_and_takes_it_by_reply(tmp_path: Path) -> None:
    ws = offering(tmp_path)
    told = {r.to: r for r in ws.new_replies()}
    offer = told["officer1@lancashire.police.uk"]
    assert offer.outcome == "promoted"
    assert list(offer.message.iter_attachments()) == [], "no calendar entry for an offer"
    body = offer.message.get_body(("plain",))
    assert body is not None and "holding it for you" in body.get_content()
    assert statuses(ws)["officer1@lancashire.police.uk"] == "waitlisted"

    ws.deliver(officer_request(7))  # a newcomer may not take the held place
    ws.poll()
    assert [r.outcome for r in ws.new_replies()] == ["waitlisted"]

    ws.deliver(
        compose(
            "Ben Lee <officer1@lancashire.police.uk>",
            "Yes please!",
            subject="Re: A place has come up",
            message_id="<yes1@l>",
            in_reply_to=str(offer.message["Message-ID"]),
        )
    )
    ws.poll()
    (confirmed,) = ws.new_replies()
    assert (confirmed.to, confirmed.outcome) == ("officer1@lancashire.police.uk", "confirmed")
    assert len(list(confirmed.message.iter_attachments())) == 1, "now the calendar entry"
    assert statuses(ws)["officer1@lancashire.police.uk"] == "confirmed"


def test_an_offer_not_taken_up_lapses_and_passes_to_the_next(tmp_path: Path) -> None:
    ws = offering(tmp_path)
    ws.new_replies()
    poll_at(ws, 23)
    assert ws.new_replies() == [], "still within the offer"
    poll_at(ws, 25)
    told = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert told == [
        ("officer1@lancashire.police.uk", "info"),
        ("officer2@lancashire.police.uk", "promoted"),
    ]
    assert statuses(ws)["officer1@lancashire.police.uk"] == "cancelled"
    poll_at(ws, 26)
    assert ws.new_replies() == [], "each lapse handled once"


def test_leaving_the_waitlist_by_reply(tmp_path: Path) -> None:
    ws = offering(tmp_path)
    ws.new_replies()
    ws.deliver(
        compose(
            "Cara Lee <officer2@lancashire.police.uk>",
            "Please take me off the waiting list.",
            subject="Waiting list",
            message_id="<off2@l>",
        )
    )
    ws.poll()
    (reply,) = ws.new_replies()
    assert (reply.to, reply.outcome) == ("officer2@lancashire.police.uk", "cancelled")
    assert statuses(ws)["officer2@lancashire.police.uk"] == "cancelled"


def offers_on(tmp_path: Path, capacity: int, officers: int) -> Workspace:
    ws = Workspace(tmp_path, capacity=capacity)
    ws.set_booking("waitlist_offer_hours = 24")
    ws.deliver(*(officer_request(i) for i in range(officers)))
    ws.poll()
    ws.new_replies()
    return ws


def organiser_says(ws: Workspace, text: str, key: str) -> tuple[str, dict[str, Reply]]:
    """The organiser's reply to `text`, and every reply that poll sent, by recipient."""
    ws.deliver(
        compose(
            "Forum Organiser <organiser@example.ac.uk>",
            text,
            subject="Re: digest",
            message_id=f"<{key}@example.ac.uk>",
        )
    )
    ws.poll()
    replies = {r.to: r for r in ws.new_replies()}
    body = replies["organiser@example.ac.uk"].message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()), replies


def booking_rows(ws: Workspace) -> dict[str, BookingRow]:
    with Session(connect(ws.settings.database_url())) as session:
        return {r.email: r for r in session.exec(select(BookingRow)).all()}


def test_an_organiser_cancellation_offers_the_place_like_an_attendee_cancellation(
    tmp_path: Path,
) -> None:
    ws = offers_on(tmp_path, capacity=1, officers=2)
    ref = booking_rows(ws)["officer0@lancashire.police.uk"].ref
    told, replies = organiser_says(ws, f"CANCEL {ref}", "c1")
    following = booking_rows(ws)["officer1@lancashire.police.uk"]
    assert following.status == "waitlisted" and following.offer_expires_at is not None
    assert f"{following.ref} offered the place until" in told
    offer = replies["officer1@lancashire.police.uk"]
    assert offer.outcome == "promoted"
    assert list(offer.message.iter_attachments()) == [], "an offer has no calendar entry"


def test_more_places_are_offered_and_an_open_offer_counts_as_taken(tmp_path: Path) -> None:
    ws = offers_on(tmp_path, capacity=1, officers=4)
    ref = booking_rows(ws)["officer0@lancashire.police.uk"].ref
    organiser_says(ws, f"CANCEL {ref}", "c1")  # officer1 is offered the one place
    told, replies = organiser_says(ws, "CAPACITY cse-forum-preston 2", "c2")
    rows = booking_rows(ws)
    assert "(1 taken)" in told, "the open offer holds its place"
    assert rows["officer2@lancashire.police.uk"].offer_expires_at is not None
    assert rows["officer3@lancashire.police.uk"].offer_expires_at is None, "one place freed"
    assert replies["officer2@lancashire.police.uk"].outcome == "promoted"
    assert "officer3@lancashire.police.uk" not in replies


def test_an_organiser_cancelling_an_open_offer_offers_the_place_to_the_next(
    tmp_path: Path,
) -> None:
    # An open offer holds a place (a newcomer may not take it), so ending that booking frees
    # the place, as when the holder says no by mail: the next person must be offered it,
    # not left waiting while the place stands empty for whoever writes in first.
    ws = offers_on(tmp_path, capacity=1, officers=3)
    first = booking_rows(ws)["officer0@lancashire.police.uk"].ref
    organiser_says(ws, f"CANCEL {first}", "c1")  # officer1 is offered the place
    offered = booking_rows(ws)["officer1@lancashire.police.uk"].ref
    told, replies = organiser_says(ws, f"CANCEL {offered}", "c2")
    rows = booking_rows(ws)
    assert rows["officer1@lancashire.police.uk"].status == "cancelled"
    assert rows["officer2@lancashire.police.uk"].offer_expires_at is not None
    assert f"{rows['officer2@lancashire.police.uk'].ref} offered the place until" in told
    assert replies["officer2@lancashire.police.uk"].outcome == "promoted"


def test_an_organiser_moving_an_open_offer_elsewhere_offers_the_place_to_the_next(
    tmp_path: Path,
) -> None:
    ws = offers_on(tmp_path, capacity=1, officers=3)
    ws.config.write_text(
        ws.config.read_text()
        + "\n[[events]]\n"
        + 'slug = "cse-forum-lancaster"\n'
        + 'title = "CSE forum, Lancaster"\n'
        + "starts_at = 2099-06-10T11:00:00\n"
        + "ends_at = 2099-06-10T15:00:00\n"
        + 'venue = "Lancaster"\n'
        + "capacity = 10\n"
    )
    first = booking_rows(ws)["officer0@lancashire.police.uk"].ref
    organiser_says(ws, f"CANCEL {first}", "c1")  # officer1 is offered the place
    offered = booking_rows(ws)["officer1@lancashire.police.uk"].ref
    _told, replies = organiser_says(ws, f"MOVE {offered} cse-forum-lancaster", "m1")
    rows = booking_rows(ws)
    assert rows["officer1@lancashire.police.uk"].event_slug == "cse-forum-lancaster"
    assert rows["officer2@lancashire.police.uk"].offer_expires_at is not None
    assert replies["officer2@lancashire.police.uk"].outcome == "promoted"
