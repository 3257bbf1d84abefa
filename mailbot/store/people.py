"""What the database holds about people: erased booking by booking (names and addresses go,
the places still count), and listed for one address (a subject access request)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from mailbot.records import PersonRecord
from mailbot.store.rows import booking_record, question
from mailbot.store.store import Store
from mailbot.store.tables import QUEUED, AuditRow, BookingRow, InboundRow, OutboxRow, QuestionRow

ERASED = "erased"
_ERASED_DOMAIN = "@erased.invalid"


def _erased_address(ref: str) -> str:
    # The column cannot be empty; this keeps rows countable and matches nobody.
    return f"{ref.lower()}{_ERASED_DOMAIN}"


def erase_bookings(store: Store, refs: Iterable[str], now: datetime) -> int:
    """Erase the person behind each booking, wherever the database mentions their address:
    the booking keeps its place and status, mail to them its envelope but not its body, the
    ledger and the audit trail their entries but not who. How many were erased now."""
    erased = 0
    with store.writing() as connection, Session(bind=connection) as session:
        for ref in refs:
            row = session.exec(select(BookingRow).where(BookingRow.ref == ref)).first()
            if row is None or row.email.endswith(_ERASED_DOMAIN):
                continue
            email = row.email
            row.email = _erased_address(row.ref)
            row.name = row.rank = row.unit = row.needs = row.undeliverable = None
            row.updated_at = now
            session.add(row)
            # Mail not yet sent to them never will be: nothing goes to an erased address.
            session.execute(
                delete(OutboxRow).where(
                    col(OutboxRow.recipient) == email, col(OutboxRow.status) == QUEUED
                )
            )
            session.execute(
                update(OutboxRow)
                .where(col(OutboxRow.recipient) == email)
                .values(data=b"", recipient=row.email)
            )
            session.execute(
                update(InboundRow)
                .where(col(InboundRow.sender_email) == email)
                .values(sender_email=None, reason=ERASED, subject=None, from_line=None)
            )
            for asked in session.exec(select(QuestionRow).where(QuestionRow.email == email)):
                session.delete(asked)
            session.execute(
                update(AuditRow).where(col(AuditRow.actor) == email).values(actor=ERASED)
            )
            erased += 1
        session.flush()
    return erased


def held_about(store: Store, email: str) -> PersonRecord:
    """Everything held about one address (as given: addresses are kept lower-cased)."""
    with store.reading() as connection, Session(bind=connection) as session:
        bookings = session.exec(select(BookingRow).where(BookingRow.email == email)).all()
        questions = session.exec(select(QuestionRow).where(QuestionRow.email == email)).all()
        received = session.exec(select(func.count()).where(InboundRow.sender_email == email)).one()
        sent = session.exec(select(func.count()).where(OutboxRow.recipient == email)).one()
        return PersonRecord(
            bookings=tuple(booking_record(row) for row in bookings),
            questions=tuple(question(row) for row in questions),
            mails_received=int(received),
            mails_sent=int(sent),
        )
