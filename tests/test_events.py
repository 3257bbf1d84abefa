"""Several events at once: routing by plus-address, thread, reference or name; one
question back when nothing says which; booking windows."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from mailbot.store.database import connect
from mailbot.store.tables import BookingRow
from tests.harness import Workspace, compose

SECOND_EVENT = """
[[events]]
slug = "cse-forum-leeds"
title = "Police responses to exploitation: northern forum"
starts_at = 2099-05-12T10:00:00
ends_at = 2099-05-12T16:00:00
venue = "Leeds Civic Hall, Leeds, LS1 1UR"
capacity = 10
"""
JANE = "Jane Smith <jane.smith@westmidlands.police.uk>"


def two_events(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path, capacity=10)
    ws.config.write_text(ws.config.read_text() + SECOND_EVENT)
    return ws


def events_booked(ws: Workspace) -> dict[str, str]:
    with Session(connect(ws.settings.database_url())) as session:
        return {r.email: r.event_slug for r in session.exec(select(BookingRow)).all()}


def test_a_mail_that_names_no_event_gets_one_question_and_no_booking(tmp_path: Path) -> None:
    ws = two_events(tmp_path)
    ws.deliver(compose(JANE, "Please book me a place.\n\nJane Smith", message_id="<a@w>"))
    ws.poll()
    (question,) = ws.new_replies()
    assert question.outcome == "info"
    body = question.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "bookings+cse-forum-leeds@example.ac.uk" in text and "cse-forum-preston" in text
    assert events_booked(ws) == {}

    ws.deliver(
        compose(
            JANE,
            "The Leeds one please: cse-forum-leeds\n\nJane Smith",
            subject="Re: Booking",
            message_id="<b@w>",
            in_reply_to=str(question.message["Message-ID"]),
        )
    )
    ws.poll()
    assert [r.outcome for r in ws.new_replies()] == ["confirmed"]
    assert events_booked(ws) == {"jane.smith@westmidlands.police.uk": "cse-forum-leeds"}


def test_plus_address_routes_and_a_thread_reply_stays_with_its_event(tmp_path: Path) -> None:
    ws = two_events(tmp_path)
    mail = compose(JANE, "Please book me.\n\nJane Smith", message_id="<c@w>")
    mail = mail.replace(
        b"To: bookings@example.ac.uk", b"To: bookings+cse-forum-leeds@example.ac.uk"
    )
    ws.deliver(mail)
    ws.poll()
    (confirmed,) = ws.new_replies()
    assert confirmed.outcome == "confirmed"
    assert events_booked(ws) == {"jane.smith@westmidlands.police.uk": "cse-forum-leeds"}
    ws.deliver(
        compose(
            JANE,
            "Sorry, I can no longer attend.",
            subject="Re: Booking",
            message_id="<d@w>",
            in_reply_to=str(confirmed.message["Message-ID"]),
        )
    )
    ws.poll()
    assert [r.outcome for r in ws.new_replies()] == ["cancelled"]


def test_a_booking_reference_routes_to_its_event(tmp_path: Path) -> None:
    ws = two_events(tmp_path)
    ws.deliver(compose(JANE, "Book me for cse-forum-leeds.\n\nJane Smith", message_id="<e@w>"))
    ws.poll()
    (confirmed,) = ws.new_replies()
    ws.deliver(
        compose(JANE, f"Please cancel {confirmed.booking}.", subject="Cancel", message_id="<f@w>")
    )
    ws.poll()
    assert [r.outcome for r in ws.new_replies()] == ["cancelled"]


def test_outside_the_booking_window_the_sender_is_told_and_nothing_is_kept(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path, capacity=10)
    ws.config.write_text(
        ws.config.read_text().replace(
            "capacity = 10", "capacity = 10\nopens_at = 2026-12-01T09:00:00"
        )
    )
    ws.deliver(compose(JANE, "Please book me.\n\nJane Smith", message_id="<g@w>"))
    ws.poll()  # the harness clock says 2026-11-25
    (reply,) = ws.new_replies()
    body = reply.message.get_body(("plain",))
    assert body is not None and "not open yet" in body.get_content()
    assert "Tuesday 1 December 2026" in body.get_content()
    assert events_booked(ws) == {}
