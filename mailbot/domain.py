"""Frozen values passed between the pipeline's stages: nothing here does I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    """What a mail about a booking tells its reader (the `X-Mailbot-Outcome` header)."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    HELD = "held"
    DECLINED = "declined"
    DUPLICATE = "duplicate"
    CANCELLED = "cancelled"
    PROMOTED = "promoted"
    DETAILS_NEEDED = "details-needed"
    REMINDER = "reminder"
    INFO = "info"
    UPDATED = "updated"  # the event's date, times or venue changed
    EVENT_CANCELLED = "event-cancelled"  # the whole event is called off
    RECONFIRM = "reconfirm"  # are you still coming?
    RELEASED = "released"  # unanswered, the place went to someone waiting
    CERTIFICATE = "certificate"  # a certificate of attendance is attached


class Actor(StrEnum):
    """Who made the change a notice tells someone about."""

    ATTENDEE = "attendee"  # the person themselves, by mail
    COLLEAGUE = "colleague"  # someone else asked for a place for them
    ORGANISER = "organiser"  # by a reply to the digest or from the command line
    SYSTEM = "system"  # mailbot: a place came free, an offer lapsed, the event changed


class BookingStatus(StrEnum):
    """Where a booking stands; the values of `mailbot bookings --format json`."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    HELD = "held"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class Trigger(StrEnum):
    """What moves a booking from one stage of its life to another (rules/lifecycle.py)."""

    REQUEST = "request"  # the person asks for a place (or takes one offered), by mail
    COLLEAGUE_REQUEST = "colleague-request"  # a colleague asks for a place for them
    CANCEL = "cancel"  # the person gives up their place (words, or a calendar decline)
    ACKNOWLEDGE = "acknowledge"  # thanks, "ok", a calendar acceptance
    APPROVE = "APPROVE"  # the organiser's commands, by mail or from the command line
    DECLINE = "DECLINE"
    ORGANISER_CANCEL = "CANCEL"
    ADD = "ADD"
    MOVE = "MOVE"
    CAPACITY = "CAPACITY"
    PLACE_FREED = "place-freed"  # mailbot passes a freed place to the next person waiting
    OFFER_LAPSED = "offer-lapsed"  # nobody took the place offered in time
    ERASE = "erase"  # `mailbot forget`
    EVENT_CHANGED = "event-changed"  # the event's date, times or venue changed in config.toml
    EVENT_CALLED_OFF = "event-called-off"  # `cancelled = true` in config.toml
    RECONFIRM_ASKED = "reconfirm-asked"  # `[booking] reconfirm` before the event
    RECONFIRMED = "reconfirmed"  # the attendee says yes, they are still coming
    RELEASED = "released"  # no answer within reconfirm_hours, and someone is waiting
    ATTENDED = "ATTENDED"  # the organiser records who came, from the event's start
    ABSENT = "ABSENT"


ACTIVE_STATUSES = frozenset({BookingStatus.CONFIRMED, BookingStatus.WAITLISTED, BookingStatus.HELD})


class Intent(StrEnum):
    """What a human sender wants."""

    BOOK = "book"  # a place for themselves (and perhaps named colleagues)
    CANCEL = "cancel"  # give up their place (words, or a calendar decline)
    AMEND = "amend"  # dietary or access needs for an existing booking
    QUESTION = "question"  # something for the organiser to answer
    ACKNOWLEDGE = "acknowledge"  # thanks, or a calendar acceptance: nothing to answer


class Disposition(StrEnum):
    """How the ledger records a handled inbound message."""

    ANSWERED = "answered"  # a decision was made and a reply queued
    IGNORED = "ignored"  # automated mail: recorded, never answered
    SET_ASIDE = "set-aside"  # malformed or repeatedly failing: kept for a human
    NOT_ANSWERED = "not-answered"  # from outside, not about booking: in the digest, unanswered


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger records about one inbound message."""

    source_key: str
    message_id: str | None
    sender_email: str | None
    disposition: Disposition
    reason: str
    outcome: str | None = None
    booking_ref: str | None = None
    # Kept only for mail set aside, so the organiser can find it in the mailbox: its subject
    # and Date, and its From line as written when no address could be read from it.
    subject: str | None = None
    sent_at: datetime | None = None
    from_line: str | None = None


@dataclass(frozen=True)
class RawMessage:
    """Bytes as a source delivered them, with the key that names them in that source."""

    source_key: str
    data: bytes


@dataclass(frozen=True)
class Address:
    """One mailbox from a header: the display name and the lower-cased address."""

    name: str
    email: str

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


