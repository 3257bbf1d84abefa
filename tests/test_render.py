"""Tests for the render stage: every outcome's mail, parsed back as a mail client would."""

from __future__ import annotations

import email
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import jinja2
import pytest
from icalendar import Calendar

from mailbot.domain import (
    Actor,
    Attachment,
    BookingStatus,
    BookingView,
    Notice,
    Outcome,
    OutgoingMail,
    SenderDetails,
)
from mailbot.outbound.render import (
    ReplyContext,
    Sender,
    long_date,
    make_environment,
    new_message_id,
    render_digest_mail,
    render_notice,
    time_range,
)
from tests.values import FORUM, LONDON

EVENT = FORUM
SENDER = Sender(
    booking_address="bookings@example.ac.uk",
    organiser_name="Alex Organiser",
    organiser_email="organiser@example.ac.uk",
    display_name="CSE Forum bookings",
)
NOW = datetime(2027, 1, 12, 9, 30, tzinfo=LONDON)
MESSAGE_ID = "<mailbot.t0k3n@example.ac.uk>"
# Outlook-style ids are longer than a folded header line; they must survive verbatim.
INBOUND_ID = "<DB9PR07MB1234567890ABCDEF1234567890ABCDEF@DB9PR07MB1234.eurprd07.prod.outlook.com>"
ROOT_ID = "<thread-root.42@example.police.uk>"
REPLY = ReplyContext(message_id=INBOUND_ID, references=(ROOT_ID,), subject="Booking request")

STATUS_FOR = {
    Outcome.CONFIRMED: BookingStatus.CONFIRMED,
    Outcome.WAITLISTED: BookingStatus.WAITLISTED,
    Outcome.HELD: BookingStatus.HELD,
    Outcome.DECLINED: BookingStatus.DECLINED,
    Outcome.DUPLICATE: BookingStatus.CONFIRMED,
    Outcome.CANCELLED: BookingStatus.CANCELLED,
    Outcome.PROMOTED: BookingStatus.CONFIRMED,
}
OUTCOMES = tuple(STATUS_FOR)
CANCEL_LINE = "reply to this email with CANCEL in the first line"


@pytest.fixture(scope="module")
def env() -> jinja2.Environment:
    return make_environment()


def booking_for(outcome: Outcome, **changes: object) -> BookingView:
    status = STATUS_FOR[outcome]
    booking = BookingView(
        ref="CSE-7K3Q",
        event_slug=EVENT.slug,
        email="jane.smith@example.police.uk",
        status=status,
        name="Jane Smith",
        rank="DC",
        force="West Midlands Police",
        waitlist_position=7 if status is BookingStatus.WAITLISTED else None,
    )
    return replace(booking, **changes)  # type: ignore[arg-type]


def render(
    env: jinja2.Environment,
    outcome: Outcome,
    reply: ReplyContext | None = REPLY,
    *,
    in_reply: bool = True,
    sender: Sender = SENDER,
    **changes: object,
) -> tuple[OutgoingMail, EmailMessage]:
    notice = Notice(outcome=outcome, booking=booking_for(outcome, **changes), in_reply=in_reply)
    mail = render_notice(env, notice, EVENT, sender, reply, message_id=MESSAGE_ID, now=NOW)
    return mail, parse(mail)


