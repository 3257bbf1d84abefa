"""What a change to an event in config.toml means for its bookings: a new date, times or
venue is news for everyone holding a place or waiting for one; an event called off ends every
live booking. Pure: the event as last told and as configured in, one Decision out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from mailbot.domain import (
    Actor,
    BookingStatus,
    BookingView,
    Decision,
    EventInfo,
    Notice,
    Outcome,
    StatusChange,
    Trigger,
)
from mailbot.rules import lifecycle
from mailbot.rules.lifecycle import Party


def moved(told: EventInfo, configured: EventInfo) -> bool:
    """Whether what attendees need to be somewhere (date, times, venue) changed."""
    return (told.starts_at, told.ends_at, told.venue.strip()) != (
        configured.starts_at,
        configured.ends_at,
        configured.venue.strip(),
    )


def plan_event_news(
    told: EventInfo, configured: EventInfo, bookings: Sequence[BookingView]
) -> Decision | None:
    """The changes and the mail for those affected, or None when there is no news.

    Called off: each live booking is cancelled and its holder told, with a calendar
    cancellation for those who had an entry (the confirmed). Moved: those the lifecycle
    names are told, with the calendar entry moved for the confirmed. Once called off, a
    later move is news to nobody.
    """
    if configured.cancelled and not told.cancelled:
        return _called_off(configured, bookings)
    if told.cancelled or configured.cancelled or not moved(told, configured):
        return None
    notices = []
    for booking in bookings:
        source = lifecycle.stage(booking.status, booking.offer_expires_at)
        if not lifecycle.allows(source, Trigger.EVENT_CHANGED):
            continue  # held: not yet anyone's place; ended: nothing to move
        row = lifecycle.step(source, Trigger.EVENT_CHANGED, Party.SYSTEM)
        assert row.notice is not None
        notices.append(
            Notice(row.notice, booking, in_reply=False, acted_by=Actor.SYSTEM, previously=told)
        )
    if not notices:
        return None
    return Decision(
        Outcome.UPDATED,
        (f"{configured.slug}: date, times or venue changed in the configuration",),
        notices=tuple(notices),
    )


def _called_off(event: EventInfo, bookings: Sequence[BookingView]) -> Decision:
    changes = []
    notices = []
    for booking in bookings:
        source = lifecycle.stage(booking.status, booking.offer_expires_at)
        if not lifecycle.allows(source, Trigger.EVENT_CALLED_OFF):
            continue
        row = lifecycle.step(source, Trigger.EVENT_CALLED_OFF, Party.SYSTEM)
        assert row.target is not None and row.notice is not None
        status = lifecycle.status_of(row.target)
        ended = replace(booking, status=status, waitlist_position=None, offer_expires_at=None)
        changes.append(StatusChange(booking.ref, status, cause=Trigger.EVENT_CALLED_OFF))
        had_entry = booking.status is BookingStatus.CONFIRMED
        notices.append(
            Notice(row.notice, ended, in_reply=False, acted_by=Actor.SYSTEM, invite=had_entry)
        )
    return Decision(
        Outcome.EVENT_CANCELLED,
        (f"{event.slug} called off in the configuration",),
        changes=tuple(changes),
        notices=tuple(notices),
    )