@dataclass(frozen=True)
class InboundMail:
    """A parsed inbound message. `unreadable` is set when it cannot be handled at all."""

    source_key: str
    message_id: str | None
    sender: Address | None
    sender_problem: str | None  # why the From header cannot be trusted, if it cannot
    subject: str
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]  # (lower-cased name, value), in message order
    content_type: str
    text: str  # the readable body: text/plain, or HTML converted to text
    unreadable: str | None = None
    calendar: str | None = None  # a text/calendar part (e.g. a meeting reply), as text
    # The content types of every part, not looking inside attached messages (message/rfc822):
    # a report's machine-readable part shows what it is, wherever the sender nested it.
    part_types: frozenset[str] = frozenset()

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    def header_values(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key == wanted)


@dataclass(frozen=True)
class SenderDetails:
    """Who wrote, as far as the mail says. Unknown stays None, never guessed."""

    email: str
    name: str | None = None
    rank: str | None = None
    force: str | None = None
    unit: str | None = None
    phone: str | None = None  # read for the reply's sake, deliberately never stored


@dataclass(frozen=True)
class Authenticity:
    """Whether the sender's address can be believed, and why."""

    verified: bool
    summary: str  # e.g. "DMARC pass (mx.example.ac.uk)"


@dataclass(frozen=True)
class Interpretation:
    """What the words (and any calendar reply) of one mail ask for."""

    intent: Intent
    colleagues: tuple[SenderDetails, ...] = ()  # others to book, each at their own address
    include_sender: bool = True  # False when booking only on behalf of colleagues
    needs: str | None = None  # dietary or access needs, in the sender's words
    question: str | None = None  # the question for the organiser, in the sender's words
    # The words ask for a place (or the subject of a fresh mail names booking), rather than
    # a booking request being only what is left when nothing else fits.
    asks_for_place: bool = True


@dataclass(frozen=True)
class Request:
    """A human's request, ready for the booking rules."""

    intent: Intent
    sender: SenderDetails
    authenticity: Authenticity
    colleagues: tuple[SenderDetails, ...] = ()
    include_sender: bool = True
    needs: str | None = None
    question: str | None = None
    details_already_asked: bool = False  # this mail answers our details-needed question
    asks_for_place: bool = True  # see Interpretation


@dataclass(frozen=True)
class Automated:
    """Mail written by a machine: recorded, never answered."""

    reason: str


@dataclass(frozen=True)
class Unusable:
    """Mail that cannot be handled: set aside with its reason."""

    reason: str


Classification = Request | Automated | Unusable


_EVENT_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")


# The database keeps a capacity in a 32-bit INTEGER column (PostgreSQL's INTEGER): the most
# places config.toml or the organiser's CAPACITY may set.
LARGEST_CAPACITY = 2**31 - 1


def is_event_slug(text: str) -> bool:
    """Whether `text` can name an event: lower-case ASCII letters, digits and hyphens, not
    starting with a hyphen. config.toml accepts these and the organiser's commands read
    them, so any event configured can be named in a command (and in a file name)."""
    return _EVENT_SLUG.fullmatch(text) is not None


@dataclass(frozen=True)
class EventInfo:
    """An event as attendees see it. Times are aware datetimes in the event's zone."""

    slug: str
    title: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    capacity: int
    opens_at: datetime | None = None  # bookings taken from then (None: already open)
    closes_at: datetime | None = None  # and until then (None: until the event starts)
    places_per_force: int | None = None  # confirmed places one force may hold
    programme: str | None = None  # the day's running order, shown in reminders
    directions: str | None = None  # how to get there, shown in reminders
    bookings_per_sender: int | None = None  # places one request may take (self + colleagues)
    short_title: str | None = None  # for subjects, which mail clients cut short
    cancelled: bool = False  # called off: everyone booked is told, nobody new gets a place
    certificate: bool = False  # those recorded as having come get a certificate of attendance

    @property
    def subject_title(self) -> str:
        return self.short_title or self.title


@dataclass(frozen=True)
class BookingView:
    """A booking as the rules and the templates see it."""

    ref: str
    event_slug: str
    email: str
    status: BookingStatus
    name: str | None = None
    rank: str | None = None
    force: str | None = None
    waitlist_position: int | None = None
    unit: str | None = None
    offer_expires_at: datetime | None = None  # a freed place is held for them until then

    def has_offer(self, now: datetime) -> bool:
        return (
            self.status is BookingStatus.WAITLISTED
            and self.offer_expires_at is not None
            and now < self.offer_expires_at
        )


