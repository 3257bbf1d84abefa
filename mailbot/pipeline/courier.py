"""Send the outbox from a second process while this one reads the inbox, so that a long poll
sends on the machine's other core instead of between messages.

The second process is a command of its own (`mailbot deliver --follow`), started fresh, and
the two speak over its stdin and stdout: one line from the parent each time something may
have been queued, one JSON line back with what was sent. It is an ordinary outbox client: it
claims, sends and marks exactly as `mailbot poll` does in-process, under its own process
identity, so one killed mid-send is re-queued by the next run like any other dead claimant.
It starts on the first nudge (an idle poll starts nothing), sends whatever is due each time
it is nudged, stops between two mails when told to hurry or when its parent is gone (its
stdin ends), and sends a last time when asked to finish.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, Protocol

from mailbot.errors import OperationalError
from mailbot.mail.base import MailSink
from mailbot.pipeline.delivery import DeliverySummary, deliver_pending
from mailbot.store.outbox import Outbox

log = logging.getLogger("mailbot.courier")

# The parent's words, one a line; NUDGE and FINISH carry the parent's clock reading.
_NUDGE = "nudge"
_FINISH = "finish"
_HURRY = "hurry"
_HURRIED_WAIT_SECONDS = 60.0  # one SMTP transaction, bounded by its own timeouts
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
    """A `Courier` in a process of its own, running `command` (`mailbot deliver --follow`).

    `clock` is the pipeline's: each word to the child carries its reading, so mail is due
    by the clock that queued it, a swapped one included.
    """

    def __init__(self, command: Sequence[str], clock: Callable[[], datetime]) -> None:
        self._command = tuple(command)
        self._clock = clock
        self._child: subprocess.Popen[str] | None = None
        self._unstartable = False
        self._last_nudge = -_NUDGE_INTERVAL_SECONDS

    @property
    def pid(self) -> int | None:
        """The delivery process's id while one runs."""
        return None if self._child is None else self._child.pid

    def nudge(self) -> None:
        if self._child is None:
            self._child = self._start()
            if self._child is None:
                return
        now = time.monotonic()
        if now - self._last_nudge < _NUDGE_INTERVAL_SECONDS:
            return
        self._last_nudge = now
        _tell(self._child, f"{_NUDGE} {self._clock().isoformat()}")

    def finish(self, *, hurry: bool = False) -> DeliverySummary | None:
        child, self._child = self._child, None
        if child is None:
            return None
        assert child.stdout is not None  # started with a pipe
        answer = ""
        try:
            if hurry:
                _tell(child, _HURRY)
            _tell(child, f"{_FINISH} {self._clock().isoformat()}")
            answer = child.stdout.readline()
        except BaseException:
            # Ctrl-C while the last mails go out: stop between two of them, as handling does.
            hurry = True
            _tell(child, _HURRY)
            raise
        finally:
            _end(child, hurried=hurry)
        summary = summary_from_json(answer)
        if summary is None:
            log.warning("the delivery process ended early; this process sends instead")
        return summary

    def _start(self) -> subprocess.Popen[str] | None:
        if self._unstartable:
            return None
        try:
            # Its own process group: a Ctrl-C at the terminal reaches only the parent, which
            # decides whether the child hurries.
            child = subprocess.Popen(
                self._command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                encoding="utf-8",
                process_group=0,
            )
        except OSError as exc:
            self._unstartable = True
            log.warning("cannot start the delivery process (%s); this process sends", exc)
            return None
        log.debug("delivery process %s started", child.pid)
        return child


def _tell(child: subprocess.Popen[str], word: str) -> None:
    assert child.stdin is not None  # started with a pipe
    # A write fails only when the child is gone; finish() finds out and the caller sends.
    with contextlib.suppress(OSError, ValueError):
        child.stdin.write(word + "\n")
        child.stdin.flush()


def _end(child: subprocess.Popen[str], *, hurried: bool) -> None:
    for stream in (child.stdin, child.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        child.wait(_HURRIED_WAIT_SECONDS if hurried else None)
    except subprocess.TimeoutExpired:
        # What it had claimed is re-queued by the next run, as for any dead claimant.
        child.kill()
        child.wait()


def summary_as_json(summary: DeliverySummary) -> str:
    return json.dumps(dataclasses.asdict(summary))


def summary_from_json(line: str) -> DeliverySummary | None:
    """The summary a delivery process wrote, or None for anything else (nothing at all)."""
    try:
        fields = json.loads(line)
    except ValueError:
        return None
    counts = ("sent", "deferred", "failed", "requeued")
    if not isinstance(fields, dict) or set(fields) != {*counts, "stopped_by"}:
        return None
    if not all(type(fields[name]) is int for name in counts):
        return None
    if not isinstance(fields["stopped_by"], str | None):
        return None
    return DeliverySummary(**fields)


def deliver_as_told(instructions: IO[str], report: IO[str], outbox: Outbox, sink: MailSink) -> None:
    """The child's side: send what is due at each word on `instructions`, and write the
    summary as one JSON line on `report` when told to finish. Returns without a summary
    when the parent is gone."""
    told = _Instructions(instructions)
    clock = _ParentsClock()
    summary = DeliverySummary()
    try:
        while (word := told.next()) is not None:
            finishing, parents_now = word
            clock.set(parents_now)
            # A server found unavailable is tried again only at the end, as in-process.
            if not told.stop.is_set() and (finishing or summary.stopped_by is None):
                summary += deliver_pending(outbox, sink, clock, told.stop.is_set)
            if finishing:
                with contextlib.suppress(OSError):  # the parent may have stopped listening
                    report.write(summary_as_json(summary) + "\n")
                    report.flush()
                return
    except Exception as exc:  # the parent, finding no summary, sends itself
        raise OperationalError(f"delivery process failed: {type(exc).__name__}: {exc}") from exc


class _Instructions:
    """The parent's words, read by a thread of their own so that a hurry, or the end of the
    parent, is seen between two mails of a drain."""

    def __init__(self, stream: IO[str]) -> None:
        self.stop = threading.Event()  # hurried, or the parent is gone
        self._words: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        threading.Thread(
            target=self._read, args=(stream,), name="mailbot-instructions", daemon=True
        ).start()

    def _read(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                if line.strip() == _HURRY:
                    self.stop.set()
                self._words.put(line.strip())
        finally:
            self.stop.set()
            self._words.put(None)

    def next(self) -> tuple[bool, datetime | None] | None:
        """Block for the next word, then take all that queued up behind it: whether one of
        them asks to finish, and the latest clock reading among them; None once the parent
        is gone."""
        words = [self._words.get()]
        with contextlib.suppress(queue.Empty):
            while words[-1] is not None:
                words.append(self._words.get_nowait())
        if None in words:
            return None
        finishing = False
        parents_now = None
        for word in words:
            name, _, reading = (word or "").partition(" ")
            finishing = finishing or name == _FINISH
            with contextlib.suppress(ValueError):
                parents_now = datetime.fromisoformat(reading)
        return finishing, parents_now


class _ParentsClock:
    """The parent's time as last told, running on from there."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def set(self, parents_now: datetime | None) -> None:
        if parents_now is not None:
            self._offset = parents_now - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._offset