def parse(mail: OutgoingMail) -> EmailMessage:
    parsed = email.message_from_bytes(mail.data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


def first_line(text: str) -> str:
    return text.strip().splitlines()[0]


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_reply_headers_follow_the_contract(env: jinja2.Environment, outcome: Outcome) -> None:
    mail, message = render(env, outcome)

    assert message["Message-ID"] == MESSAGE_ID
    assert message["In-Reply-To"] == INBOUND_ID
    assert message["References"].split() == [ROOT_ID, INBOUND_ID]
    assert message["Subject"] == "Re: Booking request"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Mailbot-Booking"] == "CSE-7K3Q"
    assert message["X-Mailbot-Outcome"] == outcome.value
    assert message["From"].addresses[0].addr_spec == "bookings@example.ac.uk"
    assert message["From"].addresses[0].display_name == "CSE Forum bookings"
    assert message["Reply-To"].addresses[0].addr_spec == "bookings@example.ac.uk"
    assert message["To"].addresses[0].addr_spec == "jane.smith@example.police.uk"
    assert message["To"].addresses[0].display_name == "Jane Smith"
    assert message["Date"].datetime == NOW
    with_invite = outcome in (Outcome.CONFIRMED, Outcome.PROMOTED, Outcome.CANCELLED)
    expected = "multipart/mixed" if with_invite else "multipart/alternative"
    assert message.get_content_type() == expected
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    assert (mail.message_id, mail.recipient, mail.outcome, mail.booking_ref) == (
        MESSAGE_ID,
        "jane.smith@example.police.uk",
        outcome,
        "CSE-7K3Q",
    )


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_both_parts_carry_the_booking_and_event(env: jinja2.Environment, outcome: Outcome) -> None:
    _, message = render(env, outcome)
    text, html = parts(message)

    for body in (text, html):
        assert "CSE-7K3Q" in body
        assert EVENT.title in body
        assert "Wednesday 10 March 2027" in body
        assert "11:00 to 15:45" in body
        assert EVENT.venue in body
        assert "organiser@example.ac.uk" in body
        assert "Alex Organiser" in body
        assert "bookings@example.ac.uk" in body
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert "<link" not in html
    assert "<img" not in html
    assert html.count("<table") == 1


FIRST_LINES = {
    Outcome.CONFIRMED: "Your place is confirmed.",
    Outcome.WAITLISTED: "The event is full: you are number 7 on the waiting list.",
    Outcome.HELD: "We have your booking request and are checking it.",
    Outcome.DECLINED: "We are sorry: we cannot offer you a place at this event.",
    Outcome.DUPLICATE: "You already have a booking for this event, so no second place was taken.",
    Outcome.CANCELLED: "Your place is cancelled.",
    Outcome.PROMOTED: "A place has come up: you now have a confirmed place.",
}


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_first_line_says_the_outcome(env: jinja2.Environment, outcome: Outcome) -> None:
    _, message = render(env, outcome)
    text, html = parts(message)
    assert first_line(text) == FIRST_LINES[outcome]
    assert FIRST_LINES[outcome] in html


@pytest.mark.parametrize(
    ("outcome", "has_cancel"),
    [
        (Outcome.CONFIRMED, True),
        (Outcome.WAITLISTED, True),
        (Outcome.HELD, True),
        (Outcome.DUPLICATE, True),
        (Outcome.PROMOTED, True),
        (Outcome.DECLINED, False),
        (Outcome.CANCELLED, False),
    ],
)
def test_cancel_instruction_only_where_there_is_something_to_cancel(
    env: jinja2.Environment, outcome: Outcome, has_cancel: bool
) -> None:
    _, message = render(env, outcome)
    text, html = parts(message)
    assert (CANCEL_LINE in text) is has_cancel
    assert ("<strong>CANCEL</strong> in the first line" in html) is has_cancel


def test_waitlisted_shows_the_position(env: jinja2.Environment) -> None:
    _, message = render(env, Outcome.WAITLISTED, waitlist_position=12)
    text, html = parts(message)
    assert "number 12 on the waiting list" in text
    assert "number 12 on the waiting list" in html
    assert "do not have a place yet" in text


def test_waitlisted_without_a_known_position_still_renders(env: jinja2.Environment) -> None:
    _, message = render(env, Outcome.WAITLISTED, waitlist_position=None)
    text, _ = parts(message)
    assert first_line(text) == "The event is full: you are on the waiting list."


def test_held_promises_no_place(env: jinja2.Environment) -> None:
    _, message = render(env, Outcome.HELD)
    text, _ = parts(message)
    assert "You do not have a place yet." in text
    assert "do not need to do anything unless we ask" in text


def test_declined_explains_and_names_the_organiser(env: jinja2.Environment) -> None:
    _, message = render(env, Outcome.DECLINED)
    text, _ = parts(message)
    assert "reserved for serving police officers and police staff" in text
    assert (
        "If you have no police email address, or think this is a mistake, please contact the "
        "organiser, Alex Organiser"
    ) in " ".join(text.split())


@pytest.mark.parametrize(
    ("status", "position", "expected"),
    [
        (BookingStatus.CONFIRMED, None, "is confirmed: you have a place"),
        (BookingStatus.WAITLISTED, 3, "is on the waiting list: you are number 3"),
        (BookingStatus.HELD, None, "is being checked. You do not have a place yet"),
    ],
)
def test_duplicate_restates_the_existing_booking(
    env: jinja2.Environment, status: BookingStatus, position: int | None, expected: str
) -> None:
    _, message = render(env, Outcome.DUPLICATE, status=status, waitlist_position=position)
    text, html = parts(message)
    assert f"Your existing booking CSE-7K3Q {expected}" in text
    assert expected in html
    assert "no second place was taken" in text


def test_cancelled_thanks_the_reader(env: jinja2.Environment) -> None:
    _, message = render(env, Outcome.CANCELLED)
    text, _ = parts(message)
    assert "your place can now go to a colleague" in text


@pytest.mark.parametrize("outcome", [Outcome.PROMOTED, Outcome.CONFIRMED])
def test_mail_that_answers_nothing_is_auto_generated(
    env: jinja2.Environment, outcome: Outcome
) -> None:
    _, message = render(env, outcome, None, in_reply=False)
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["In-Reply-To"] is None
    assert message["References"] is None
    assert not message["Subject"].lower().startswith("re:")
    assert EVENT.title in message["Subject"]


def test_promoted_subject_and_footer(env: jinja2.Environment) -> None:
    _, message = render(env, Outcome.PROMOTED, REPLY, in_reply=False)
    text, _ = parts(message)
    assert message["Subject"] == f"Place confirmed: {EVENT.title}"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["In-Reply-To"] is None
    assert "automatic message from the booking address bookings@example.ac.uk" in text


def test_confirmed_subject_when_not_replying(env: jinja2.Environment) -> None:
    _, message = render(env, Outcome.CONFIRMED, None)
    assert message["Subject"] == f"Confirmed: {EVENT.title}"
    # A notice meant as a reply but given no inbound message has nothing to thread on.
    assert message["Auto-Submitted"] == "auto-generated"


NEW_THREAD_SUBJECTS = {
    Outcome.CONFIRMED: "Confirmed: CSE forum",
    Outcome.WAITLISTED: "Waiting list: CSE forum",
    Outcome.HELD: "Being checked: CSE forum",
    Outcome.DECLINED: "Not booked: CSE forum",
    Outcome.DUPLICATE: "Already booked: CSE forum",
    Outcome.CANCELLED: "Booking cancelled: CSE forum",
    Outcome.PROMOTED: "Place confirmed: CSE forum",
}


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_new_thread_subjects_lead_with_the_outcome_and_use_the_short_title(
    env: jinja2.Environment, outcome: Outcome
) -> None:
    notice = Notice(outcome, booking_for(outcome), in_reply=False)
    event = replace(EVENT, short_title="CSE forum")
    mail = render_notice(env, notice, event, SENDER, None, message_id=MESSAGE_ID, now=NOW)
    parsed = parse(mail)
    assert parsed["Subject"] == NEW_THREAD_SUBJECTS[outcome]
    text, _ = parts(parsed)
    assert EVENT.title in text, "the body still names the event in full"


@pytest.mark.parametrize(
    ("template", "status", "expected"),
    [
        ("offer", BookingStatus.WAITLISTED, f"Place offered: {EVENT.title}"),
        ("offer-expired", BookingStatus.CANCELLED, f"Offer ended: {EVENT.title}"),
    ],
)
def test_offer_subjects_say_what_became_of_the_offer(
    env: jinja2.Environment, template: str, status: BookingStatus, expected: str
) -> None:
    booking = booking_for(
        Outcome.PROMOTED, status=status, offer_expires_at=NOW + timedelta(hours=24)
    )
    outcome = Outcome.PROMOTED if template == "offer" else Outcome.INFO
    notice = Notice(outcome, booking, in_reply=False, template=template)
    mail = render_notice(env, notice, EVENT, SENDER, None, message_id=MESSAGE_ID, now=NOW)
    assert parse(mail)["Subject"] == expected


@pytest.mark.parametrize(
    ("booked_by", "named"),
    [
        (
            SenderDetails("ann.lee@example.police.uk", "Ann Lee", "DS", "Lancashire Constabulary"),
            "DS Ann Lee (Lancashire Constabulary, ann.lee@example.police.uk) asked us to book you",
        ),
        (
            SenderDetails("ann.lee@example.police.uk"),
            "ann.lee@example.police.uk asked us to book you",
        ),
    ],
)
@pytest.mark.parametrize("outcome", [Outcome.CONFIRMED, Outcome.WAITLISTED])
def test_a_colleague_booked_by_someone_else_is_told_who_and_how_to_decline(
    env: jinja2.Environment, outcome: Outcome, booked_by: SenderDetails, named: str
) -> None:
    notice = Notice(
        outcome,
        booking_for(outcome),
        in_reply=False,
        acted_by=Actor.COLLEAGUE,
        booked_by=booked_by,
    )
    mail = render_notice(env, notice, EVENT, SENDER, None, message_id=MESSAGE_ID, now=NOW)
    text, html = parts(parse(mail))
    for body in (text, html):
        assert named in body
    assert f"If you do not want it, {CANCEL_LINE}." in text
    assert "If you do not want it, reply to this email with <strong>CANCEL</strong>" in html


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_a_booking_of_ones_own_names_no_booker(env: jinja2.Environment, outcome: Outcome) -> None:
    _, message = render(env, outcome)
    for body in parts(message):
        assert "asked us to book you" not in body


@pytest.mark.parametrize(
    ("inbound", "expected"),
    [
        ("Booking request", "Re: Booking request"),
        ("Re: Booking request", "Re: Booking request"),
        ("RE: Booking request", "Re: Booking request"),
        ("re: RE:  Re[2]: Booking request", "Re: Booking request"),
        ("", f"Re: {EVENT.title}"),
        ("   ", f"Re: {EVENT.title}"),
        ("Re:", f"Re: {EVENT.title}"),
        ("Réservation – CSE forum", "Re: Réservation – CSE forum"),
    ],
)
def test_reply_subject_has_one_re(env: jinja2.Environment, inbound: str, expected: str) -> None:
    _, message = render(env, Outcome.CONFIRMED, replace(REPLY, subject=inbound))
    assert message["Subject"] == expected


def test_reply_without_inbound_message_id_omits_threading_headers(
    env: jinja2.Environment,
) -> None:
    _, message = render(env, Outcome.CONFIRMED, ReplyContext(None, (ROOT_ID,), "Booking"))
    assert message["In-Reply-To"] is None
    assert message["References"] is None
    assert message["Subject"] == "Re: Booking"
    assert message["Auto-Submitted"] == "auto-replied"


def test_references_chain_keeps_order_and_drops_repeats_and_junk(
    env: jinja2.Environment,
) -> None:
    reply = ReplyContext(
        message_id=INBOUND_ID,
        references=(ROOT_ID, "not an id", "<b@example.org> <c@example.org>", ROOT_ID, INBOUND_ID),
        subject="Booking",
    )
    mail, message = render(env, Outcome.CONFIRMED, reply)
    assert message["References"].split() == [
        ROOT_ID,
        "<b@example.org>",
        "<c@example.org>",
        INBOUND_ID,
    ]
    assert f"In-Reply-To: {INBOUND_ID}\r\n".encode() in mail.data


def test_long_references_chain_is_trimmed_keeping_root_and_latest(
    env: jinja2.Environment,
) -> None:
    many = tuple(f"<msg{i}@example.org>" for i in range(40))
    _, message = render(env, Outcome.CONFIRMED, ReplyContext(INBOUND_ID, many, "Booking"))
    chain = message["References"].split()
    assert chain[0] == "<msg0@example.org>"
    assert chain[-2:] == ["<msg39@example.org>", INBOUND_ID]
    assert len(chain) == 20


def test_long_subject_is_folded_between_words(env: jinja2.Environment) -> None:
    mail, message = render(env, Outcome.CONFIRMED, replace(REPLY, subject=EVENT.title))
    assert message["Subject"] == f"Re: {EVENT.title}"
    assert b"Subject: Re: Working" in mail.data


def test_header_lines_stay_within_the_smtp_limit(env: jinja2.Environment) -> None:
    many = tuple(f"<{'x' * 60}.{i}@example.org>" for i in range(15))
    mail, _ = render(env, Outcome.CONFIRMED, ReplyContext(INBOUND_ID, many, "Booking"))
    head = mail.data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    assert b"\n" not in head.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    "subject",
    [
        "Booking\r\nBcc: victim@example.com",
        "Booking\nBcc: victim@example.com",
        "Booking\rBcc: victim@example.com",
        "Booking\u2028Bcc: victim@example.com",
    ],
)
def test_subject_with_line_breaks_injects_no_header(env: jinja2.Environment, subject: str) -> None:
    _, message = render(env, Outcome.CONFIRMED, replace(REPLY, subject=subject))
    assert message["Bcc"] is None
    assert message["Subject"] == "Re: Booking Bcc: victim@example.com"


