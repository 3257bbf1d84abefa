"""One writer at a time on an SQLite database, across this process's threads and across
processes, queued in the kernel instead of in SQLite's busy handler.

Every transaction on SQLite takes the database's write lock (BEGIN IMMEDIATE). A writer
that finds it taken waits in SQLite's busy handler, which sleeps and polls in steps of up to
100 ms. Waiting here instead (a thread lock, then `flock` on a file beside the database)
wakes the next writer as soon as the lock is free. SQLite's own lock still decides; this
one only orders the queue, so a process that does not take it is merely slower, never wrong.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


class WriterLock:
    """Re-entrant within a thread. A forked child drops what it inherited: an `flock` belongs
    to the open file, so a child holding its parent's descriptor would keep the parent's
    lock alive after the parent died, and every writer would then wait forever."""

    def __init__(self, database: Path | None) -> None:
        self._path = None if database is None else database.with_name(database.name + ".lock")
        self._threads = threading.RLock()
        self._depth = 0
        self._file: IO[bytes] | None = None
        os.register_at_fork(after_in_child=_forget_in_child(weakref.ref(self)))

    def _forget_inherited(self) -> None:
        if self._file is not None:
            self._file.close()  # closing our copy leaves the parent's lock to the parent
        self._file = None
        self._depth = 0
        self._threads = threading.RLock()  # another thread may have held it at the fork

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
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)

    def _unlock_file(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)


def _forget_in_child(lock: weakref.ref[WriterLock]) -> Callable[[], None]:
    def forget() -> None:
        alive = lock()
        if alive is not None:
            alive._forget_inherited()

    return forget
