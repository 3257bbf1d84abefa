"""Erase personal data that is no longer needed: an event's bookings after its retention
period, or one person's everywhere on request. Counts stay; names and addresses go."""

from __future__ import annotations

from datetime import datetime, timedelta

from mailbot.domain import EventInfo
from mailbot.records import PersonRecord
from mailbot.store.people import erase_bookings, held_about
from mailbot.store.store import Store


def erase_ended_events(
    store: Store, events: tuple[EventInfo, ...], retention_days: int, now: datetime
) -> int:
    """Erase the people of every event that ended more than `retention_days` ago."""
    ended = [e.slug for e in events if e.ends_at + timedelta(days=retention_days) <= now]
    if not ended:
        return 0
    bookings = store.bookings_for_events(ended)
    return erase_bookings(store, [booking.view.ref for booking in bookings], now)


def forget(store: Store, email: str, now: datetime) -> int:
    """Erase one person now, whatever the event: their bookings, mail and questions."""
    bookings = store.bookings_of_person(email.lower())
    return erase_bookings(store, [booking.view.ref for booking in bookings], now)


def what_we_hold(store: Store, email: str) -> PersonRecord:
    """Everything held about one address, for a subject access request."""
    return held_about(store, email.lower())
