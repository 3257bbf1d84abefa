"""The small model tests/test_lifecycle_model.py checks the real pipeline against: who is
where, in what order people joined the waiting list, what each was last told, and who was
erased; and how to read the truth back (the booking table and the mails written)."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from sqlalchemy import Engine, text

from tests.harness import Reply

EVENT = "cse-forum-preston"
ORGANISER_ADDRESS = "organiser@example.ac.uk"
LIVE = frozenset({"confirmed", "waitlisted", "held"})

# The outcomes that may legitimately be the last mail someone got, for each state they are
# in now. "offered" is waitlisted with a place held for them; "none" is no booking at all.
LAST_OUTCOMES: dict[str, frozenset[str]] = {
    # promoted: a place passed on at once (no offers); duplicate: asked again while booked.
    # reconfirm: asked days before whether they still come; certificate: they came.
    "confirmed": frozenset({"confirmed", "promoted", "duplicate", "reconfirm", "certificate"}),
    "offered": frozenset({"promoted"}),
    "waitlisted": frozenset({"waitlisted", "duplicate"}),
    "held": frozenset({"held", "duplicate"}),
    # info: they wrote to cancel after that (nothing left to cancel).
    "declined": frozenset({"declined", "info"}),
    # info: an offer lapsed, or a cancellation when there was nothing left to cancel.
    # released: asked to reconfirm, silent for reconfirm_hours while someone waited.
    "cancelled": frozenset({"cancelled", "info", "released"}),
    "none": frozenset({"info"}),
}

_TOLD_POSITION = re.compile(r"you are number (\d+)")


@dataclass(frozen=True)
class Row:
    id: int
    email: str
    ref: str
    status: str
    waitlist_order: int | None
    offered: bool  # waitlisted, with a freed place held for them


@dataclass(frozen=True)
class Mark:
    """What reconfirmation and attendance recorded on a booking."""

    asked: bool
    reconfirmed: bool
    attended: bool | None
    certificate: bool


@dataclass(frozen=True)
class Truth:
    """The database as read after a step."""

    rows: tuple[Row, ...]
    capacity: int
    # Kept apart from rows: a yes changes these and nothing a booking's place depends on.
    marks: dict[str, Mark] = field(default_factory=dict)  # by ref

    def summary(self) -> str:
        """The bookings, for a failure's message."""
        rows = sorted(self.rows, key=lambda r: r.id)
        shown = ", ".join(
            f"{r.email.split('@')[0]} {r.status}{' offered' if r.offered else ''}" for r in rows
        )
        return f"capacity {self.capacity}: {shown}"

    def state_of(self, email: str) -> str:
        mine = [r for r in self.rows if r.email == email]
        live = [r for r in mine if r.status in LIVE]
        assert len(live) <= 1, f"{email} holds {len(live)} live bookings: {live}"
        if live:
            return "offered" if live[0].offered else live[0].status
        return max(mine, key=lambda r: r.id).status if mine else "none"

    def by_ref(self, ref: str | None) -> Row | None:
        return next((r for r in self.rows if r.ref == ref), None)

    def live(self, email: str) -> Row | None:
        return next((r for r in self.rows if r.email == email and r.status in LIVE), None)

    def holding(self) -> set[str]:
        """Refs holding a place: confirmed, or offered one."""
        return {r.ref for r in self.rows if r.status == "confirmed" or r.offered}

    def waitlist(self) -> list[Row]:
        """Everyone waiting, offered or not, in the order places pass on."""
        waiting = [r for r in self.rows if r.status == "waitlisted"]
        return sorted(waiting, key=lambda r: (r.waitlist_order or 0, r.id))

    def position(self, email: str) -> int | None:
        emails = [r.email for r in self.waitlist()]
        return emails.index(email) + 1 if email in emails else None


