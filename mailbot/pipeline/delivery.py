"""Drain the outbox through a sink: claim, send, mark; retry what may succeed later."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from mailbot.errors import (
    OperationalError,
    PermanentDeliveryError,
    ServerUnavailableError,
    TransientDeliveryError,
)
from mailbot.mail.base import MailSink
from mailbot.store.outbox import CLAIM_BATCH, Claimed, Outbox
from mailbot.store.tables import FAILED

log = logging.getLogger("mailbot.delivery")


@dataclass(frozen=True)
class DeliverySummary:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    requeued: int = 0
    stopped_by: str | None = None  # why draining stopped early, if it did

    def __add__(self, later: DeliverySummary) -> DeliverySummary:
        return DeliverySummary(
            sent=self.sent + later.sent,
            deferred=self.deferred + later.deferred,
            failed=self.failed + later.failed,
            requeued=self.requeued + later.requeued,
            stopped_by=later.stopped_by,
        )

    def line(self) -> str:
        """One line for `mailbot status` and `mailbot deliver`."""
        line = f"sent {self.sent}, deferred {self.deferred}, failed {self.failed}"
        return f"{line}; paused: {self.stopped_by}" if self.stopped_by else line


def deliver_pending(
    outbox: Outbox,
    sink: MailSink,
    clock: Callable[[], datetime],
    should_stop: Callable[[], bool] = lambda: False,
) -> DeliverySummary:
    """Send every due mail. A mail the server turns away for now waits with backoff; when the
    server itself is unavailable, or sending cannot work at all, the drain stops and
    everything stays queued for the next run.

    `should_stop` is asked before each mail; when it says so, the mails claimed but not yet
    tried are given back at once instead of waiting out the claim's lease.
    """
    requeued = outbox.requeue_abandoned(clock())
    sent = deferred = failed = 0
    more = True
    while more and (batch := outbox.claim(clock())):
        # A short batch was all that was due: what is queued later waits for the next drain
        # rather than costing another claim now.
        more = len(batch) == CLAIM_BATCH
        for index, claimed in enumerate(batch):
            if should_stop():
                reason = "delivery stopped before this mail"
                failed += _give_back(outbox, batch[index:], clock, reason)
                return DeliverySummary(sent, deferred, failed, requeued, stopped_by="stopped")
            try:
                sink.deliver(claimed.sender, [claimed.recipient], claimed.data)
            except PermanentDeliveryError as exc:
                outbox.mark_failed(claimed, clock(), str(exc))
                failed += 1
                log.warning("delivery of %s failed for good: %s", claimed.message_id, exc)
                continue
            except ServerUnavailableError as exc:
                log.warning("mail server unavailable, delivery paused: %s", exc)
                failed += _give_back(outbox, batch[index:], clock, str(exc))
                return DeliverySummary(sent, deferred, failed, requeued, stopped_by=str(exc))
            except TransientDeliveryError as exc:
                # This mail only (a 4xx for it, or its connection dropped): later, with backoff.
                if outbox.mark_retry(claimed, clock(), str(exc)) == FAILED:
                    failed += 1
                else:
                    deferred += 1
                log.warning("delivery of %s deferred: %s", claimed.message_id, exc)
                continue
            except OperationalError as exc:
                # Not the mail's fault (a rejected login, a full disk): stop and keep it queued.
                log.warning("delivery stopped: %s", exc)
                failed += _give_back(outbox, batch[index:], clock, str(exc))
                return DeliverySummary(sent, deferred, failed, requeued, stopped_by=str(exc))
            outbox.mark_sent(claimed, clock())
            sent += 1
            log.info("sent %s to %s", claimed.message_id, _masked(claimed.recipient))
    return DeliverySummary(sent, deferred, failed, requeued)


def _give_back(
    outbox: Outbox, untried: list[Claimed], clock: Callable[[], datetime], reason: str
) -> int:
    """Return claimed mails to the queue untried; how many of them it failed instead (queued
    for too long to try again)."""
    return sum(outbox.release(claimed, clock(), reason) == FAILED for claimed in untried)


def _masked(address: str) -> str:
    """Enough of an address to follow a log without writing it out in full."""
    local, _, domain = address.partition("@")
    return f"{local[:2]}***@{domain}"
