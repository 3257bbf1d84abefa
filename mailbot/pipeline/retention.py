"""Erase personal data that is no longer needed: an event's bookings after its retention
period, or one person's everywhere on request. Counts stay; names and addresses go."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from mailbot.domain import EventInfo
from mailbot.inbound.commands import Verb
from mailbot.pipeline.context import Handling
from mailbot.pipeline.notices import apply_and_tell
from mailbot.records import PersonRecord
from mailbot.rules.organiser import plan_end
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


def forget(store: Store, ctx: Handling, email: str, now: datetime) -> int:
    """Erase one person now, whatever the event: their bookings, mail and questions.

    Their bookings are cancelled first, as any cancellation is, so a place they held passes
    down the waitlist (whoever gets it is told); nothing is written to them. Returns how
    many bookings were erased."""
    address = email.lower()
    refs = [booking.view.ref for booking in store.bookings_of_person(address)]
    by_slug = {event.slug: event for event in ctx.events}
    with store.transaction() as tx:
        for ref in refs:
            booking = tx.booking_view(ref)
            event = by_slug.get(booking.event_slug) if booking else None
            if booking is None or event is None:
                continue
            planned = plan_end(
                booking, tx.snapshot(event, address), Verb.CANCEL, ctx.policy, now, erasing=True
            )
            if isinstance(planned, str):
                continue  # already ended: nothing to pass on
            # The table sends an erased person nothing; whoever gets their place is told.
            decision = replace(planned.decision, reasons=("cancelled on request, to be erased",))
            apply_and_tell(tx, ctx.writer, decision, event, now)
    return erase_bookings(store, refs, now)


def what_we_hold(store: Store, email: str) -> PersonRecord:
    """Everything held about one address, for a subject access request."""
    return held_about(store, email.lower())
