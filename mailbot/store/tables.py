"""The database tables, as SQLModel classes. Migrations in store/migrations create them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

from mailbot.store.types import UtcDateTime


class EventRow(SQLModel, table=True):
    """One event; its row is also the lock that serialises bookings for it."""

    __tablename__ = "event"

    slug: str = Field(primary_key=True, max_length=100)
    title: str = Field(sa_column=Column(Text, nullable=False))
    starts_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    ends_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    venue: str = Field(sa_column=Column(Text, nullable=False))
    capacity: int  # from the configuration
    capacity_override: int | None = None  # set by the organiser; wins over the configuration
    # What attendees were last told (migration 0010): the configuration moving away from it
    # is news to send, recorded in the transaction that queues the mail.
    told_starts_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    told_ends_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    told_venue: str | None = Field(default=None, sa_column=Column(Text))
    called_off_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    reconfirm_sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))

    @property
    def places(self) -> int:
        return self.capacity if self.capacity_override is None else self.capacity_override


class BookingRow(SQLModel, table=True):
    """A person's booking for an event, whatever its status."""

    __tablename__ = "booking"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=20, unique=True)
    # Indexed with status (ix_booking_event_queue) and with email (ix_booking_email_event),
    # both made by migration 0007.
    event_slug: str = Field(foreign_key="event.slug", max_length=100)
    email: str = Field(max_length=320)
    name: str | None = Field(default=None, max_length=200)
    rank: str | None = Field(default=None, max_length=100)
    force: str | None = Field(default=None, max_length=200)
    unit: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=20, index=True)
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    needs: str | None = Field(default=None, sa_column=Column(Text))
    undeliverable: str | None = Field(default=None, sa_column=Column(Text))
    undeliverable_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    # A waitlisted booking offered a freed place: the place is held for them until then.
    offer_expires_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    # While waitlisted: its place in the event's queue, numbered as people join (migration
    # 0009). Places pass on in this order, so a position someone was told never gets worse.
    waitlist_order: int | None = None
    # Reconfirmation (migration 0011): asked to say they are still coming, and when they did.
    reconfirm_asked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    reconfirmed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    released_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    attended: bool | None = None  # recorded by the organiser from the event's start
    certificate_sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


class QuestionRow(SQLModel, table=True):
    """A question an attendee asked, waiting for the organiser's digest."""

    __tablename__ = "question"

    id: int | None = Field(default=None, primary_key=True)
    asked_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    event_slug: str = Field(foreign_key="event.slug", max_length=100)
    email: str = Field(max_length=320)
    name: str | None = Field(default=None, max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    inbound_id: int | None = Field(default=None, foreign_key="inbound.id")
    digested_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


class InboundRow(SQLModel, table=True):
    """The ledger: one row per inbound message handled, whatever became of it."""

    __tablename__ = "inbound"

    id: int | None = Field(default=None, primary_key=True)
    source_key: str = Field(max_length=500, unique=True)
    message_id: str | None = Field(default=None, max_length=998, index=True)
    sender_email: str | None = Field(default=None, max_length=320)
    disposition: str = Field(max_length=20)
    outcome: str | None = Field(default=None, max_length=30)
    booking_ref: str | None = Field(default=None, max_length=20)
    reason: str = Field(sa_column=Column(Text, nullable=False, default=""))
    handled_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    # Mail set aside only: what the digest shows to find it in the mailbox (domain.LedgerEntry).
    subject: str | None = Field(default=None, sa_column=Column(Text))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    from_line: str | None = Field(default=None, sa_column=Column(Text))


class FailureRow(SQLModel, table=True):
    """Attempts that crashed on one inbound message, kept outside the failed transaction."""

    __tablename__ = "inbound_failure"

    source_key: str = Field(primary_key=True, max_length=500)
    attempts: int = 0
    last_error: str = Field(sa_column=Column(Text, nullable=False, default=""))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


# The states of an outgoing mail (see store/outbox.py): queued -> sending -> sent, or back to
# queued, or failed.
QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
WITHDRAWN = "withdrawn"  # never sent: newer news about the same booking took its place


class OutboxRow(SQLModel, table=True):
    """A mail waiting for, in, or done with delivery. One Message-ID for its whole life."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=998, unique=True)
    inbound_id: int | None = Field(default=None, foreign_key="inbound.id", index=True)
    booking_ref: str | None = Field(default=None, max_length=20, index=True)
    outcome: str = Field(max_length=30)
    sender: str = Field(max_length=320)
    recipient: str = Field(max_length=320)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(max_length=20, index=True)  # queued, sending, sent, failed, withdrawn
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    claimed_by: str | None = Field(default=None, max_length=200)
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


class AuditRow(SQLModel, table=True):
    """Every state change: when, by whom, and why."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    booking_ref: str | None = Field(default=None, max_length=20, index=True)
    actor: str = Field(max_length=320)
    action: str = Field(max_length=50)
    detail: str = Field(sa_column=Column(Text, nullable=False, default=""))


class JobRunRow(SQLModel, table=True):
    """When a scheduled job (poll, digest, reminders, retention) last ran, for `status`."""

    __tablename__ = "job_run"

    name: str = Field(primary_key=True, max_length=50)
    last_started_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    last_finished_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    last_result: str | None = Field(default=None, sa_column=Column(Text))


class ReminderSentRow(SQLModel, table=True):
    """One reminder offset dealt with for one booking: sent, or skipped for a later one."""

    __tablename__ = "reminder_sent"

    ref: str = Field(primary_key=True, max_length=20)
    offset_label: str = Field(primary_key=True, max_length=10)
    sent_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    skipped: bool = False