def test_line_breaks_in_names_and_ids_inject_no_header(env: jinja2.Environment) -> None:
    sender = replace(SENDER, display_name="CSE Forum\r\nBcc: victim@example.com")
    reply = ReplyContext("<a@example.org>\r\nBcc: victim@example.com", (), "Booking")
    _, message = render(
        env,
        Outcome.CONFIRMED,
        reply,
        sender=sender,
        name="Jane\r\nBcc: victim@example.com",
        ref="CSE-1\nBcc: victim@example.com",
    )
    assert message["Bcc"] is None
    assert message["In-Reply-To"] is None
    assert message["To"].addresses[0].addr_spec == "jane.smith@example.police.uk"


def test_display_name_with_comma_and_non_ascii_round_trips(env: jinja2.Environment) -> None:
    mail, message = render(env, Outcome.CONFIRMED, name="Llewelyn-Jones, Siân")
    (to,) = message["To"].addresses
    assert to.display_name == "Llewelyn-Jones, Siân"
    assert to.addr_spec == "jane.smith@example.police.uk"
    assert len(message["To"].addresses) == 1
    assert all(byte < 128 for byte in mail.data)
    text, html = parts(message)
    assert "Llewelyn-Jones, Siân" in text
    assert "Llewelyn-Jones, Siân" in html


