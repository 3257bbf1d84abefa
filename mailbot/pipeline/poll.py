"""The pipeline: poll the inbox once, handling each message in isolation, then drain the outbox."""

from __future__ import annotations

import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mailbot.domain import (
    Automated,
    Disposition,
    RawMessage,
)
from mailbot.errors import AlreadyRecordedError, InboxFilingError, OperationalError
from mailbot.inbound.classify import classify
from mailbot.inbound.classify.bounce import Bounce, bounce_report
from mailbot.inbound.parse import parse
from mailbot.mail.base import MailSink, MailSource
from mailbot.outbound.render import make_environment
from mailbot.outbound.replies import ReplyWriter
from mailbot.pipeline.context import Handling, PipelineSettings, Scheduled
from mailbot.pipeline.courier import Courier
from mailbot.pipeline.delivery import DeliverySummary, deliver_pending
from mailbot.pipeline.event_news import announce_event_changes
from mailbot.pipeline.handling import answer, note_bounce, set_aside_after_failures
from mailbot.pipeline.notices import apply_and_tell
from mailbot.pipeline.organiser_mail import organiser_commands
from mailbot.refs import random_ref
from mailbot.rules.organiser import CommandsResult
from mailbot.rules.waitlist import expire_offer
from mailbot.store.outbox import Outbox
from mailbot.store.store import Store

if TYPE_CHECKING:
    import jinja2

log = logging.getLogger("mailbot.poll")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class PollSummary:
    """What one poll did, for the one-line summary and the tests."""

    results: Counter[str] = field(default_factory=Counter)
    delivery: DeliverySummary = field(default_factory=DeliverySummary)
    # Handled mail the inbox would not let us move (see InboxFilingError), in the server's words.
    filing_problem: str | None = None

    @property
    def handled(self) -> int:
        not_inbound = ("already handled", "offer lapsed")
        return sum(n for key, n in self.results.items() if key not in not_inbound)

    def line(self) -> str:
        order = ("confirmed", "waitlisted", "declined", "held", "duplicate", "cancelled")
        parts = [f"handled {self.handled}"]
        parts += [f"{name} {self.results[name]}" for name in order if self.results[name]]
        for name in ("ignored", "not answered", "set aside", "failed", "info"):
            if self.results[name]:
                parts.append(f"{name} {self.results[name]}")
        parts.append(f"sent {self.delivery.sent}")
        if self.delivery.deferred:
            parts.append(f"deferred {self.delivery.deferred}")
        if self.delivery.failed:
            parts.append(f"undeliverable {self.delivery.failed}")
        return ", ".join(parts)


