"""Statements run as plain SQL write and read exactly what SQLAlchemy's Core would, and fail
with SQLAlchemy's exceptions (which the store's boundary translates), on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, insert, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mailbot.store import queries as q
from mailbot.store.database import connect
from mailbot.store.statements import Statement
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


def test_a_row_written_as_plain_sql_is_the_row_sqlalchemy_writes(database_url: str) -> None:
    engine = connect(database_url)
    with engine.begin() as connection:
        assert q.INSERT_INBOUND.run(connection, _inbound("plain", LONDON_SUMMER)) == 1
        connection.execute(insert(InboundRow.__table__), _inbound("core", LONDON_SUMMER))  # type: ignore[attr-defined]
    with Session(engine) as session:
        rows = {row.source_key: row for row in session.exec(select(InboundRow)).all()}
    assert rows["plain"].handled_at == rows["core"].handled_at == LONDON_SUMMER
    assert rows["plain"].handled_at.tzinfo == UTC
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT source_key, CAST(handled_at AS TEXT) FROM inbound ORDER BY source_key")
        ).all()
    assert stored[0][1] == stored[1][1], "the same text in the database, whoever wrote it"


def test_rows_read_as_plain_sql_have_sqlalchemys_types(database_url: str) -> None:
    engine = connect(database_url)
    with engine.begin() as connection:
        q.INSERT_INBOUND.run(connection, _inbound("one", LONDON_SUMMER))
        found = q.LEDGER_BY_KEY_OR_ID.rows(
            connection, {"key": "none", "message_id": "<one@lancashire.police.uk>"}
        )
        ((count,),) = q.REPLIES_SINCE.rows(
            connection, {"recipient": "ann.lee@lancashire.police.uk", "since": LONDON_SUMMER}
        )
        (claimed,) = Statement(
            select(col(InboundRow.handled_at)).where(col(InboundRow.source_key) == "one")
        ).rows(connection, {})
    assert [row.disposition for row in found] == ["answered"]
    assert count == 0 and isinstance(count, int)
    assert claimed.handled_at == LONDON_SUMMER and claimed.handled_at.tzinfo == UTC


def test_timestamps_compare_as_times_whatever_zone_they_were_given_in(database_url: str) -> None:
    engine = connect(database_url)
    new_york = ZoneInfo("America/New_York")
    a_moment_before = datetime(2026, 7, 1, 5, 30, 15, 249999, tzinfo=new_york)
    a_moment_after = datetime(2026, 7, 1, 5, 30, 15, 250001, tzinfo=new_york)
    handled_before = Statement(
        select(col(InboundRow.source_key)).where(col(InboundRow.handled_at) < bindparam("moment"))
    )
    with engine.begin() as connection:
        q.INSERT_INBOUND.run(connection, _inbound("one", LONDON_SUMMER))
        before = handled_before.rows(connection, {"moment": a_moment_before})
        after = handled_before.rows(connection, {"moment": a_moment_after})
    assert (before, [row.source_key for row in after]) == ([], ["one"])


def test_a_naive_timestamp_is_refused_as_sqlalchemy_refuses_it(database_url: str) -> None:
    engine = connect(database_url)
    with pytest.raises(ValueError, match="naive"), engine.begin() as connection:
        q.INSERT_INBOUND.run(connection, _inbound("naive", datetime(2026, 7, 1, 10, 30)))


def test_a_duplicate_fails_with_sqlalchemys_integrity_error(database_url: str) -> None:
    # The store's boundary reads IntegrityError as "another process recorded it first".
    engine = connect(database_url)
    with engine.begin() as connection:
        q.INSERT_INBOUND.run(connection, _inbound("twice", LONDON_SUMMER))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        q.INSERT_INBOUND.run(connection, _inbound("twice", LONDON_SUMMER))
    with Session(engine) as session:
        assert len(session.exec(select(InboundRow)).all()) == 1


def test_a_column_left_to_its_default_is_refused(database_url: str) -> None:
    # SQLAlchemy fills in a column's default when it runs a statement; as plain SQL the
    # column would be NULL instead, so a statement that leaves one out is refused.
    values = dict(_inbound("short", LONDON_SUMMER))
    del values["reason"]  # the ledger's reason defaults to ""
    engine = connect(database_url)
    with pytest.raises(ValueError, match="give a value for reason"), engine.begin() as connection:
        q.INSERT_INBOUND.run(connection, values)


def test_a_statement_sqlalchemy_finishes_per_call_is_refused(database_url: str) -> None:
    # An expanding IN (...) has no SQL until its values are known: run as rendered, it
    # would fail in the driver with a confusing syntax error, so it is refused up front.
    statement = Statement(select(InboundRow.id).where(col(InboundRow.source_key).in_(["a"])))
    with pytest.raises(ValueError, match="finished per call"), connect(database_url).begin() as c:
        statement.rows(c, {})