@pytest.mark.parametrize(
    ("name", "raw", "escaped"),
    [
        ("<script>alert(1)</script>", "<script>", "&lt;script&gt;"),
        ("O'Brien & Co", "O'Brien & Co", "O&#39;Brien &amp; Co"),
    ],
)
def test_html_escapes_names_and_text_does_not(
    env: jinja2.Environment, name: str, raw: str, escaped: str
) -> None:
    _, message = render(env, Outcome.CONFIRMED, name=name, force=name)
    text, html = parts(message)
    assert escaped in html
    assert raw not in html
    assert raw in text
    assert "&amp;" not in text


def test_unknown_name_rank_and_force_render_without_errors(env: jinja2.Environment) -> None:
    for outcome in OUTCOMES:
        _, message = render(env, outcome, name=None, rank=None, force=None)
        text, html = parts(message)
        assert message["To"].addresses[0].display_name == ""
        assert "None" not in text
        assert "None" not in html
        assert "Booked for" not in text


def test_booked_for_line_shows_rank_name_and_force(env: jinja2.Environment) -> None:
    _, message = render(env, Outcome.CONFIRMED)
    text, _ = parts(message)
    assert "Booked for: DC Jane Smith, West Midlands Police" in text


def test_rendering_is_reproducible_apart_from_the_mime_boundary(env: jinja2.Environment) -> None:
    def normalised(data: bytes) -> bytes:
        return re.sub(rb"===============\d+==", b"BOUNDARY", data)

    first, _ = render(env, Outcome.WAITLISTED)
    second, _ = render(env, Outcome.WAITLISTED)
    assert normalised(first.data) == normalised(second.data)


def test_date_header_uses_the_given_offset(env: jinja2.Environment) -> None:
    summer = datetime(2027, 6, 1, 8, 0, tzinfo=LONDON)
    notice = Notice(Outcome.CONFIRMED, booking_for(Outcome.CONFIRMED))
    mail = render_notice(env, notice, EVENT, SENDER, REPLY, message_id=MESSAGE_ID, now=summer)
    parsed = email.message_from_bytes(mail.data, policy=policy.default)
    assert parsed["Date"].datetime.utcoffset() == timedelta(hours=1)


def test_naive_now_is_refused(env: jinja2.Environment) -> None:
    notice = Notice(Outcome.CONFIRMED, booking_for(Outcome.CONFIRMED))
    with pytest.raises(ValueError, match="timezone-aware"):
        render_notice(
            env, notice, EVENT, SENDER, REPLY, message_id=MESSAGE_ID, now=datetime(2027, 1, 1)
        )