def read_truth(engine: Engine) -> Truth:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, email, ref, status, waitlist_order, offer_expires_at,"
                " reconfirm_asked_at, reconfirmed_at, attended, certificate_sent_at FROM booking"
                " WHERE event_slug = :slug"
            ),
            {"slug": EVENT},
        ).all()
        capacity, override = connection.execute(
            text("SELECT capacity, capacity_override FROM event WHERE slug = :slug"),
            {"slug": EVENT},
        ).one()
    return Truth(
        rows=tuple(
            Row(r.id, r.email, r.ref, r.status, r.waitlist_order, r.offer_expires_at is not None)
            for r in rows
        ),
        capacity=int(capacity if override is None else override),
        marks={
            r.ref: Mark(
                asked=r.reconfirm_asked_at is not None,
                reconfirmed=r.reconfirmed_at is not None,
                attended=None if r.attended is None else bool(r.attended),
                certificate=r.certificate_sent_at is not None,
            )
            for r in rows
        },
    )


# Every table the pipeline writes, children first; the event rows stay (config keeps them).
_TABLES = ("reminder_sent", "audit", "outbox", "question", "inbound_failure", "inbound")


def empty_database(engine: Engine) -> None:
    """Back to a new database's state, without the cost of making one for every example."""
    with engine.begin() as connection:
        for table in (*_TABLES, "job_run", "booking"):
            connection.execute(text(f"DELETE FROM {table}"))
        # The requests go out once per event: a new example must be able to send them again.
        connection.execute(
            text("UPDATE event SET capacity_override = NULL, reconfirm_sent_at = NULL")
        )


def mails_since(outbox: Path, seen: set[str]) -> list[Reply]:
    """The mails written to the outbox Maildir that are not in `seen` (file names), oldest
    first; parses only those, where Workspace.new_replies parses every mail every time."""
    found = []
    for sub in ("new", "cur"):
        folder = outbox / sub
        for path in folder.iterdir() if folder.exists() else ():
            if path.name.split(":")[0] not in seen:
                seen.add(path.name.split(":")[0])
                found.append((path.stat().st_mtime_ns, path.name, path.read_bytes()))
    replies = []
    for _, _, data in sorted(found):
        message = email.message_from_bytes(data, policy=default)
        assert isinstance(message, EmailMessage)
        booking = message["X-Mailbot-Booking"]
        replies.append(
            Reply(
                to=str(message["To"].addresses[0].addr_spec),
                outcome=str(message["X-Mailbot-Outcome"]),
                booking=str(booking) if booking else None,
                message=message,
            )
        )
    return replies


def told_position(reply: Reply) -> int | None:
    body = reply.message.get_body(("plain",))
    found = _TOLD_POSITION.search(body.get_content()) if body is not None else None
    return int(found.group(1)) if found else None


@dataclass
class Model:
    """What the people were told and did, kept by the test as the steps go by."""

    capacity: int
    step: int = 0
    now: datetime | None = None
    last_outcome: dict[str, str] = field(default_factory=dict)
    last_message_id: dict[str, str] = field(default_factory=dict)
    last_booking: dict[str, str | None] = field(default_factory=dict)  # the mail's booking
    told_position: dict[str, int] = field(default_factory=dict)
    joined: dict[str, int] = field(default_factory=dict)  # step at which they joined the list
    erased: set[str] = field(default_factory=set)
    requests_due: bool = False  # the reconfirmation window opens in this step
    asked: dict[str, datetime] = field(default_factory=dict)  # ref: when asked to reconfirm
    certificates: dict[str, int] = field(default_factory=dict)  # address: how many sent
    log: list[str] = field(default_factory=list)

    def heard(self, replies: list[Reply]) -> None:
        for reply in replies:
            if reply.to == ORGANISER_ADDRESS:
                continue
            self.last_outcome[reply.to] = reply.outcome
            self.last_message_id[reply.to] = str(reply.message["Message-ID"])
            self.last_booking[reply.to] = reply.booking
            position = told_position(reply)
            if position is not None:
                self.told_position[reply.to] = position

    def moved(self, before: Truth, after: Truth) -> None:
        """Keep the joining order: who joined the waiting list in this step."""
        was_waiting = {r.email for r in before.waitlist()}
        now_waiting = {r.email for r in after.waitlist()}
        for address in now_waiting - was_waiting:
            self.joined[address] = self.step
        for address in set(self.joined) - now_waiting:
            del self.joined[address]
            self.told_position.pop(address, None)
