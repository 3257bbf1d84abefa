"""Changes to the events in config.toml told to those they affect: one unit of work per event,
which plans with rules/event_news.py, writes and queues the mail, and records the event as
told, so each change is sent once whatever restarts or crashes come between."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from mailbot.domain import EventInfo
from mailbot.pipeline.context import Handling
from mailbot.pipeline.notices import apply_and_tell
from mailbot.rules.event_news import plan_event_news
from mailbot.store.store import Store

log = logging.getLogger("mailbot.events")


def announce_event_changes(
    store: Store, events: tuple[EventInfo, ...], handling: Callable[[], Handling], now: datetime
) -> Counter[str]:
    """Tell each event's attendees of a new date, times or venue, or that it is called off.
    `handling` is asked only when there is news: an idle poll loads no templates."""
    told: Counter[str] = Counter()
    news = store.events_with_news(events)
    if not news:
        return told
    ctx = handling()
    for event in news:
        with store.transaction() as tx:
            as_told = tx.event_as_told(event)
            if as_told == event:
                continue  # another process told them first
            bookings = [record.view for record in tx.bookings_for(event.slug)]
            decision = plan_event_news(as_told, event, bookings)
            if decision is not None:
                sent = apply_and_tell(tx, ctx.writer, decision, event, now)
                told[f"event {decision.outcome.value}"] += sent
                log.info("%s: %s, %d told", event.slug, decision.reasons[0], sent)
            tx.record_told(event, now)
    return told