@dataclass(frozen=True)
class Snapshot:
    """The state the rules need, read inside the transaction that will apply the decision."""

    event: EventInfo
    confirmed_count: int
    waitlist_length: int
    waitlist_head: tuple[BookingView, ...]  # the first few waiting without an offer, in order
    senders_bookings: tuple[BookingView, ...]  # this sender's, newest first, with positions
    colleagues_bookings: Mapping[str, tuple[BookingView, ...]] = field(default_factory=dict)
    offers_open: int = 0  # places held for waitlisted people who were offered them
    force_counts: Mapping[str, int] = field(default_factory=dict)  # confirmed places by force

    @property
    def places_left(self) -> int:
        return max(0, self.event.capacity - self.confirmed_count - self.offers_open)


@dataclass(frozen=True)
class Policy:
    """The configured rules that decide eligibility and trust."""

    eligible_domains: tuple[str, ...]
    require_authentication: bool
    organiser_name: str
    organiser_email: str
    required_details: tuple[str, ...] = ("name", "force")  # SenderDetails fields
    offer_hours: int | None = None  # None: a freed place goes to the next person at once
    review_unknown: bool = False  # hold, rather than decline, senders from other domains


@dataclass(frozen=True)
class StatusChange:
    """An existing booking moves to a new status, for `cause`: the store refuses any change
    that rules/lifecycle.py's table does not list."""

    ref: str
    new_status: BookingStatus
    offer_expires_at: datetime | None = None  # set: an offer; the status stays waitlisted
    cause: Trigger = field(kw_only=True)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/csv"
    data: bytes = field(repr=False)
    charset: str | None = None  # for text: how a mail client should decode it


@dataclass(frozen=True)
class Notice:
    """One mail the decision sends. `in_reply` mails answer the inbound request's thread.

    `booking` is None for a reply about no booking of the sender's own (a cancellation from
    someone who holds none, a question, a request for missing details); `template` names
    the template then. `related` and `skipped` tell a sender what became of colleagues
    they asked to book.
    """

    outcome: Outcome
    booking: BookingView | None
    in_reply: bool = True
    template: str | None = None
    recipient: str | None = None  # defaults to the booking's address
    related: tuple[BookingView, ...] = ()
    skipped: tuple[str, ...] = ()  # "address: why not booked"
    missing: tuple[str, ...] = ()  # details we still need, for a details-needed reply
    summary: tuple[str, ...] = ()  # what each of the organiser's commands did
    attachments: tuple[Attachment, ...] = ()
    acted_by: Actor = Actor.ATTENDEE
    booked_by: SenderDetails | None = None  # the colleague who asked, when acted_by is COLLEAGUE
    previously: EventInfo | None = None  # for an `updated` notice: the event as it was
    # False: no calendar entry goes with it, whatever the outcome (e.g. an event called off
    # tells someone on the waitlist, who never had an entry to remove).
    invite: bool = True

    @property
    def template_name(self) -> str:
        return self.template or self.outcome.value

    @property
    def to(self) -> str:
        if self.recipient:
            return self.recipient
        if self.booking is None:
            raise ValueError("a notice without a booking needs a recipient")
        return self.booking.email


@dataclass(frozen=True)
class Decision:
    """What the rules decided about one request: state changes and the mails they cause."""

    outcome: Outcome
    reasons: tuple[str, ...]
    new_bookings: tuple[BookingView, ...] = ()
    changes: tuple[StatusChange, ...] = ()
    notices: tuple[Notice, ...] = ()
    needs: tuple[tuple[str, str], ...] = ()  # (booking ref, needs in the attendee's words)
    question: str | None = None  # for the organiser's digest
    capacities: tuple[tuple[str, int], ...] = ()  # (event slug, places) set by the organiser
    moves: tuple[tuple[str, str], ...] = ()  # (booking ref, event slug) moved by the organiser
    attendance: tuple[tuple[str, bool], ...] = ()  # (booking ref, came) recorded by the organiser
    certified: tuple[str, ...] = ()  # booking refs whose certificate goes with this decision

    @property
    def new_booking(self) -> BookingView | None:
        """The first booking created (the sender's own, when they booked for themselves)."""
        return self.new_bookings[0] if self.new_bookings else None


@dataclass(frozen=True)
class OutgoingMail:
    """A rendered mail, ready for the outbox. The Message-ID is fixed here, once."""

    message_id: str
    recipient: str
    outcome: Outcome
    booking_ref: str | None
    data: bytes = field(repr=False)
    # The source key of the inbound message it answers, when that is not the one being
    # handled: a newer mail taking the place of a reply that was withdrawn unsent.
    answers: str | None = None
