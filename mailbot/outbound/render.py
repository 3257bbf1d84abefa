"""Render one notice about a booking into a complete outgoing mail: templates in, bytes out."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mailbot.domain import BookingStatus, EventInfo, Notice, Outcome, OutgoingMail
from mailbot.outbound import mime
from mailbot.outbound.dates import long_date, time_range
from mailbot.outbound.mime_headers import HeaderValue, Mailbox
from mailbot.text import one_line

if TYPE_CHECKING:
    import jinja2

log = logging.getLogger("mailbot.render")

__all__ = [
    "ReplyContext",
    "Sender",
    "long_date",
    "make_environment",
    "new_message_id",
    "place_label",
    "render_digest_mail",
    "render_notice",
    "time_range",
]


@dataclass(frozen=True)
class ReplyContext:
    """The inbound message a notice answers, as far as threading needs it."""

    message_id: str | None  # with angle brackets
    references: tuple[str, ...]
    subject: str


@dataclass(frozen=True)
class Sender:
    """Who mailbot writes as, whom people should contact instead of it, and what its mail
    points them to: the addresses a booking may come from, the folder for mail set aside."""

    booking_address: str
    organiser_name: str
    organiser_email: str
    display_name: str
    eligible_domains: tuple[str, ...] = ()  # named in a refusal: "write again from ..."
    quarantine_folder: str = "Quarantine"  # in the booking mailbox
    quarantine_path: str | None = None  # a Maildir inbox: that folder on disk


# Subjects for mail that starts a thread of its own (or has no inbound subject to answer),
# by template name, else by outcome. The outcome leads because mail clients cut subjects
# short, and {title} is the event's short title where it has one. Any reply ("Re: ...") is
# read by the intent classifier, which takes a topic starting with "Cancel" as cancelling:
# so "Booking cancelled", never "Cancelled" first (tests/test_intent.py holds each to that).
_SUBJECTS: dict[str, str] = {
    Outcome.CONFIRMED: "Confirmed: {title}",
    Outcome.WAITLISTED: "Waiting list: {title}",
    Outcome.HELD: "Being checked: {title}",
    Outcome.DECLINED: "Not booked: {title}",
    Outcome.DUPLICATE: "Already booked: {title}",
    Outcome.CANCELLED: "Booking cancelled: {title}",
    Outcome.PROMOTED: "Place confirmed: {title}",  # off the waiting list
    "offer": "Place offered: {title}",  # a PROMOTED notice that holds a place until accepted
    "offer-expired": "Offer ended: {title}",
    Outcome.DETAILS_NEEDED: "Details needed: {title}",
    Outcome.REMINDER: "Reminder: {title}",
    Outcome.INFO: "Information: {title}",
    Outcome.UPDATED: "Changed: {title}",
    Outcome.EVENT_CANCELLED: "Event cancelled: {title}",
    Outcome.RECONFIRM: "Still coming? {title}",
    Outcome.RELEASED: "Place released: {title}",
    Outcome.CERTIFICATE: "Certificate of attendance: {title}",
}

_ID_CHARS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>")
_RE_PREFIX = re.compile(r"^\s*(?:re\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)

# Threads survive long enough with the first id (the thread root) and the most recent ones;
# an unbounded References header only grows until some server rejects it.
_MAX_REFERENCES = 20
# An id must fit on a header line (998 characters) with the field's name; one anywhere near
# that long is junk, and would make the mail unwritable rather than merely unthreaded.
_MAX_ID_LENGTH = 900


def new_message_id(domain: str, token: str) -> str:
    """A Message-ID whose "mailbot." prefix lets the classifier spot our own mail coming back."""
    for part, value in (("domain", domain), ("token", token)):
        if not _ID_CHARS.fullmatch(value) or "@" in value:
            raise ValueError(f"{part} {value!r} cannot appear in a Message-ID")
    return f"<mailbot.{token}@{domain}>"


def _default_template_dir() -> Path:
    package = Path(__file__).parent.parent  # mailbot/
    installed = package / "templates"  # where the wheel puts them
    if installed.is_dir():
        return installed
    return package.parent / "templates"  # a source checkout


def _autoescape(name: str | None) -> bool:
    # Only HTML needs escaping; escaping the text part would show "&amp;" to the reader.
    return name is not None and name.endswith(".html.j2")


def make_environment(template_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment every notice is rendered with."""
    import jinja2  # here, not above: a command that writes no mail never loads it

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir or _default_template_dir()),
        undefined=jinja2.StrictUndefined,
        autoescape=_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates are installed with mailbot and do not change while it runs: without
        # this, every mail would look at each template file's modification time again.
        auto_reload=False,
    )
    env.filters["long_date"] = long_date
    env.filters["time_range"] = time_range
    env.filters["either"] = either
    return env