class Mailbot:
    """One booking inbox, one database, one way out. Collaborators are passed in."""

    def __init__(
        self,
        settings: PipelineSettings,
        *,
        store: Store,
        source: MailSource,
        sink: MailSink,
        templates: jinja2.Environment | None = None,
        clock: Callable[[], datetime] = utc_now,
        make_ref: Callable[[], str] = random_ref,
        make_token: Callable[[], str] = lambda: secrets.token_hex(12),
        deliver_every_seconds: float = 1.0,
        courier: Courier | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.source = source
        self.sink = sink
        # Made when the first mail is written: an idle poll never loads the templates.
        self._templates = templates
        self.clock = clock
        self.make_ref = make_ref
        self.make_token = make_token
        # Sending waits while one message is handled at a time: a second between drains
        # costs nothing in throughput and lets replies go out while a backlog is being read.
        self.deliver_every_seconds = deliver_every_seconds
        # Given, a poll's replies are sent by it, alongside the handling, instead.
        self.courier = courier
        self.outbox = Outbox(store)
        self._quiet_polls = 0

    @property
    def templates(self) -> jinja2.Environment:
        if self._templates is None:
            self._templates = make_environment()
        return self._templates

    @templates.setter
    def templates(self, templates: jinja2.Environment) -> None:
        self._templates = templates

    def __enter__(self) -> Mailbot:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the mail edges (connections, folders); the store needs no closing."""
        if self.courier is not None:
            self.courier.finish(hurry=True)
        self.source.close()
        self.sink.close()

    def poll(
        self,
        on_message: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> PollSummary:
        """Handle every new message, sending the replies queued so far every second or so,
        so that the first officers in a long backlog are not kept waiting for the last.

        `should_stop` is asked between messages, so a stop never interrupts one; what was
        queued is still sent before returning.
        """
        started = self.clock()
        summary = PollSummary()
        news = announce_event_changes(self.store, self.settings.events, self.handling, started)
        summary.results.update(news)
        summary.results.update(self.expire_offers())
        if self.courier is None:
            handled = self._handle_and_deliver_now_and_then(summary, on_message, should_stop)
        else:
            handled = self._handle_beside_courier(self.courier, summary, on_message, should_stop)
        if summary.handled or summary.delivery.sent or self._quiet_polls % _QUIET_RECORD == 0:
            # A quiet poll is recorded now and then, not every few seconds for months.
            self.store.record_run("poll", started, handled, summary.line())
            self.store.record_run("delivery", handled, self.clock(), summary.delivery.line())
        self._quiet_polls = 0 if summary.handled else self._quiet_polls + 1
        return summary

    def _handle_and_deliver_now_and_then(
        self,
        summary: PollSummary,
        on_message: Callable[[str], None] | None,
        should_stop: Callable[[], bool],
    ) -> datetime:
        """Returns when the handling ended."""
        last_drain = time.monotonic()

        def deliver_if_due() -> None:
            nonlocal last_drain
            paused = summary.delivery.stopped_by is not None
            if not paused and time.monotonic() - last_drain >= self.deliver_every_seconds:
                # A server found down is tried again at the end, not after every message.
                summary.delivery += self.deliver()
                last_drain = time.monotonic()

        try:
            self._handle_inbox(summary, on_message, should_stop, deliver_if_due)
        except OperationalError:
            # Replies already committed go out whatever became of the inbox.
            summary.delivery += self.deliver()
            raise
        handled = self.clock()
        summary.delivery += self.deliver()
        return handled

    def _handle_beside_courier(
        self,
        courier: Courier,
        summary: PollSummary,
        on_message: Callable[[str], None] | None,
        should_stop: Callable[[], bool],
    ) -> datetime:
        """Returns when the handling ended."""
        try:
            self._handle_inbox(summary, on_message, should_stop, courier.nudge)
        except OperationalError:
            # Replies already committed go out whatever became of the inbox.
            self._finish_courier(courier, summary)
            raise
        except BaseException:
            courier.finish(hurry=True)
            raise
        handled = self.clock()
        self._finish_courier(courier, summary)
        return handled

    def _finish_courier(self, courier: Courier, summary: PollSummary) -> None:
        sent = courier.finish()
        # Without a summary (nothing handled, or the courier died) this process sends.
        summary.delivery += sent if sent is not None else self.deliver()

    def _handle_inbox(
        self,
        summary: PollSummary,
        on_message: Callable[[str], None] | None,
        should_stop: Callable[[], bool],
        after_each: Callable[[], None],
    ) -> None:
        """Handle the inbox into `summary`; a refusal to file handled mail is noted there,
        after every message was handled, and does not stop the poll."""
        try:
            self.handle_inbox(on_message, should_stop, after_each, summary.results)
        except InboxFilingError as exc:
            summary.filing_problem = str(exc)

    def expire_offers(self) -> Counter[str]:
        """Offers not taken up in time lapse, and each place is offered to the next person."""
        now = self.clock()
        lapsed: Counter[str] = Counter()
        by_slug = {event.slug: event for event in self.settings.events}
        with self.store.transaction() as tx:
            for booking in tx.lapsed_offers(now):
                event = by_slug.get(booking.event_slug)
                if event is None:
                    continue
                snapshot = tx.snapshot(event, booking.email)
                decision = expire_offer(booking, snapshot, self.settings.policy, now)
                apply_and_tell(tx, self.writer(), decision, event, now)
                lapsed["offer lapsed"] += 1
                log.info("offer to %s lapsed", booking.ref)
        return lapsed

    def deliver(self) -> DeliverySummary:
        return deliver_pending(self.outbox, self.sink, self.clock)

    def handle_inbox(
        self,
        on_message: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        after_each: Callable[[], None] = lambda: None,
        results: Counter[str] | None = None,
    ) -> Counter[str]:
        """Handle every new message, counting each result in `results` as it happens (so a
        failure part-way still leaves the count of what was done)."""
        results = Counter() if results is None else results
        for raw in self.source.fetch_new():
            if should_stop():
                break
            result = self.handle_isolated(raw)
            results[result] += 1
            after_each()
            if on_message is not None:
                on_message(result)
        return results

    def handle_isolated(self, raw: RawMessage) -> str:
        """Handle one message; a crash on it is counted and, after enough, it is set aside.

        Infrastructure failures (database, mail server) are not the message's fault and
        stop the poll instead, leaving the message for the next one.
        """
        try:
            return self.handle(raw)
        except AlreadyRecordedError:
            # Another process recorded this message first; the next poll moves it.
            log.info("%s was handled concurrently by another process", raw.source_key)
            return "already handled"
        except OperationalError:
            raise
        except Exception as exc:
            return self._count_failure(raw, exc)

    def _count_failure(self, raw: RawMessage, exc: Exception) -> str:
        error = f"{type(exc).__name__}: {_first_line(exc)}"
        log.exception("handling %s failed", raw.source_key)
        attempts = self.store.record_failure(raw.source_key, error, self.clock())
        if attempts < self.settings.max_failures:
            return "failed"
        reason = f"failed {attempts} times, last: {error}"
        with self.store.transaction() as tx:
            if tx.already_handled(raw.source_key, None) is None:
                entry = set_aside_after_failures(raw, reason)
                tx.apply(entry, None, (), sender_address=self.from_address, now=self.clock())
        self.source.set_aside(raw.source_key)
        log.warning("%s set aside: %s", raw.source_key, reason)
        return "set aside"

    @property
    def from_address(self) -> str:
        return self.settings.sender.booking_address

    def handle(self, raw: RawMessage) -> str:
        """Parse, classify, decide and record one message; move it only after the commit."""
        now = self.clock()
        mail = parse(raw)
        classification = classify(mail, self.settings.own, self.settings.trusted_authserv_ids)
        bounce = None
        if not mail.unreadable:  # a bounce often has a null sender: look even then
            bounce = bounce_report(raw.data, self.settings.own.message_id_domain)
            if bounce is not None:
                classification = Automated(_bounce_reason(bounce))
        with self.store.transaction() as tx:
            earlier = tx.already_handled(raw.source_key, mail.message_id)
            if earlier is not None:
                set_aside = earlier == Disposition.SET_ASIDE.value
                result = "already handled"
            else:
                if bounce is not None:
                    note_bounce(tx, bounce, now)
                entry, set_aside = answer(self.handling(), tx, mail, classification, now)
                result = entry.outcome or _UNANSWERED_RESULTS[entry.disposition]
                log.info(
                    "%s: %s%s (%s)",
                    raw.source_key,
                    result,
                    f" {entry.booking_ref}" if entry.booking_ref else "",
                    entry.reason,
                )
        if set_aside:
            self.source.set_aside(raw.source_key)
        else:
            self.source.mark_handled(raw.source_key)
        return result

    def writer(self) -> ReplyWriter:
        """How mail is written now (the clock, templates and tokens as they are set)."""
        settings = self.settings
        return ReplyWriter(
            templates=self.templates,
            sender=settings.sender,
            events=settings.events,
            message_id_domain=settings.own.message_id_domain,
            make_token=self.make_token,
        )

    def handling(self) -> Handling:
        """What a handler gets: the rules it decides by and the means to write; not this."""
        settings = self.settings
        return Handling(
            events=settings.events,
            policy=settings.policy,
            replies_per_day=settings.replies_per_day,
            make_ref=self.make_ref,
            writer=self.writer(),
        )

    def scheduled(self) -> Scheduled:
        """What a scheduled task gets: the store, the writer, the clock and the way out."""
        return Scheduled(self.store, self.writer(), self.clock, self.deliver)

    def organiser_commands(self, text: str) -> CommandsResult:
        """The organiser's commands from the command line, under the rules mail follows."""
        return organiser_commands(self.store, self.handling(), text, self.clock())


_QUIET_RECORD = 60
_UNANSWERED_RESULTS = {
    Disposition.IGNORED: "ignored",
    Disposition.SET_ASIDE: "set aside",
    Disposition.NOT_ANSWERED: "not answered",
    Disposition.ANSWERED: "answered",
}


def _bounce_reason(bounce: Bounce) -> str:
    kind = "delayed delivery notice" if bounce.temporary else "bounce"
    addresses = ", ".join(bounce.failed_addresses[:3])
    return f"{kind}{f' for {addresses}' if addresses else ''}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
