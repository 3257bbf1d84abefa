"""Conversations beyond a plain booking: calendar replies, thanks, questions, needs,
colleagues, missing details, bounces and the reply limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailbot.store.database import connect
from mailbot.store.tables import BookingRow, QuestionRow
from tests.harness import Workspace, compose

JANE = "Jane Smith <jane.smith@westmidlands.police.uk>"
JANE_ADDRESS = "jane.smith@westmidlands.police.uk"


def rows(ws: Workspace) -> dict[str, BookingRow]:
    with Session(connect(ws.settings.database_url())) as session:
        return {r.email: r for r in session.exec(select(BookingRow)).all()}


def calendar_reply(partstat: str, attendee: str = JANE_ADDRESS) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0//EN\r\n"
        "METHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:booking-abc@example.ac.uk\r\n"
        "DTSTAMP:20261125T090000Z\r\n"
        f"ATTENDEE;PARTSTAT={partstat}:mailto:{attendee}\r\n"
        "ORGANIZER:mailto:bookings@example.ac.uk\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def booked(ws: Workspace) -> str:
    ws.deliver(compose(JANE, "Please book me a place.\n\nJane Smith", message_id="<b1@wmp>"))
    ws.poll()
    (reply,) = ws.new_replies()
    assert reply.outcome == "confirmed"
    return str(reply.message["Message-ID"])


def test_calendar_acceptance_gets_no_reply_and_decline_cancels(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=5)
    confirmation = booked(ws)
    ws.deliver(
        compose(
            JANE,
            "Accepted",
            subject="Accepted: CSE forum",
            message_id="<acc@wmp>",
            in_reply_to=confirmation,
            calendar=calendar_reply("ACCEPTED"),
        )
    )
    summary = ws.poll()
    assert summary.results["ignored"] == 1 and ws.new_replies() == []

    ws.deliver(
        compose(
            JANE,
            "Declined",
            subject="Declined: CSE forum",
            message_id="<dec@wmp>",
            in_reply_to=confirmation,
            calendar=calendar_reply("DECLINED"),
        )
    )
    ws.poll()
    assert [r.outcome for r in ws.new_replies()] == ["cancelled"]
    assert rows(ws)[JANE_ADDRESS].status == "cancelled"


def test_thanks_gets_no_reply(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=5)
    confirmation = booked(ws)
    ws.deliver(
        compose(
            JANE,
            "Thanks!",
            subject="Re: Booking",
            message_id="<thx@wmp>",
            in_reply_to=confirmation,
        )
    )
    assert ws.poll().results["ignored"] == 1
    assert ws.new_replies() == []


@pytest.mark.parametrize(
    "words",
    [
        "Cheers, thanks for sorting.",  # issue 14, defect 5: answered "You already have a booking"
        "Brilliant, appreciate you sorting that so quickly!\n\nJane",
        "Received with thanks, see you there.\n\nDC Jane Smith\nWest Midlands Police",
    ],
)
def test_any_thanks_in_the_thread_of_a_booking_gets_no_reply(tmp_path: Path, words: str) -> None:
    ws = Workspace(tmp_path, capacity=5)
    confirmation = booked(ws)
    ws.deliver(
        compose(
            JANE, words, subject="Re: Booking", message_id="<thx@wmp>", in_reply_to=confirmation
        )
    )
    assert ws.poll().results["ignored"] == 1
    assert ws.new_replies() == []


def test_a_question_is_acknowledged_once_and_kept_for_the_digest(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=5)
    ws.deliver(
        compose(
            JANE,
            "Hello, is there parking at the venue?\n\nJane Smith",
            subject="Parking",
            message_id="<q1@wmp>",
        )
    )
    ws.poll()
    (reply,) = ws.new_replies()
    assert reply.outcome == "info" and reply.booking is None
    body = reply.message.get_body(("plain",))
    assert body is not None and "passed your question to the organiser" in body.get_content()
    with Session(connect(ws.settings.database_url())) as session:
        (question,) = session.exec(select(QuestionRow)).all()
    assert "parking" in question.text and question.email == JANE_ADDRESS
    assert rows(ws) == {}, "a question books nothing"


def test_needs_stated_after_booking_are_noted(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=5)
    confirmation = booked(ws)
    ws.deliver(
        compose(
            JANE,
            "Thanks for confirming. I am a wheelchair user so step-free access would help.",
            subject="Re: Booking",
            message_id="<n1@wmp>",
            in_reply_to=confirmation,
        )
    )
    ws.poll()
    assert [r.outcome for r in ws.new_replies()] == ["info"]
    needs = rows(ws)[JANE_ADDRESS].needs
    assert needs is not None and "wheelchair" in needs


def test_colleagues_are_booked_at_their_own_addresses(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=2)
    ws.deliver(
        compose(
            JANE,
            "Please book me a place, and could you also book my colleagues:\n"
            "DC Alan Brown alan.brown@westmidlands.police.uk\n"
            "Pat Green pat.green@gmail.example.com\n"
            "DS Sarah Khan sarah.khan@westmidlands.police.uk\n\n"
            "Thanks\nJane Smith",
            message_id="<c1@wmp>",
        )
    )
    ws.poll()
    replies = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert replies == [
        ("alan.brown@westmidlands.police.uk", "confirmed"),
        (JANE_ADDRESS, "confirmed"),
        ("sarah.khan@westmidlands.police.uk", "waitlisted"),
    ]
    assert "pat.green@gmail.example.com" not in rows(ws)
    jane = next(r for r in ws.all_replies() if r.to == JANE_ADDRESS)
    body = jane.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "alan.brown@westmidlands.police.uk" in text and "pat.green@gmail.example.com" in text


def test_missing_name_is_asked_for_once_and_the_answer_completes_the_booking(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path, capacity=5)
    ws.deliver(
        compose("x4471@westmidlands.police.uk", "Please book a place.", message_id="<d1@wmp>")
    )
    ws.poll()
    (question,) = ws.new_replies()
    assert question.outcome == "details-needed"
    assert rows(ws) == {}
    ws.deliver(
        compose(
            "x4471@westmidlands.police.uk",
            "My name is Dana Whitfield.\n\nKind regards\nDC Dana Whitfield\nWest Midlands Police",
            subject="Re: Booking",
            message_id="<d2@wmp>",
            in_reply_to=str(question.message["Message-ID"]),
        )
    )
    ws.poll()
    (answer,) = ws.new_replies()
    assert answer.outcome == "confirmed"
    assert rows(ws)["x4471@westmidlands.police.uk"].name == "Dana Whitfield"


def test_a_responder_without_headers_is_answered_at_most_five_times_a_day(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path, capacity=5)
    for index in range(8):
        ws.deliver(
            compose(
                "Robot Desk <desk@robots.example.com>",
                f"Your message has been received (ticket {index}).",
                message_id=f"<r{index}@robots>",
            )
        )
    summary = ws.poll()
    assert len(ws.new_replies()) == 5
    assert summary.results["ignored"] == 3


def test_a_bounce_of_a_confirmation_marks_the_address_and_changes_nothing_else(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path, capacity=5)
    confirmation = booked(ws)
    bounce = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.westmidlands.police.uk>\r\n"
        "To: bookings@example.ac.uk\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce1@mx.westmidlands.police.uk>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.westmidlands.police.uk\r\n\r\n"
        f"Final-Recipient: rfc822; {JANE_ADDRESS}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {confirmation}\r\nTo: {JANE_ADDRESS}\r\nSubject: Re: Booking\r\n"
        "--B--\r\n"
    ).encode()
    ws.deliver(bounce)
    summary = ws.poll()
    assert summary.results["ignored"] == 1 and ws.new_replies() == []
    jane = rows(ws)[JANE_ADDRESS]
    assert jane.status == "confirmed", "a bounce changes nothing but the address's mark"
    assert jane.undeliverable is not None and JANE_ADDRESS in jane.undeliverable


def test_a_sender_outside_the_police_cannot_book_officers_as_colleagues(tmp_path: Path) -> None:
    # Issue 14, defect 1: anyone could fill the event with real officers' addresses.
    ws = Workspace(tmp_path, capacity=10)
    ws.deliver(
        compose(
            "Pat Green <pat.green@gmail.com>",
            "Hello, could you book my colleagues:\n"
            "DC Alan Brown alan.brown@westmidlands.police.uk\n"
            "DS Sarah Khan sarah.khan@westmidlands.police.uk\n\nPat",
            message_id="<x1@gmail>",
        ),
        compose(
            "Sam Lee <sam.lee@outlook.com>",
            "Please book:\nalan.brown@westmidlands.police.uk\n"
            "sarah.khan@westmidlands.police.uk\ntom.ray@westmidlands.police.uk\n",
            message_id="<x2@outlook>",
        ),
    )
    ws.poll()
    booked = {email for email, row in rows(ws).items() if row.status != "declined"}
    assert booked == set(), "an outsider's colleagues were booked"
    replies = ws.new_replies()
    assert sorted(r.to for r in replies) == ["pat.green@gmail.com", "sam.lee@outlook.com"]
    for reply in replies:
        body = reply.message.get_body(("plain",))
        assert body is not None
        assert "alan.brown@westmidlands.police.uk" in body.get_content(), "not told why"


def test_an_unverified_officer_cannot_book_colleagues(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=10)
    ws.deliver(
        compose(
            JANE,
            "Please book me a place, and my colleague\n"
            "DC Alan Brown alan.brown@westmidlands.police.uk\n\nJane Smith",
            message_id="<u1@wmp>",
            authenticated=False,
        )
    )
    ws.poll()
    assert set(rows(ws)) == {JANE_ADDRESS}, "a colleague was booked on an unverified request"
    (reply,) = ws.new_replies()
    assert reply.to == JANE_ADDRESS
    body = reply.message.get_body(("plain",))
    assert body is not None and "alan.brown@westmidlands.police.uk" in body.get_content()