def _valid_id(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value if len(value) <= _MAX_ID_LENGTH and _MSG_ID.fullmatch(value) else None


def _references(reply: ReplyContext, inbound_id: str) -> str:
    chain: list[str] = []
    for candidate in _MSG_ID.findall(" ".join(reply.references)):
        if _valid_id(candidate) and candidate not in chain and candidate != inbound_id:
            chain.append(candidate)
    chain.append(inbound_id)
    if len(chain) > _MAX_REFERENCES:
        chain = chain[:1] + chain[-(_MAX_REFERENCES - 1) :]
    return " ".join(chain)


def _reply_subject(inbound: str, title: str) -> str:
    stripped = _RE_PREFIX.sub("", one_line(inbound))
    return f"Re: {stripped or one_line(title)}"


def _recipient(name: str | None, email: str) -> Mailbox:
    display = one_line(name) if name else ""
    return Mailbox(email.strip(), display)


_INVITE_METHODS: dict[Outcome, Literal["REQUEST", "CANCEL"]] = {
    Outcome.CONFIRMED: "REQUEST",
    Outcome.PROMOTED: "REQUEST",
    Outcome.REMINDER: "REQUEST",
    Outcome.CANCELLED: "CANCEL",
    Outcome.UPDATED: "REQUEST",  # the same UID with a higher SEQUENCE moves the entry
    Outcome.EVENT_CANCELLED: "CANCEL",
    Outcome.RELEASED: "CANCEL",
}
_SEQUENCE_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

# Mail that refuses or ends a place names nobody as holding one, whatever the booking it
# carries says; every other mail names whom its booking is for only while there is a place
# (or a waiting-list spot, or an offer) to name them by.
_NO_PLACE = frozenset(
    {Outcome.DECLINED, Outcome.CANCELLED, Outcome.EVENT_CANCELLED, Outcome.RELEASED}
)


def place_label(notice: Notice) -> str | None:
    """The label of the line naming whom the mail's booking is for ("Booked for"), or None
    for mail about no place: a request being checked, a refusal, a place given up."""
    booking = notice.booking
    if booking is None or not booking.name or notice.outcome in _NO_PLACE:
        return None
    if booking.status is BookingStatus.CONFIRMED:
        return "Booked for"
    if booking.status is BookingStatus.WAITLISTED:
        return "Offered to" if booking.offer_expires_at is not None else "Waiting list for"
    return None


def either(items: tuple[str, ...] | list[str]) -> str:
    """'a', 'a or b', 'a, b or c': alternatives as a sentence names them."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


def _sequence(now: datetime) -> int:
    """Minutes since 2026: a later invite or cancellation always has a higher SEQUENCE."""
    return max(0, int((now - _SEQUENCE_EPOCH).total_seconds() // 60))


def _invite(
    notice: Notice, event: EventInfo, sender: Sender, now: datetime
) -> tuple[str, bytes] | None:
    method = _INVITE_METHODS.get(notice.outcome)
    if notice.booking is None or method is None or not notice.invite:
        return None
    if method == "REQUEST" and notice.booking.status is not BookingStatus.CONFIRMED:
        return None  # an offered place is not yet theirs: no calendar entry until they accept
    from mailbot.outbound.invite import calendar_invite  # icalendar: only for mail that invites

    try:
        return method, calendar_invite(
            event,
            notice.booking,
            organiser_address=sender.booking_address,
            organiser_name=sender.display_name,
            method=method,
            sequence=_sequence(now),
            stamp=now,
        )
    except ValueError:
        # Only a reference or address no mail client could use gets here; the mail still
        # goes, without the calendar entry.
        log.warning("no calendar invite for booking %r", notice.booking.ref)
        return None


def _envelope(
    sender: Sender, to_name: str | None, to_address: str, message_id: str, now: datetime
) -> list[tuple[str, HeaderValue]]:
    """The headers every mailbot mail starts with. Replies go to the booking address, so an
    answer (an attendee's, or the organiser's commands) comes back to mailbot."""
    return [
        ("From", Mailbox(sender.booking_address.strip(), one_line(sender.display_name))),
        ("To", _recipient(to_name, to_address)),
        ("Reply-To", Mailbox(sender.booking_address.strip())),
        ("Date", format_datetime(now)),
        ("Message-ID", one_line(message_id)),
    ]


def render_digest_mail(
    sender: Sender, subject: str, text: str, html: str, *, message_id: str, now: datetime
) -> OutgoingMail:
    """The organiser's digest as a mail: generated, not a reply, about no one booking."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware: a mail's Date names its offset")
    headers = _envelope(sender, sender.organiser_name, sender.organiser_email, message_id, now)
    headers += [
        ("Subject", one_line(subject)),
        ("Auto-Submitted", "auto-generated"),
        ("X-Mailbot-Outcome", Outcome.INFO.value),
    ]
    return OutgoingMail(
        message_id=one_line(message_id),
        recipient=sender.organiser_email,
        outcome=Outcome.INFO,
        booking_ref=None,
        data=mime.write_message(headers, (mime.TextPart(text), mime.TextPart(html, "html"))),
    )


def render_notice(
    env: jinja2.Environment,
    notice: Notice,
    event: EventInfo,
    sender: Sender,
    reply: ReplyContext | None,
    *,
    message_id: str,
    now: datetime,
) -> OutgoingMail:
    """Build the complete mail for one notice; `message_id` and `now` make it reproducible.

    Templates are `<notice.template_name>.txt.j2` and `.html.j2`, given `booking` (None for an
    INFO notice about no booking), `event`, `sender`, `outcome`, `notice` and `place_label`
    (see `place_label`).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware: a mail's Date names its offset")
    booking = notice.booking
    recipient = notice.to
    context = {
        "booking": booking,
        "event": event,
        "sender": sender,
        "outcome": notice.outcome,
        "notice": notice,
        "place_label": place_label(notice),
    }
    text = env.get_template(f"{notice.template_name}.txt.j2").render(context)
    html = env.get_template(f"{notice.template_name}.html.j2").render(context)

    headers = _envelope(sender, booking.name if booking else None, recipient, message_id, now)
    if reply is not None and notice.in_reply:
        headers.append(("Subject", _reply_subject(reply.subject, event.subject_title)))
        inbound_id = _valid_id(reply.message_id)
        if inbound_id is not None:
            headers.append(("In-Reply-To", inbound_id))
            headers.append(("References", _references(reply, inbound_id)))
        headers.append(("Auto-Submitted", "auto-replied"))
    else:
        subject = _SUBJECTS.get(notice.template_name) or _SUBJECTS[notice.outcome]
        headers.append(("Subject", one_line(subject.format(title=event.subject_title))))
        headers.append(("Auto-Submitted", "auto-generated"))
    # Exchange and Outlook honour this and send no out-of-office reply back to the bot.
    headers.append(("X-Auto-Response-Suppress", "OOF, AutoReply"))
    if booking is not None:
        headers.append(("X-Mailbot-Booking", one_line(booking.ref)))
    headers.append(("X-Mailbot-Outcome", notice.outcome.value))
    attachments: list[mime.Attachment] = []
    invite = _invite(notice, event, sender, now)
    if invite is not None:
        # Outlook and Google offer "add to calendar" for a text/calendar attachment that
        # names its METHOD; the UID is the booking's, so a later CANCEL removes this entry.
        method, data = invite
        params = (("charset", "utf-8"), ("method", method))
        attachments.append(mime.Attachment("invite.ics", "text/calendar", data, params))
    if notice.outcome is Outcome.CERTIFICATE and booking is not None:
        from mailbot.outbound.certificate import certificate_pdf  # fpdf2: only when needed

        pdf = certificate_pdf(booking, event, organiser_name=sender.organiser_name, issued=now)
        attachments.append(mime.Attachment("certificate-of-attendance.pdf", "application/pdf", pdf))
    attachments.extend(
        mime.Attachment(
            each.filename,
            each.content_type,
            each.data,
            (("charset", each.charset),) if each.charset else (),
        )
        for each in notice.attachments
    )
    body = (mime.TextPart(text), mime.TextPart(html, "html"))

    return OutgoingMail(
        message_id=one_line(message_id),
        recipient=recipient,
        outcome=notice.outcome,
        booking_ref=booking.ref if booking else None,
        data=mime.write_message(headers, body, attachments),
    )
