"""Statements run on the driver's cursor store and read exactly what SQLAlchemy would, and
fail with SQLAlchemy's exceptions, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mailbot.store import queries as q
from mailbot.store.database import connect
from mailbot.store.prepared import Prepared
from mailbot.store.tables import InboundRow

LONDON_SUMMER = datetime(2026, 7, 1, 10, 30, 15, 250000, tzinfo=ZoneInfo("Europe/London"))


def _inbound(source_key: str, handled_at: datetime) -> dict[str, object]:
    return {
        "source_key": source_key,
        "message_id": f"<{source_key}@lancashire.police.uk>",
        "sender_email": "ann.lee@lancashire.police.uk",
        "disposition": "answered",
        "outcome": "confirmed",
        "booking_ref": "K7Q-4MZ",
        "reason": "eligible",
        "handled_at": handled_at,
    }


def test_a_row_written_prepared_is_the_row_sqlalchemy_writes(database_url: str) -> None:
    engine = connect(database_url)
    with engine.begin() as connection:
        (prepared,) = q.INSERT_INBOUND.rows(connection, _inbound("prepared", LONDON_SUMMER))
        connection.execute(insert(InboundRow.__table__), _inbound("core", LONDON_SUMMER))  # type: ignore[attr-defined]
    with Session(engine) as session:
        rows = {row.source_key: row for row in session.exec(select(InboundRow)).all()}
    assert rows["prepared"].id == prepared.id
    assert rows["prepared"].handled_at == rows["core"].handled_at == LONDON_SUMMER
    assert rows["prepared"].handled_at.tzinfo == UTC
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT source_key, CAST(handled_at AS TEXT) FROM inbound ORDER BY source_key")
        ).all()
    assert stored[0][1] == stored[1][1], "the same text in the database, whoever wrote it"


def test_rows_read_prepared_have_sqlalchemys_types(database_url: str) -> None:
    engine = connect(database_url)
    with engine.begin() as connection:
        q.INSERT_INBOUND.rows(connection, _inbound("one", LONDON_SUMMER))
        found = q.LEDGER_BY_KEY_OR_ID.rows(
            connection, {"key": "none", "message_id": "<one@lancashire.police.uk>"}
        )
        ((count,),) = q.REPLIES_SINCE.rows(
            connection, {"recipient": "ann.lee@lancashire.police.uk", "since": LONDON_SUMMER}
        )
    assert [row.disposition for row in found] == ["answered"]
    assert count == 0 and isinstance(count, int)


def test_a_duplicate_fails_with_sqlalchemys_integrity_error(database_url: str) -> None:
    # The pipeline reads IntegrityError as "another process recorded this message first".
    engine = connect(database_url)
    with engine.begin() as connection:
        q.INSERT_INBOUND.rows(connection, _inbound("twice", LONDON_SUMMER))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        q.INSERT_INBOUND.rows(connection, _inbound("twice", LONDON_SUMMER))
    with Session(engine) as session:
        assert len(session.exec(select(InboundRow)).all()) == 1


def test_a_statement_sqlalchemy_finishes_per_call_is_refused(database_url: str) -> None:
    # An expanding IN (...) has no SQL until its values are known: run as compiled, it
    # would fail in the driver with a confusing syntax error, so it is refused up front.
    statement = Prepared(select(InboundRow.id).where(col(InboundRow.source_key).in_(["a"])))
    with pytest.raises(ValueError, match="cannot be prepared"), connect(database_url).begin() as c:
        statement.rows(c, {})
