"""Reconfirmation as units of work, run with the reminders: each event's requests sent once
at the offset, and unanswered places released to those waiting once `hours` have passed."""

from __future__ import annotations

import logging
from datetime import datetime

from mailbot.pipeline.context import Handling
from mailbot.pipeline.notices import apply_and_tell
from mailbot.rules.reconfirm import plan_releases, plan_requests, requests_due
from mailbot.store.bookings import WAITLIST_HEAD
from mailbot.store.store import Store

log = logging.getLogger("mailbot.reconfirm")


def reconfirm_and_release(
    store: Store,
    ctx: Handling,
    now: datetime,
    *,
    offset: str | None,
    hours: int,
    dry_run: bool = False,
) -> list[str]:
    """Send the requests that are due and release what lapsed; one line for each thing done.
    Nothing when `offset` is None (reconfirmation is off). With `dry_run`, the lines say what
    would be done, and nothing is written or sent."""
    if offset is None:
        return []
    done: list[str] = []
    for event in ctx.events:
        if event.cancelled:
            continue
        with store.transaction() as tx:
            if requests_due(event, offset, tx.reconfirm_requests_sent_at(event.slug), now):
                notices = plan_requests(tx.reconfirmations(event.slug), hours)
                refs = [n.booking.ref for n in notices if n.booking]
                verb = "would ask" if dry_run else "asked"
                done += [f"{verb} {n.to} to reconfirm" for n in notices]
                if not dry_run:
                    mails = ctx.writer.write(notices, None, now, default_event=event)
                    tx.queue(mails, sender_address=ctx.from_address, now=now)
                    tx.record_reconfirm_asked(event.slug, refs, now)
        with store.transaction() as tx:
            attendees = tx.reconfirmations(event.slug)
            head = max(WAITLIST_HEAD, len(attendees))
            snapshot = tx.snapshot(event, "", waitlist_head=head)
            decision = plan_releases(attendees, snapshot, ctx.policy, hours, now)
            if decision is None:
                continue
            if dry_run:
                done.append("would release " + "; ".join(decision.reasons))
                continue
            apply_and_tell(tx, ctx.writer, decision, event, now)
            done += list(decision.reasons)
    if not dry_run:
        for line in done:
            log.info("%s", line)
    return done
