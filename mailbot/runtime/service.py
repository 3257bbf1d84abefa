"""Keep a Mailbot polling until told to stop: IDLE-driven, with backoff after failures."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING

from mailbot.errors import ConfigError, OperationalError

if TYPE_CHECKING:
    from mailbot.pipeline.poll import Mailbot

log = logging.getLogger("mailbot.service")

FIRST_BACKOFF = 1.0
LONGEST_BACKOFF = 300.0
# Servers drop an IDLE after 30 minutes (RFC 2177); M365 sooner. Re-issuing it at least this
# often keeps the connection alive whatever `poll_seconds` says.
LONGEST_IDLE = 600.0


class _StopWaitingError(Exception):
    """Raised by the signal handler to break out of a wait (never out of a message)."""


class StopSignal:
    """SIGTERM/SIGINT ask the service to stop: at once while it waits, after the message in
    hand while it works."""

    def __init__(self) -> None:
        self.requested = False
        self._waiting = False
        self._event = threading.Event()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        self.request()
        if self._waiting:
            raise _StopWaitingError

    def request(self) -> None:
        self.requested = True
        self._event.set()

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """A wait inside this block ends as soon as a stop is requested."""
        if self.requested:
            raise _StopWaitingError
        self._waiting = True
        try:
            yield
        finally:
            self._waiting = False

    def sleep(self, seconds: float) -> None:
        self._event.wait(seconds)


@dataclass
class Backoff:
    """Doubling delays after consecutive failures, reset by a success."""

    first: float = FIRST_BACKOFF
    longest: float = LONGEST_BACKOFF
    _next: float = FIRST_BACKOFF

    def __post_init__(self) -> None:
        self._next = self.first

    def reset(self) -> None:
        self._next = self.first

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.longest)
        return delay


def run_service(
    open_bot: Callable[[], Mailbot],
    poll_seconds: float,
    stop: StopSignal,
    backoff: Backoff | None = None,
) -> None:
    """Poll, then wait for the server to announce mail (or `poll_seconds` to pass), until
    stopped. Connection failures are logged and retried with growing delays; nothing is
    lost, since unhandled mail stays in the inbox and unsent mail stays queued."""
    delays = backoff or Backoff()
    bot: Mailbot | None = None
    wait = min(float(poll_seconds), LONGEST_IDLE)
    try:
        while not stop.requested:
            try:
                if bot is None:
                    bot = open_bot()
                summary = bot.poll(should_stop=lambda: stop.requested)
                if summary.handled or summary.delivery.sent:
                    log.info("poll: %s", summary.line())
                delays.reset()
                with stop.interruptible():
                    bot.source.wait_for_new(wait)
            except _StopWaitingError:
                break
            except ConfigError:
                raise
            except Exception as exc:  # a service that runs for months must outlive any one failure
                delay = delays.next_delay()
                if isinstance(exc, OperationalError):
                    log.warning("%s; trying again in %.0f s", exc, delay)
                else:
                    log.exception("unexpected failure; trying again in %.0f s", delay)
                try:
                    with stop.interruptible():
                        stop.sleep(delay)
                except _StopWaitingError:
                    break
    finally:
        if bot is not None:
            bot.close()
    log.info("stopped")