def test_new_message_id_shape() -> None:
    assert new_message_id("example.ac.uk", "abc-123") == "<mailbot.abc-123@example.ac.uk>"
    with pytest.raises(ValueError):
        new_message_id("example.ac.uk", "bad token")
    with pytest.raises(ValueError):
        new_message_id("example.ac.uk>\r\nBcc: x", "abc")


def test_date_and_time_filters() -> None:
    assert long_date(EVENT.starts_at) == "Wednesday 10 March 2027"
    assert time_range(EVENT.starts_at, EVENT.ends_at) == "11:00 to 15:45"
    utc = datetime(2027, 3, 1, 9, 5, tzinfo=UTC)
    assert long_date(utc) == "Monday 1 March 2027"


def test_strict_undefined_catches_template_mistakes(tmp_path: Path) -> None:
    (tmp_path / "confirmed.txt.j2").write_text("{{ booking.nickname }}\n")
    (tmp_path / "confirmed.html.j2").write_text("<p>{{ booking.ref }}</p>\n")
    env = make_environment(tmp_path)
    notice = Notice(Outcome.CONFIRMED, booking_for(Outcome.CONFIRMED))
    with pytest.raises(jinja2.UndefinedError):
        render_notice(env, notice, EVENT, SENDER, REPLY, message_id=MESSAGE_ID, now=NOW)


