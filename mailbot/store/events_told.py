"""What each event's attendees were last told, read and recorded inside a unit of work: a
change to the event in config.toml is sent in the same transaction that records it as told,
so it is sent once, across restarts and crashes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlmodel import select

from mailbot.domain import EventInfo
from mailbot.store.tables import EventRow
from mailbot.store.unit_of_work import UnitOfWork


def as_told(row: EventRow, event: EventInfo) -> EventInfo:
    """`event` with what the row says its attendees were told."""
    zone = event.starts_at.tzinfo
    starts = row.told_starts_at or row.starts_at
    ends = row.told_ends_at or row.ends_at
    return replace(
        event,
        starts_at=starts.astimezone(zone),
        ends_at=ends.astimezone(zone),
        venue=row.told_venue if row.told_venue is not None else row.venue,
        cancelled=row.called_off_at is not None,
    )


class EventsTold(UnitOfWork):
    def event_as_told(self, event: EventInfo) -> EventInfo:
        """`event` with the date, times and venue its attendees were last told, and whether
        they were told it is called off. Takes the event's lock, as a booking does."""
        statement = select(EventRow).where(EventRow.slug == event.slug)
        if self.serialise:
            statement = statement.with_for_update()
        row = self._session.exec(statement).one()
        return as_told(row, event)

    def record_told(self, event: EventInfo, now: datetime) -> None:
        """Attendees have now been told `event` as it is configured."""
        row = self._session.exec(select(EventRow).where(EventRow.slug == event.slug)).one()
        row.told_starts_at = event.starts_at
        row.told_ends_at = event.ends_at
        row.told_venue = event.venue
        if event.cancelled and row.called_off_at is None:
            row.called_off_at = now
        elif not event.cancelled:
            # Reopened: calling it off again is news to those who have booked since.
            row.called_off_at = None
        self._session.add(row)
        self.flush()
