"""The store's boundary: what SQLAlchemy and the drivers raise reaches the pipeline and the
command line as mailbot's own errors, with the words they always had, on a real SQLite file
and the real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from mailbot.domain import Disposition, LedgerEntry
from mailbot.errors import AlreadyRecordedError, OperationalError
from mailbot.store.database import connect
from mailbot.store.store import Store
from tests.harness import Workspace, eml
from tests.processes import run_mailbot
from tests.servers.postgres import ADMIN_DSN

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _record(store: Store, source_key: str) -> None:
    entry = LedgerEntry(source_key, None, None, Disposition.IGNORED, "recorded elsewhere")
    with store.transaction() as tx:
        tx.apply(entry, None, (), sender_address="bookings@example.ac.uk", now=T0)


def test_a_message_recorded_twice_is_already_recorded(database_url: str) -> None:
    store = Store(connect(database_url))
    _record(store, "maildir:once")
    with pytest.raises(AlreadyRecordedError):
        _record(store, "maildir:once")
    assert [entry.source_key for entry in store.ledger()] == ["maildir:once"]


def test_a_message_another_process_records_first_is_already_handled(
    tmp_path: Path, postgres_url: str
) -> None:
    # Only PostgreSQL lets two writers interleave so: on SQLite the first holds the lock.
    ws = Workspace(tmp_path, database_url=postgres_url)
    ws.deliver(eml("01-officer-wmp.eml"))
    (key,) = ws.inbox.keys()
    other_process = Store(connect(postgres_url))
    with ws.bot() as bot:
        first_ref = bot.make_ref

        def record_it_elsewhere_first() -> str:
            # Called inside the transaction, after the ledger was found without this
            # message and before it is recorded: the worst moment for another writer.
            _record(other_process, f"maildir:{key}")
            bot.make_ref = first_ref
            return first_ref()

        bot.make_ref = record_it_elsewhere_first
        summary = bot.poll()
    assert summary.results["already handled"] == 1 and summary.handled == 0
    assert ws.new_replies() == [], "no reply for a message another process answers"
    (entry,) = Store(connect(postgres_url)).ledger()
    assert entry.reason == "recorded elsewhere"
    assert len(ws.inbox) == 1, "left for the next poll, which finds it handled and moves it"


def _take_the_database_away(url: str) -> None:
    """SQLite: the ledger's table is gone. PostgreSQL: the server refuses every connection."""
    if url.startswith("sqlite"):
        with connect(url).begin() as connection:
            connection.execute(text("ALTER TABLE inbound RENAME TO gone"))
        return
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )


def test_a_database_that_goes_away_mid_poll_stops_it_with_a_database_error(
    tmp_path: Path, database_url: str
) -> None:
    ws = Workspace(tmp_path, capacity=5, database_url=database_url)
    ws.deliver(eml("01-officer-wmp.eml"), eml("02-officer-lancs.eml"))
    handled: list[str] = []

    def after_the_first(result: str) -> None:
        handled.append(result)
        _take_the_database_away(database_url)

    with ws.bot() as bot, pytest.raises(OperationalError) as stopped:
        bot.poll(on_message=after_the_first)
    assert handled == ["confirmed"]
    assert str(stopped.value).startswith("database error: ")
    expected = "no such table" if database_url.startswith("sqlite") else "accepting connections"
    assert expected in str(stopped.value)
    assert "\n" not in str(stopped.value)
    assert len(ws.inbox) == 1, "the second message waits for a database"


@pytest.mark.integration  # runs mailbot as a process
def test_poll_on_a_broken_database_exits_1_with_one_line(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.deliver(eml("01-officer-wmp.eml"))
    Store(connect(ws.settings.database_url()))  # made and migrated: the poll will not
    _take_the_database_away(ws.settings.database_url())
    result = run_mailbot("poll", "--config", str(ws.config))
    assert result.returncode == 1
    assert result.stderr.strip() == "mailbot: database error: no such table: inbound"
    assert len(ws.inbox) == 1


def test_reads_fail_as_database_errors_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    store = Store(connect(url))
    _take_the_database_away(url)
    with pytest.raises(OperationalError, match=r"^database error: no such table: inbound$"):
        store.ledger()
