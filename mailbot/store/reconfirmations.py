"""Reconfirmation as a unit of work sees it: who was asked to say they are still coming, who
did, and when each event's requests went out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select

from mailbot.domain import BookingStatus
from mailbot.records import Reconfirmation
from mailbot.store import queries as q
from mailbot.store.rows import booking_view
from mailbot.store.tables import BookingRow, EventRow
from mailbot.store.unit_of_work import UnitOfWork

_CONFIRMED = BookingStatus.CONFIRMED.value


class Reconfirmations(UnitOfWork):
    def reconfirm_requests_sent_at(self, slug: str) -> datetime | None:
        row = self._session.get(EventRow, slug)
        return None if row is None else row.reconfirm_sent_at

    def reconfirmations(self, slug: str) -> list[Reconfirmation]:
        """The event's confirmed bookings, oldest first, with where each stands."""
        rows = self._session.exec(
            select(BookingRow)
            .where(BookingRow.event_slug == slug, BookingRow.status == _CONFIRMED)
            .order_by(col(BookingRow.id))
        ).all()
        return [
            Reconfirmation(booking_view(row), row.reconfirm_asked_at, row.reconfirmed_at)
            for row in rows
        ]

    def record_reconfirm_asked(self, slug: str, refs: Sequence[str], now: datetime) -> None:
        """The event's requests went out, to these bookings; nobody confirmed later is asked."""
        event = self._session.get(EventRow, slug)
        assert event is not None
        event.reconfirm_sent_at = now
        self._session.add(event)
        for row in self._session.exec(select(BookingRow).where(col(BookingRow.ref).in_(refs))):
            row.reconfirm_asked_at = now
            self._session.add(row)
            self._audit(now, row.ref, "system", "asked to reconfirm", ())
        self.flush()

    def awaiting_reconfirmation(self, email: str) -> str | None:
        """The reference of this person's confirmed booking that was asked and not answered."""
        rows = self._rows(q.AWAITING_RECONFIRMATION, {"email": email})
        return str(rows[0].ref) if rows else None

    def certificate_sent(self, ref: str) -> bool:
        row = self._session.exec(select(BookingRow).where(BookingRow.ref == ref)).one()
        return row.certificate_sent_at is not None

    def record_reconfirmed(self, ref: str, now: datetime) -> None:
        row = self._session.exec(select(BookingRow).where(BookingRow.ref == ref)).one()
        row.reconfirmed_at = now
        self._session.add(row)
        self._audit(now, ref, row.email, "reconfirmed", ())
        self.flush()