def test_autoescape_applies_to_html_templates_only(tmp_path: Path) -> None:
    (tmp_path / "confirmed.txt.j2").write_text("{{ booking.name }}\n")
    (tmp_path / "confirmed.html.j2").write_text("<p>{{ booking.name }}</p>\n")
    env = make_environment(tmp_path)
    booking = booking_for(Outcome.CONFIRMED, name="A & B")
    notice = Notice(Outcome.CONFIRMED, booking)
    mail = render_notice(env, notice, EVENT, SENDER, REPLY, message_id=MESSAGE_ID, now=NOW)
    message = email.message_from_bytes(mail.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text, html = parts(message)
    assert text.strip() == "A & B"
    assert html.strip() == "<p>A &amp; B</p>"


def test_info_notice_without_a_booking_uses_its_template_and_recipient(tmp_path: Path) -> None:
    # The shared snippets must serve a notice about no booking at all.
    templates = tmp_path / "templates"
    shutil.copytree(Path(__file__).parent.parent / "templates", templates)
    (templates / "no-booking.txt.j2").write_text(
        'You hold no place, so there is nothing to cancel.\n\n{% include "_event.txt.j2" %}\n'
        '{% include "_footer.txt.j2" %}\n'
    )
    (templates / "no-booking.html.j2").write_text(
        '{% extends "_layout.html.j2" %}\n'
        "{% block headline %}You hold no place, so there is nothing to cancel.{% endblock %}\n"
    )
    env = make_environment(templates)
    notice = Notice(
        Outcome.INFO, None, template="no-booking", recipient="someone@example.police.uk"
    )
    mail = render_notice(env, notice, EVENT, SENDER, REPLY, message_id=MESSAGE_ID, now=NOW)
    message = email.message_from_bytes(mail.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text, html = parts(message)

    assert (mail.recipient, mail.booking_ref, mail.outcome) == (
        "someone@example.police.uk",
        None,
        Outcome.INFO,
    )
    assert message["To"].addresses[0].addr_spec == "someone@example.police.uk"
    assert message["X-Mailbot-Booking"] is None
    assert message["X-Mailbot-Outcome"] == "info"
    assert message["In-Reply-To"] == INBOUND_ID
    assert first_line(text) == "You hold no place, so there is nothing to cancel."
    assert "Wednesday 10 March 2027" in text
    assert "Reference" not in text
    assert CANCEL_LINE not in text
    assert "Reference" not in html


def test_recipient_override_wins_over_the_booking_address(env: jinja2.Environment) -> None:
    booking = booking_for(Outcome.CONFIRMED)
    notice = Notice(Outcome.CONFIRMED, booking, recipient="other@example.police.uk")
    mail = render_notice(env, notice, EVENT, SENDER, REPLY, message_id=MESSAGE_ID, now=NOW)
    message = email.message_from_bytes(mail.data, policy=policy.default)
    assert mail.recipient == "other@example.police.uk"
    assert message["To"].addresses[0].addr_spec == "other@example.police.uk"
    assert message["X-Mailbot-Booking"] == "CSE-7K3Q"


def test_every_outcome_template_pair_exists(env: jinja2.Environment) -> None:
    names = set(env.list_templates())
    for outcome in OUTCOMES:
        assert f"{outcome.value}.txt.j2" in names
        assert f"{outcome.value}.html.j2" in names


def _invite(mail_bytes: bytes) -> Calendar:
    message = email.message_from_bytes(mail_bytes, policy=policy.default)
    assert isinstance(message, EmailMessage)
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == "invite.ics"
    return Calendar.from_ical(part.get_content())


def test_confirmation_carries_an_invite_and_cancellation_removes_the_same_entry() -> None:
    env = make_environment()
    confirmed = BookingView(
        "CSE-7K3Q",
        EVENT.slug,
        "jane.smith@example.police.uk",
        BookingStatus.CONFIRMED,
        name="Jane Smith",
    )
    cancelled = replace(confirmed, status=BookingStatus.CANCELLED)
    request = render_notice(
        env,
        Notice(Outcome.CONFIRMED, confirmed),
        EVENT,
        SENDER,
        None,
        message_id=MESSAGE_ID,
        now=NOW,
    )
    cancel = render_notice(
        env,
        Notice(Outcome.CANCELLED, cancelled),
        EVENT,
        SENDER,
        None,
        message_id="<mailbot.c@example.ac.uk>",
        now=NOW + timedelta(hours=1),
    )
    first, second = _invite(request.data), _invite(cancel.data)
    assert str(first["METHOD"]) == "REQUEST" and str(second["METHOD"]) == "CANCEL"
    (event_one,) = first.walk("VEVENT")
    (event_two,) = second.walk("VEVENT")
    assert str(event_one["UID"]) == str(event_two["UID"]) == "booking-cse-7k3q@example.ac.uk"
    assert int(event_two["SEQUENCE"]) > int(event_one["SEQUENCE"])
    assert str(event_one["ORGANIZER"]) == "mailto:bookings@example.ac.uk"


def test_no_invite_for_a_waiting_list_place() -> None:
    waiting = BookingView(
        "CSE-7K3Q",
        EVENT.slug,
        "jane.smith@example.police.uk",
        BookingStatus.WAITLISTED,
        waitlist_position=3,
    )
    mail = render_notice(
        make_environment(),
        Notice(Outcome.WAITLISTED, waiting),
        EVENT,
        SENDER,
        None,
        message_id=MESSAGE_ID,
        now=NOW,
    )
    message = email.message_from_bytes(mail.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert list(message.iter_attachments()) == []


def _lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_mail_is_7bit_crlf_and_within_78_columns(
    env: jinja2.Environment, outcome: Outcome
) -> None:
    mail, message = render(env, outcome)
    assert all(byte < 128 for byte in mail.data)
    assert b"\n" not in mail.data.replace(b"\r\n", b"")
    assert b"\r" not in mail.data.replace(b"\r\n", b"")
    long_lines = [line for line in _lines(mail.data) if len(line) > 78]
    # Only the Outlook id is longer than a line, and it is never split.
    assert long_lines == [f"In-Reply-To: {INBOUND_ID}".encode(), f" {INBOUND_ID}".encode()]
    for part in message.walk():
        assert not part.defects
        assert part.get_content_maintype() == "multipart" or part["Content-Transfer-Encoding"] in (
            "7bit",
            "quoted-printable",
            "base64",
        )


def test_headers_come_in_the_contract_order(env: jinja2.Environment) -> None:
    mail, message = render(env, Outcome.CONFIRMED)
    assert list(message.keys()) == [
        "From",
        "To",
        "Reply-To",
        "Date",
        "Message-ID",
        "Subject",
        "In-Reply-To",
        "References",
        "Auto-Submitted",
        "X-Auto-Response-Suppress",
        "X-Mailbot-Booking",
        "X-Mailbot-Outcome",
        "MIME-Version",
        "Content-Type",
    ]
    head = mail.data.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(
        b"From: CSE Forum bookings <bookings@example.ac.uk>\r\n"
        b"To: Jane Smith <jane.smith@example.police.uk>\r\n"
        b"Reply-To: bookings@example.ac.uk\r\n"
        b"Date: Tue, 12 Jan 2027 09:30:00 +0000\r\n"
        b"Message-ID: <mailbot.t0k3n@example.ac.uk>\r\n"
        b"Subject: Re: Booking request\r\n"
    )
    assert b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;" in head


@pytest.mark.parametrize(
    ("outcome", "method"), [(Outcome.CONFIRMED, "REQUEST"), (Outcome.CANCELLED, "CANCEL")]
)
def test_the_invite_part_names_its_charset_and_method(
    env: jinja2.Environment, outcome: Outcome, method: str
) -> None:
    mail, message = render(env, outcome)
    (part,) = message.iter_attachments()
    assert part.get_content_type() == "text/calendar"
    assert part.get_content_charset() == "utf-8"
    assert part.get_param("method") == method
    assert part.get_content_disposition() == "attachment"
    assert part["Content-Transfer-Encoding"] == "base64"
    expected = f'Content-Type: text/calendar; charset="utf-8"; method="{method}"\r\n'
    assert expected.encode() in mail.data
    first, _ = message.iter_parts()
    assert first.get_content_type() == "multipart/alternative"


def test_short_ascii_text_goes_7bit_and_long_or_non_ascii_quoted_printable(
    tmp_path: Path,
) -> None:
    (tmp_path / "confirmed.txt.j2").write_text("Short line.\nAnother, {{ booking.name }}.\n")
    (tmp_path / "confirmed.html.j2").write_text("<p>{{ 'x' * 100 }}</p>\n")
    env = make_environment(tmp_path)
    for name, text_encoding in (("Jane Smith", "7bit"), ("Siân", "quoted-printable")):
        mail, message = render(env, Outcome.CONFIRMED, name=name)
        text, html = parts(message)
        assert text == f"Short line.\r\nAnother, {name}.\r\n"
        assert html == f"<p>{'x' * 100}</p>\r\n"
        plain, rich = (message.get_body((kind,)) for kind in ("plain", "html"))
        assert plain is not None and rich is not None
        assert plain["Content-Transfer-Encoding"] == text_encoding
        assert rich["Content-Transfer-Encoding"] == "quoted-printable"
        assert all(len(line) <= 78 for line in _lines(mail.data.split(b"\r\n\r\n", 1)[1]))


def test_notice_attachments_follow_the_invite_byte_for_byte(env: jinja2.Environment) -> None:
    csv = "\ufeffName,Email\r\nSiân,sian@example.police.uk\r\n".encode()
    sheet = bytes(range(256)) * 40
    attachments = (
        Attachment("cse-forum-preston-attendees.csv", "text/csv", csv),
        Attachment("Teilnehmer – Übersicht.xlsx", "application/vnd.ms-excel", sheet),
    )
    notice = Notice(Outcome.CONFIRMED, booking_for(Outcome.CONFIRMED), attachments=attachments)
    mail = render_notice(env, notice, EVENT, SENDER, REPLY, message_id=MESSAGE_ID, now=NOW)
    message = email.message_from_bytes(mail.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    invite, table, workbook = message.iter_attachments()
    assert invite.get_filename() == "invite.ics"
    assert table.get_filename() == "cse-forum-preston-attendees.csv"
    assert table.get_content_type() == "text/csv"
    assert table.get_payload(decode=True) == csv
    assert workbook.get_filename() == "Teilnehmer – Übersicht.xlsx"
    assert workbook.get_content() == sheet
    # RFC 2231 for the non-ASCII file name: an encoded-word there is not standard.
    assert b"filename*=utf-8''Teilnehmer%20%E2%80%93%20%C3%9Cbersicht.xlsx" in mail.data
    assert all(byte < 128 for byte in mail.data)


def test_non_ascii_names_in_from_and_to_round_trip(env: jinja2.Environment) -> None:
    sender = replace(SENDER, display_name="Forum CSE — réservations, Preston")
    mail, message = render(env, Outcome.WAITLISTED, sender=sender, name="渡辺 太郎")
    (author,) = message["From"].addresses
    (to,) = message["To"].addresses
    assert (author.display_name, author.addr_spec) == (
        sender.display_name,
        "bookings@example.ac.uk",
    )
    assert (to.display_name, to.addr_spec) == ("渡辺 太郎", "jane.smith@example.police.uk")
    assert all(byte < 128 for byte in mail.data)


def test_an_internationalised_domain_is_written_in_its_ascii_form(
    env: jinja2.Environment,
) -> None:
    # The stdlib wrote an encoded-word inside the domain, an address no client can answer.
    mail, message = render(env, Outcome.WAITLISTED, email="jane@pölice.example")
    assert message["To"].addresses[0].addr_spec == "jane@xn--plice-jua.example"
    assert b"To: Jane Smith <jane@xn--plice-jua.example>\r\n" in mail.data
    assert mail.recipient == "jane@pölice.example"  # the envelope is delivery's business


@pytest.mark.parametrize(
    "address", ["jäne@example.police.uk", "jane smith@example.police.uk", "jane", "<j@x.org>"]
)
def test_an_address_no_header_can_carry_is_a_value_error(
    env: jinja2.Environment, address: str
) -> None:
    # As before (the stdlib raised its own ValueError subclasses, or HeaderParseError).
    with pytest.raises(ValueError, match="address"):
        render(env, Outcome.WAITLISTED, email=address)


def test_an_id_too_long_for_a_header_line_is_dropped_not_fatal(env: jinja2.Environment) -> None:
    huge = f"<{'x' * 1000}@example.org>"
    _, message = render(env, Outcome.CONFIRMED, ReplyContext(huge, (ROOT_ID,), "Booking"))
    assert message["In-Reply-To"] is None
    assert message["References"] is None
    _, message = render(env, Outcome.CONFIRMED, ReplyContext(INBOUND_ID, (huge, ROOT_ID), "B"))
    assert message["References"].split() == [ROOT_ID, INBOUND_ID]


def test_subject_looking_like_an_encoded_word_reads_back_as_written(
    env: jinja2.Environment,
) -> None:
    inbound = "=?utf-8?q?Booking?= request"
    mail, message = render(env, Outcome.CONFIRMED, replace(REPLY, subject=inbound))
    assert message["Subject"] == f"Re: {inbound}"
    assert b"Subject: =?utf-8?q?" in mail.data


def test_digest_mail_is_built_by_the_same_writer() -> None:
    mail = render_digest_mail(
        SENDER,
        "Digest — 3 new bookings, Siân included",
        "3 new bookings.\n",
        "<p>3 new bookings.</p>\n",
        message_id=MESSAGE_ID,
        now=NOW,
    )
    message = email.message_from_bytes(mail.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert list(message.keys()) == [
        "From",
        "To",
        "Reply-To",
        "Date",
        "Message-ID",
        "Subject",
        "Auto-Submitted",
        "X-Mailbot-Outcome",
        "MIME-Version",
        "Content-Type",
    ]
    assert str(message["To"]) == "Alex Organiser <organiser@example.ac.uk>"
    assert message["Subject"] == "Digest — 3 new bookings, Siân included"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Mailbot-Outcome"] == "info"
    assert parts(message) == ("3 new bookings.\r\n", "<p>3 new bookings.</p>\r\n")
    assert (mail.recipient, mail.outcome, mail.booking_ref) == (
        "organiser@example.ac.uk",
        Outcome.INFO,
        None,
    )
    assert all(len(line) <= 78 for line in _lines(mail.data))


# Which line names the person, by (outcome, template, status, offered): a place says whom it
# is for; the waiting list and an offer say so in their own words; every other mail (a
# request being checked, a refusal, a place ended) names nobody as if they had a place.
NAMED = "DC Jane Smith, West Midlands Police"
PLACE_LINES = [
    (Outcome.CONFIRMED, None, BookingStatus.CONFIRMED, False, "Booked for"),
    (Outcome.PROMOTED, None, BookingStatus.CONFIRMED, False, "Booked for"),
    (Outcome.REMINDER, None, BookingStatus.CONFIRMED, False, "Booked for"),
    (Outcome.RECONFIRM, None, BookingStatus.CONFIRMED, False, "Booked for"),
    (Outcome.CERTIFICATE, None, BookingStatus.CONFIRMED, False, "Booked for"),
    (Outcome.UPDATED, None, BookingStatus.CONFIRMED, False, "Booked for"),
    (Outcome.DUPLICATE, None, BookingStatus.CONFIRMED, False, "Booked for"),
    (Outcome.INFO, "needs-noted", BookingStatus.CONFIRMED, False, "Booked for"),
    (Outcome.WAITLISTED, None, BookingStatus.WAITLISTED, False, "Waiting list for"),
    (Outcome.UPDATED, None, BookingStatus.WAITLISTED, False, "Waiting list for"),
    (Outcome.DUPLICATE, None, BookingStatus.WAITLISTED, False, "Waiting list for"),
    (Outcome.PROMOTED, "offer", BookingStatus.WAITLISTED, True, "Offered to"),
    (Outcome.HELD, None, BookingStatus.HELD, False, None),
    (Outcome.DUPLICATE, None, BookingStatus.HELD, False, None),
    (Outcome.DECLINED, None, BookingStatus.DECLINED, False, None),
    (Outcome.CANCELLED, None, BookingStatus.CANCELLED, False, None),
    (Outcome.RELEASED, None, BookingStatus.CANCELLED, False, None),
    (Outcome.EVENT_CANCELLED, None, BookingStatus.CANCELLED, False, None),
    (Outcome.INFO, "offer-expired", BookingStatus.CANCELLED, False, None),
    (Outcome.INFO, "closed", BookingStatus.DECLINED, False, None),
    # A mail that ends a place names nobody, even if the booking it carries still shows one.
    (Outcome.CANCELLED, None, BookingStatus.CONFIRMED, False, None),
    (Outcome.RELEASED, None, BookingStatus.CONFIRMED, False, None),
    (Outcome.EVENT_CANCELLED, None, BookingStatus.WAITLISTED, False, None),
]


@pytest.mark.parametrize("case", PLACE_LINES, ids=lambda case: "-".join(map(str, case)))
def test_only_mail_about_a_real_place_says_booked_for(
    env: jinja2.Environment,
    case: tuple[Outcome, str | None, BookingStatus, bool, str | None],
) -> None:
    outcome, template, status, offered, label = case
    booking = replace(
        booking_for(Outcome.CONFIRMED),
        status=status,
        waitlist_position=3 if status is BookingStatus.WAITLISTED and not offered else None,
        offer_expires_at=NOW + timedelta(hours=24) if offered else None,
    )
    notice = Notice(outcome, booking, template=template, previously=EVENT)
    mail = render_notice(env, notice, EVENT, SENDER, REPLY, message_id=MESSAGE_ID, now=NOW)
    text, html = parts(parse(mail))
    others = {"Booked for", "Waiting list for", "Offered to"} - {label}
    for other in others:
        assert other not in text
        assert other not in html
    if label is not None:
        assert f"{label}:".ljust(11) + " " + NAMED in text
        assert f">{label}</td><td" in html
        assert NAMED in html


ELIGIBLE_SENDER = replace(SENDER, eligible_domains=("police.uk", "nca.gov.uk"))


def test_the_refusal_tells_an_officer_to_write_again_from_a_police_address(
    env: jinja2.Environment,
) -> None:
    notice = Notice(Outcome.DECLINED, booking_for(Outcome.DECLINED))
    mail = render_notice(env, notice, EVENT, ELIGIBLE_SENDER, REPLY, message_id=MESSAGE_ID, now=NOW)
    text, html = parts(parse(mail))
    flat = " ".join(text.split())
    assert (
        "If you are a police officer or member of police staff, please write again from your "
        "police email address (one ending in police.uk or nca.gov.uk)"
    ) in flat
    assert "write again from your police email address" in html
    assert "(one ending in police.uk or nca.gov.uk)" in html


def test_the_organisers_refusal_does_not_ask_for_another_address(
    env: jinja2.Environment,
) -> None:
    notice = Notice(Outcome.DECLINED, booking_for(Outcome.DECLINED), acted_by=Actor.ORGANISER)
    mail = render_notice(env, notice, EVENT, ELIGIBLE_SENDER, REPLY, message_id=MESSAGE_ID, now=NOW)
    for body in parts(parse(mail)):
        assert "The organiser has declined your booking." in body
        assert "write again" not in body
