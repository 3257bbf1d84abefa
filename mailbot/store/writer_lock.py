"""One writer at a time on an SQLite database, across this process's threads and across
processes, queued here instead of in SQLite's busy handler.

Every transaction on SQLite takes the database's write lock (BEGIN IMMEDIATE). A writer
that finds it taken waits in SQLite's busy handler, which sleeps in steps of up to 100 ms.
Waiting here instead (a thread lock, then `flock` on a file beside the database, tried in
steps of a fraction of a millisecond) hands the lock on about as soon as it is free. SQLite's
own lock still decides; this one only orders the queue, so a process that does not take it,
or gives up waiting for it, is merely slower, never wrong.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

log = logging.getLogger("mailbot.store")

_FIRST_PAUSE = 0.00002
_LONGEST_PAUSE = 0.001
# As long as SQLite's busy timeout: past it, a stuck holder is left for SQLite to report.
_PATIENCE_SECONDS = 30.0


class WriterLock:
    """Re-entrant within a thread.

    An `flock` belongs to the open file: the lock file is opened close-on-exec (Python's
    default), so a process this one starts (the delivery process) cannot keep the lock
    alive after this one died.
    """

    def __init__(self, database: Path | None, *, patience: float = _PATIENCE_SECONDS) -> None:
        self._path = None if database is None else database.with_name(database.name + ".lock")
        self._patience = patience
        self._threads = threading.RLock()
        self._depth = 0
        self._file: IO[bytes] | None = None
        self._file_locked = False

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            outermost = self._depth == 0
            if outermost:
                self._lock_file()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if outermost:
                    self._unlock_file()

    def _lock_file(self) -> None:
        if self._path is None:
            return
        if self._file is None:
            self._file = open(self._path, "ab")  # noqa: SIM115 - kept open for the process's life
        deadline = time.monotonic() + self._patience
        pause = _FIRST_PAUSE
        while True:
            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    log.warning(
                        "another process has been writing to %s for %.0f s; "
                        "waiting in SQLite's own lock instead",
                        self._path.with_suffix(""),
                        self._patience,
                    )
                    return
                time.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE)
            else:
                self._file_locked = True
                return

    def _unlock_file(self) -> None:
        if self._file is not None and self._file_locked:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file_locked = False
