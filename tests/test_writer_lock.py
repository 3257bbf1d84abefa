"""WriterLock: one writer at a time on an SQLite database, across threads and processes, and
never kept on behalf of a process that has died."""

from __future__ import annotations

import fcntl
import multiprocessing
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path

import pytest

from mailbot.store.database import connect
from mailbot.store.store import Store
from mailbot.store.writer_lock import WriterLock
from tests.processes import PATIENCE, wait_until

# Every test here starts processes of its own.
pytestmark = pytest.mark.integration

FORK = multiprocessing.get_context("fork")
GRACE = 0.5  # for what must not happen: how long it is given to happen all the same


def lock_file(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def held_elsewhere(database: Path) -> bool:
    """Whether some open file other than this probe's holds the lock right now."""
    with open(lock_file(database), "ab") as probe:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe.fileno(), fcntl.LOCK_UN)
        return False


def _take_in_child(
    database: Path, asking: ProcessEvent, taken: ProcessEvent, let_go: ProcessEvent
) -> None:
    lock = WriterLock(database)
    asking.set()
    with lock.held():
        taken.set()
        let_go.wait(PATIENCE)


class OtherProcess:
    """A forked process with a WriterLock of its own on the same database, taking it once."""

    def __init__(self, database: Path) -> None:
        self.asking, self.taken, self.let_go = FORK.Event(), FORK.Event(), FORK.Event()
        self._process = FORK.Process(
            target=_take_in_child,
            args=(database, self.asking, self.taken, self.let_go),
            daemon=True,
        )

    def start(self) -> None:
        self._process.start()
        assert self.asking.wait(PATIENCE), "the other process never started"

    def stop(self) -> None:
        self.let_go.set()
        self._process.join(PATIENCE)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


class OtherThread:
    """A thread of this process taking the same WriterLock once."""

    def __init__(self, lock: WriterLock) -> None:
        self.taken, self.let_go = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._take, args=(lock,), daemon=True)

    def _take(self, lock: WriterLock) -> None:
        with lock.held():
            self.taken.set()
            self.let_go.wait(PATIENCE)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.let_go.set()
        self._thread.join(PATIENCE)


@contextmanager
def other_process(database: Path) -> Iterator[OtherProcess]:
    other = OtherProcess(database)
    try:
        yield other
    finally:
        other.stop()


@contextmanager
def other_thread(lock: WriterLock) -> Iterator[OtherThread]:
    other = OtherThread(lock)
    try:
        yield other
    finally:
        other.stop()


def test_another_process_waits_while_the_lock_is_held_and_gets_it_once_released(
    tmp_path: Path,
) -> None:
    database = tmp_path / "mailbot.db"
    lock = WriterLock(database)
    with other_process(database) as other:
        with lock.held():
            other.start()
            assert not other.taken.wait(GRACE), "another process wrote while this one held it"
        assert other.taken.wait(PATIENCE), "the other process never got the released lock"

        # And the other way round: this process now waits for the other one.
        with other_thread(lock) as here:
            here.start()
            assert not here.taken.wait(GRACE), "took the lock while another process held it"
            other.let_go.set()
            assert here.taken.wait(PATIENCE), "never got the lock the other process released"


def test_the_lock_is_reentrant_in_a_thread_and_a_second_thread_waits_for_it(
    tmp_path: Path,
) -> None:
    database = tmp_path / "mailbot.db"
    lock = WriterLock(database)

    nested = threading.Event()

    def twice() -> None:
        with lock.held(), lock.held():
            nested.set()

    # In a thread of its own, so that a lock that is not re-entrant fails here, not hangs.
    thread = threading.Thread(target=twice, daemon=True)
    thread.start()
    assert nested.wait(PATIENCE), "a thread holding the lock blocked on taking it again"
    thread.join(PATIENCE)

    with other_thread(lock) as second, other_process(database) as other:
        with lock.held():
            with lock.held():
                pass
            # Leaving the inner block must not let anyone in: the outer one still holds it.
            second.start()
            other.start()
            assert not second.taken.wait(GRACE), "a second thread got in beside the holder"
            assert not other.taken.is_set(), "another process got in beside the holder"
        assert wait_until(lambda: second.taken.is_set() or other.taken.is_set())
        # One at a time: whichever got it first keeps the other waiting.
        first, last = (second, other) if second.taken.is_set() else (other, second)
        assert not last.taken.wait(GRACE), "both took the lock at once"
        first.let_go.set()
        assert last.taken.wait(PATIENCE), "the second waiter never got the lock"


def test_an_in_memory_database_is_locked_between_threads_without_creating_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    lock = WriterLock(None)
    with other_thread(lock) as second:
        with lock.held(), lock.held():
            second.start()
            assert not second.taken.wait(GRACE), "a second thread got in beside the holder"
        assert second.taken.wait(PATIENCE)

    # The store on an in-memory database writes through the same lock.
    store = Store(connect("sqlite:///:memory:"))
    moment = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    store.record_run("poll", moment, moment, "handled 0")
    assert store.claim_job("digest", spacing=timedelta(hours=1), now=moment)

    assert list(tmp_path.iterdir()) == []


def test_a_holder_that_never_lets_go_is_waited_for_only_as_long_as_sqlite_would(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A stopped or hung process must not hold every other writer up for ever: after the
    # patience runs out, the writer goes on to SQLite's own lock, which reports it.
    database = tmp_path / "mailbot.db"
    impatient = WriterLock(database, patience=0.2)
    with other_process(database) as other:
        other.start()
        assert other.taken.wait(PATIENCE)
        with impatient.held():
            assert held_elsewhere(database), "went on only because the holder had let go"
    assert "has been writing to" in caplog.text and "mailbot.db" in caplog.text
