"""Frozen values the store reads back for people to look at: bookings as recorded, their
history, when each job last ran, what is held about one person, and what the organiser's
digest shows. Nothing here does I/O; the store makes them, the command line and the digest
show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailbot.domain import BookingView, EventInfo


@dataclass(frozen=True)
class BookingRecord:
    """A booking as the database holds it, for lists, exports and subject access requests:
    the booking as the rules see it, and what only the records keep besides."""

    view: BookingView
    created_at: datetime
    updated_at: datetime
    needs: str | None = None
    undeliverable: str | None = None  # why mail to the address bounced, if it did
    reconfirmed_at: datetime | None = None  # when they said yes to a reconfirmation request
    attended: bool | None = None  # whether they came, once the organiser recorded it
    waitlist_order: int | None = None  # places pass on in this order while they wait


@dataclass(frozen=True)
class Reconfirmation:
    """A confirmed booking, and when its holder was asked to reconfirm and answered yes."""

    booking: BookingView
    asked_at: datetime | None
    reconfirmed_at: datetime | None


@dataclass(frozen=True)
class WithdrawnMail:
    """A mail taken back from the outbox before it left; `answers` is the source key of
    the inbound message it replied to, if it was a reply."""

    answers: str | None
    data: bytes


@dataclass(frozen=True)
class AuditEntry:
    """One change to a booking (or an event): when, by whom, what, and why."""

    at: datetime
    booking_ref: str | None
    actor: str
    action: str
    detail: str


@dataclass(frozen=True)
class JobRun:
    """When a job (poll, delivery, digest, reminders, retention) last ran, and what it did."""

    name: str
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_result: str | None


@dataclass(frozen=True)
class Question:
    """A question an attendee asked, for the organiser to answer personally."""

    asked_at: datetime
    email: str
    name: str | None
    text: str  # the attendee's own words: the only message text a digest ever shows
    event_slug: str | None = None


@dataclass(frozen=True)
class PersonRecord:
    """Everything held about one address, for a subject access request."""

    bookings: tuple[BookingRecord, ...]
    questions: tuple[Question, ...]
    mails_received: int
    mails_sent: int


@dataclass(frozen=True)
class Undeliverable:
    """A booking whose address bounced: the attendee may not know where they stand."""

    booking: BookingView
    reason: str  # e.g. "550 5.1.1 mailbox unknown", from the bounce, never its body


@dataclass(frozen=True)
class Quarantined:
    """An inbound message recorded without a reply, for a human to look at in the mailbox:
    what the digest shows to find it by. Mail recorded before these were kept has None."""

    received_at: datetime
    sender: str | None  # None when the From header was missing or unreadable
    reason: str
    subject: str | None = None  # "" for a message without one
    sent_at: datetime | None = None  # its Date header, when it had a readable one
    from_line: str | None = None  # the From header as written, when no address was read


@dataclass(frozen=True)
class DeliveryFailure:
    """An outgoing mail the outbox gave up on."""

    failed_at: datetime
    recipient: str
    outcome: str  # the mail's Outcome value, e.g. "confirmed"
    error: str
    booking_ref: str | None = None


@dataclass(frozen=True)
class EventDigest:
    """One event's numbers and the bookings that changed since the last digest.

    `event.capacity` is the number of places in force (the organiser's override, if any).
    """

    event: EventInfo
    confirmed: int
    waitlisted: int  # everyone waiting; `waitlist` may show only the first few
    held: tuple[BookingView, ...]  # every request still held for review, oldest first
    new_bookings: tuple[BookingView, ...]  # created since `since`, in their current status
    cancellations: tuple[BookingView, ...]  # cancelled since `since`
    promotions: tuple[BookingView, ...]  # moved from the waiting list to a place since `since`
    waitlist: tuple[BookingView, ...]  # in order, with `waitlist_position` set
    per_force: tuple[tuple[str, int], ...]  # (force, confirmed places), in the order to show
    offers_open: int = 0  # places kept for waitlisted people who were offered one
    # Reconfirmation, once its requests went out: how many were asked and said yes, who
    # has not answered (still confirmed), and whose places were released.
    reconfirm_asked: int = 0
    reconfirmed: int = 0
    not_reconfirmed: tuple[BookingView, ...] = ()
    released: tuple[BookingView, ...] = ()
    # Once attendance is recorded: (force, came, did not come), forces in name order, and
    # how many confirmed places are not yet marked either way.
    attendance: tuple[tuple[str, int, int], ...] = ()
    not_marked: int = 0

    @property
    def places_left(self) -> int:
        return max(0, self.event.capacity - self.confirmed - self.offers_open)


@dataclass(frozen=True)
class DigestState:
    """Everything one digest shows. `since` is when the last one went (None: never)."""

    generated_at: datetime  # in the organiser's zone: every time shown is converted to it
    since: datetime | None
    events: tuple[EventDigest, ...]
    questions: tuple[Question, ...] = ()
    undeliverable: tuple[Undeliverable, ...] = ()
    quarantined: tuple[Quarantined, ...] = ()
    # People outside the eligible domains whose mail was not about a place: not answered.
    from_outside: tuple[Quarantined, ...] = ()
    delivery_failures: tuple[DeliveryFailure, ...] = ()
