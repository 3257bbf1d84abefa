"""Send the outbox from a child process while this one reads the inbox, so that a long poll
sends on the machine's other core instead of between messages.

The child is an ordinary outbox client: it claims, sends and marks exactly as `mailbot poll`
does in-process, under its own process identity, so a child killed mid-send is re-queued by
the next run like any other dead claimant. It starts on the first nudge (an idle poll forks
nothing), sends whatever is due each time it is nudged, stops between two mails when told to
hurry or when its parent dies, and sends a last time when asked to finish.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from typing import Protocol

from mailbot.mail.base import MailSink
from mailbot.pipeline.delivery import DeliverySummary, deliver_pending
from mailbot.store.outbox import Outbox
from mailbot.store.store import Store

log = logging.getLogger("mailbot.courier")

_NUDGE = b"n"
_FINISH = b"f"
_HURRIED_JOIN_SECONDS = 60.0  # one SMTP transaction, bounded by its own timeouts
# Nudges closer together than this are dropped: the child sends everything due each time it
# wakes, so one nudge covers the mail of several messages, and fewer wake-ups leave more of
# the machine to the handling. The final drain covers whatever the last nudge missed.
_NUDGE_INTERVAL_SECONDS = 0.02


class Courier(Protocol):
    """Sends queued mail alongside the pipeline."""

    def nudge(self) -> None:
        """Something may have been queued: send it soon."""
        ...

    def finish(self, *, hurry: bool = False) -> DeliverySummary | None:
        """Send what is due (unless hurried), stop, and say what was sent; None when
        nothing ran or the sender ended without a summary, so the caller sends itself."""
        ...


class ProcessCourier:
    """A `Courier` in a forked child with its own database connection and mail sink."""

    def __init__(
        self,
        open_store: Callable[[], Store],
        open_sink: Callable[[], MailSink],
        clock: Callable[[], datetime],
    ) -> None:
        self._parts = _Parts(open_store, open_sink, clock, parent=os.getpid())
        self._child: BaseProcess | None = None
        self._pipe: Connection | None = None
        self._hurry: Event | None = None
        self._last_nudge = -_NUDGE_INTERVAL_SECONDS

    def nudge(self) -> None:
        if self._pipe is None:
            self._start()
        assert self._pipe is not None  # _start sets it
        now = time.monotonic()
        if now - self._last_nudge < _NUDGE_INTERVAL_SECONDS:
            return
        self._last_nudge = now
        # A send fails only when the child is gone; finish() finds out and the caller sends.
        with contextlib.suppress(OSError):
            self._pipe.send_bytes(_NUDGE)

    def finish(self, *, hurry: bool = False) -> DeliverySummary | None:
        child, pipe, hurry_event = self._child, self._pipe, self._hurry
        self._child = self._pipe = self._hurry = None
        if child is None or pipe is None or hurry_event is None:
            return None
        summary: object = None
        try:
            if hurry:
                hurry_event.set()
            pipe.send_bytes(_FINISH)
            summary = pipe.recv()
        except (EOFError, OSError):
            log.warning("the delivery process ended early; this process sends instead")
        except BaseException:
            # Ctrl-C while the last mails go out: stop between two of them, as handling does.
            hurry_event.set()
            hurry = True
            raise
        finally:
            pipe.close()
            child.join(_HURRIED_JOIN_SECONDS if hurry else None)
        return summary if isinstance(summary, DeliverySummary) else None

    def _start(self) -> None:
        # fork: the child needs the parent's configuration objects, not a fresh interpreter
        # (which would import mailbot again, a second or more of start-up).
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        hurry = context.Event()
        child = context.Process(
            target=_deliver_when_nudged,
            args=(theirs, ours, hurry, self._parts),
            name="mailbot-delivery",
            daemon=True,
        )
        child.start()
        theirs.close()
        self._child, self._pipe, self._hurry = child, ours, hurry
        log.debug("delivery process %s started", child.pid)


@dataclass(frozen=True)
class _Parts:
    """What the child builds its outbox client from, and whose child it is."""

    open_store: Callable[[], Store]
    open_sink: Callable[[], MailSink]
    clock: Callable[[], datetime]
    parent: int


def _deliver_when_nudged(
    pipe: Connection, parents_end: Connection, hurry: Event, parts: _Parts
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which decides
    parents_end.close()  # else the parent's death would never read as end-of-file here

    def orphaned() -> bool:
        return os.getppid() != parts.parent

    def should_stop() -> bool:
        return hurry.is_set() or orphaned()

    sink: MailSink | None = None
    try:
        outbox = Outbox(parts.open_store())
        sink = parts.open_sink()
        summary = DeliverySummary()
        while True:
            finishing = _next_instruction(pipe)
            if orphaned():
                return
            # A server found unavailable is tried again only at the end, as in-process.
            if not hurry.is_set() and (finishing or summary.stopped_by is None):
                summary += deliver_pending(outbox, sink, parts.clock, should_stop)
            if finishing:
                with contextlib.suppress(OSError):  # the parent may have stopped listening
                    pipe.send(summary)
                return
    except EOFError:
        return  # the parent has gone; the next run re-queues anything left claimed
    except Exception as exc:  # reported to the parent as a missing summary
        log.warning("delivery process failed: %s: %s", type(exc).__name__, exc)
    finally:
        if sink is not None:
            sink.close()


def _next_instruction(pipe: Connection) -> bool:
    """Block for the next word from the parent, then read all that queued up behind it;
    True when one of them asks to finish."""
    words = pipe.recv_bytes()
    while pipe.poll():
        words += pipe.recv_bytes()
    return _FINISH in words
