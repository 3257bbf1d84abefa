"""Erase personal data that is no longer needed: an event's bookings after its retention
period, or one person's everywhere on request. Counts stay; names and addresses go."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select

from mailbot.domain import EventInfo
from mailbot.store.store import Store
from mailbot.store.tables import AuditRow, BookingRow, InboundRow, OutboxRow, QuestionRow

ERASED = "erased"


def _erased_address(ref: str) -> str:
    # The column cannot be empty; this keeps rows countable and matches nobody.
    return f"{ref.lower()}@erased.invalid"


def _erase_bookings(store: Store, rows: Iterable[BookingRow], now: datetime) -> int:
    erased = 0
    with store.transaction() as tx:
        for row in rows:
            fresh = tx.session.get(BookingRow, row.id)
            if fresh is None or fresh.email.endswith("@erased.invalid"):
                continue
            email = fresh.email
            fresh.email = _erased_address(fresh.ref)
            fresh.name = fresh.rank = fresh.unit = fresh.needs = fresh.undeliverable = None
            fresh.updated_at = now
            tx.session.add(fresh)
            tx.session.execute(
                update(OutboxRow)
                .where(col(OutboxRow.recipient) == email)
                .values(data=b"", recipient=fresh.email)
            )
            tx.session.execute(
                update(InboundRow)
                .where(col(InboundRow.sender_email) == email)
                .values(sender_email=None, reason=ERASED)
            )
            for question in tx.session.exec(select(QuestionRow).where(QuestionRow.email == email)):
                tx.session.delete(question)
            tx.session.execute(
                update(AuditRow).where(col(AuditRow.actor) == email).values(actor=ERASED)
            )
            erased += 1
    return erased


def erase_ended_events(
    store: Store, events: tuple[EventInfo, ...], retention_days: int, now: datetime
) -> int:
    """Erase the people of every event that ended more than `retention_days` ago."""
    ended = [e.slug for e in events if e.ends_at + timedelta(days=retention_days) <= now]
    if not ended:
        return 0
    rows = store.bookings_for_events(ended)
    return _erase_bookings(store, rows, now)


def forget(store: Store, email: str, now: datetime) -> int:
    """Erase one person now, whatever the event: their bookings, mail and questions."""
    return _erase_bookings(store, store.bookings_of_person(email.lower()), now)


@dataclass(frozen=True)
class PersonRecord:
    bookings: tuple[BookingRow, ...]
    questions: tuple[QuestionRow, ...]
    mails_received: int
    mails_sent: int


def what_we_hold(store: Store, email: str) -> PersonRecord:
    """Everything held about one address, for a subject access request."""
    address = email.lower()
    bookings = tuple(store.bookings_of_person(address))
    with store.transaction() as tx:
        questions = tuple(
            tx.session.exec(select(QuestionRow).where(QuestionRow.email == address)).all()
        )
        received = tx.session.exec(
            select(func.count()).where(InboundRow.sender_email == address)
        ).one()
        sent = tx.session.exec(select(func.count()).where(OutboxRow.recipient == address)).one()
    return PersonRecord(bookings, questions, received, sent)
