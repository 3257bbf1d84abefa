"""Run the statements every booking request and every sent mail runs as the driver's own SQL.

Measured on SQLite (CPU time, 2 cores, SQLAlchemy 2.1): running a small Core statement through
`Connection.execute` costs SQLAlchemy about 40-50 µs (its compiled cache, the parameters'
types, the result's), plain SQL through `Connection.exec_driver_sql` about 20-35 µs, plus
about 3 µs for each column a result has; SQLite takes a few µs to run one. Handling one
booking request runs eight of them, besides its BEGIN and COMMIT; sending one mail runs one,
besides a claim for each batch.

So a Core statement is written once (store/queries.py), rendered once per database and set
of parameter names into that database's SQL, and run as plain SQL. The only values
SQLAlchemy's column types would convert for these statements are timestamps, converted here
as store/types.py's UtcDateTime does: UTC, and on SQLite the text it writes for them. Errors
are SQLAlchemy's own, raised by `exec_driver_sql`; the store's boundary translates them.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

from mailbot.store.types import UtcDateTime

__all__ = ["Statement"]

Params = Mapping[str, Any]
_Reader = Callable[[Any], Any]


@dataclass(frozen=True)
class _Rendered:
    sql: str
    literals: dict[str, Any]
    row: Any  # a named tuple of the returned columns, or None when nothing is returned
    readers: tuple[_Reader | None, ...] | None  # per column; None when no column needs one
    timestamp: Callable[[datetime], Any]  # a timestamp as the driver is to be given it


class Statement:
    """A Core statement run as plain SQL: `rows()` for what it returns, `run()` otherwise."""

    def __init__(self, statement: Select[Any] | UpdateBase) -> None:
        self.statement = statement
        self._rendered: dict[tuple[str, frozenset[str]], _Rendered] = {}

    def rows(self, connection: Connection, params: Params) -> list[Any]:
        """The returned rows, as named tuples of the columns' keys."""
        rendered = self._render(connection, params)
        assert rendered.row is not None, "rows() of a statement that returns none"
        fetched = connection.exec_driver_sql(rendered.sql, _bind(rendered, params)).all()
        make, readers = rendered.row._make, rendered.readers
        if readers is None:
            return [make(raw) for raw in fetched]
        return [make(map(_read, readers, raw)) for raw in fetched]

    def run(self, connection: Connection, params: Params | Sequence[Params]) -> int:
        """Execute once per parameter set; how many rows were affected."""
        many = list(params) if isinstance(params, Sequence) else [params]
        if not many:
            return 0
        rendered = self._render(connection, many[0])
        if len(many) == 1:
            result = connection.exec_driver_sql(rendered.sql, _bind(rendered, many[0]))
        else:
            bound = [_bind(rendered, each) for each in many]
            result = connection.exec_driver_sql(rendered.sql, bound)
        return int(result.rowcount)

    def _render(self, connection: Connection, params: Params) -> _Rendered:
        # An INSERT's columns (an UPDATE's too) are the parameters given, as SQLAlchemy
        # compiles it when run as Core.
        dialect = connection.dialect
        key = (dialect.name, frozenset(params))
        found = self._rendered.get(key)
        if found is None:
            found = self._rendered[key] = _render(self.statement, dialect, list(params))
        return found


def _render(statement: Select[Any] | UpdateBase, dialect: Dialect, keys: list[str]) -> _Rendered:
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    sql = str(compiled)
    if "POSTCOMPILE" in sql:
        # An expanding IN (...) or a literal rendered at execution: its SQL is per call.
        raise ValueError(f"cannot be run as plain SQL, its SQL is finished per call: {sql}")
    if dialect.paramstyle not in ("named", "pyformat"):
        # Parameters go by name: SQLite's engine is opened with the named style for this.
        raise ValueError(f"{dialect.name} is opened with {dialect.paramstyle} parameters")
    # A SELECT's columns, or an INSERT's or UPDATE's RETURNING columns (none without it).
    columns = list(statement.exported_columns)
    on_sqlite = dialect.name == "sqlite"
    readers = tuple(
        (_from_sqlite_text if on_sqlite else _as_utc)
        if isinstance(column.type, UtcDateTime)
        else None
        for column in columns
    )
    if isinstance(statement, Insert):
        # A column's default is SQLAlchemy's to fill in when it runs a statement: here every
        # column that has one must be given, or it would be NULL.
        table = statement.table.columns
        defaulted = sorted(c.key for c in table if c.default is not None and c.key not in keys)
        if defaulted:
            raise ValueError(f"give a value for {', '.join(defaulted)}: {sql}")
    # The values of the statement's own literals (LIMIT 1, a status, a column set to NULL).
    literals = {name: value for name, value in compiled.params.items() if name not in keys}
    return _Rendered(
        sql=sql,
        literals=literals,
        # rename: unnamed expressions (counts, scalar subqueries) may share a name, or have none.
        row=namedtuple("Row", [str(c.key) for c in columns], rename=True) if columns else None,
        readers=readers if any(readers) else None,
        timestamp=_sqlite_text if on_sqlite else _as_utc,
    )


def _bind(rendered: _Rendered, params: Params) -> dict[str, Any]:
    timestamp = rendered.timestamp
    values = {
        name: timestamp(value) if isinstance(value, datetime) else value
        for name, value in params.items()
    }
    return {**rendered.literals, **values} if rendered.literals else values


def _read(reader: _Reader | None, value: Any) -> Any:
    return value if reader is None or value is None else reader(value)


def _sqlite_text(value: datetime) -> str:
    """The text UtcDateTime has SQLite keep for a timestamp: UTC, to the microsecond, so
    that comparing the texts compares the times."""
    return _as_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass an aware one")
    return value.astimezone(UTC)


def _from_sqlite_text(value: str) -> datetime:
    found = datetime.fromisoformat(value)
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)
