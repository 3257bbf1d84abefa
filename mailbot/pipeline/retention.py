"""Erase personal data that is no longer needed: an event's bookings after its retention
period, or one person's everywhere on request. Counts stay; names and addresses go; and,
where the administrator asks, mailbot's own filed copies of the mail go with them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mailbot.domain import EventInfo
from mailbot.errors import OperationalError
from mailbot.inbound.commands import Verb
from mailbot.mail.base import MailSource
from mailbot.mail.filed import FiledFolder, FiledRemoval
from mailbot.pipeline.context import Handling
from mailbot.pipeline.notices import apply_and_tell
from mailbot.records import PersonRecord
from mailbot.rules.organiser import plan_end
from mailbot.store.erased_mail import erased_message_ids
from mailbot.store.people import erase_bookings, held_about
from mailbot.store.store import Store

log = logging.getLogger("mailbot.retention")


@dataclass(frozen=True)
class RetentionSummary:
    """What one retention run did. `filed` is None when removing filed mail is off, or
    could not be done this time (`filing_problem` says why)."""

    erased: int
    filed: FiledRemoval | None = None
    filing_problem: str | None = None

    def line(self) -> str:
        parts = [f"{self.erased} booking(s) erased"]
        if self.filed is not None:
            parts.append(f"{self.filed.removed} filed message(s) removed")
            if self.filed.flagged:
                parts.append(f"{self.filed.flagged} flagged \\Deleted for the server to expunge")
        if self.filing_problem is not None:
            parts.append(f"filed mail not removed: {self.filing_problem}")
        return ", ".join(parts)


def apply_retention(
    store: Store,
    source: MailSource,
    events: tuple[EventInfo, ...],
    *,
    days: int,
    remove_filed: bool,
    now: datetime,
) -> RetentionSummary:
    """The nightly run: erase the ended events' people, then (when `remove_filed`) the
    filed copies of every mail whose record has been erased.

    The database goes first, and the copies are found from it every time: a mail server
    that cannot be reached leaves them for the next run, and nothing is lost track of."""
    erased = erase_ended_events(store, events, days, now)
    if not remove_filed:
        return RetentionSummary(erased)
    try:
        filed = remove_filed_mail(store, source, days, now)
    except OperationalError as exc:
        log.warning("filed mail not removed, tried again at the next run: %s", exc)
        return RetentionSummary(erased, None, str(exc))
    return RetentionSummary(erased, filed)


def remove_filed_mail(store: Store, source: MailSource, days: int, now: datetime) -> FiledRemoval:
    """Remove mailbot's own filed copies of what the database no longer holds.

    From Processed and Quarantine: each copy whose Message-ID belongs to a ledger entry
    whose sender was erased (by retention or by `forget`). From Quarantine also: each copy
    that arrived more than `days` days ago, as mail that could not be read is tied to no
    booking and so to no event. Mail without a Message-ID in Processed cannot be matched
    exactly and stays. The inbox and every other folder are never touched."""
    erased = erased_message_ids(store)
    processed = source.remove_filed(FiledFolder.PROCESSED, erased)
    quarantined = source.remove_filed(
        FiledFolder.QUARANTINE, erased, arrived_before=now - timedelta(days=days)
    )
    return processed + quarantined


def events_due(
    events: tuple[EventInfo, ...], retention_days: int, now: datetime
) -> list[EventInfo]:
    """The events that ended more than `retention_days` ago: their people are erased."""
    return [e for e in events if e.ends_at + timedelta(days=retention_days) <= now]


def erase_ended_events(
    store: Store, events: tuple[EventInfo, ...], retention_days: int, now: datetime
) -> int:
    """Erase the people of every event that ended more than `retention_days` ago."""
    ended = [e.slug for e in events_due(events, retention_days, now)]
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
