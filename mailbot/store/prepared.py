"""Run the statements every message runs straight on the driver's cursor, compiled once.

Measured on SQLite, SQLAlchemy spends about 20 µs setting up and reading back each execution
of a small statement, and SQLite about 1 µs running it. Handling one booking request runs
nine of them; sending one mail runs one, besides a claim for each batch.

Here a Core statement is compiled once per dialect and set of parameter names. Its
parameters go through the same type processors SQLAlchemy would apply (timestamps as UTC,
SQLite's text format for them), and a driver error is raised as the exception SQLAlchemy
itself would raise, so callers cannot tell the difference except in time. Statements built
anew for each call stay with SQLAlchemy.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

__all__ = ["Prepared"]

Params = Mapping[str, Any]
_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    compiled: Any  # SQLCompiler: builds each call's full parameter set, literals included
    positions: tuple[str, ...] | None  # parameter order for a positional driver
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    row: Callable[..., tuple[Any, ...]] | None  # a named tuple of the returned columns
    readers: tuple[_Processor, ...]


class Prepared:
    """A Core statement made fast to run: `rows()` for what it returns, `run()` otherwise."""

    def __init__(self, statement: Select[Any] | UpdateBase) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, str, frozenset[str]], _Compiled] = {}

    def rows(self, connection: Connection, params: Params) -> list[Any]:
        """The returned rows, as named tuples of processed values."""
        compiled = self._compile(connection.dialect, params)
        cursor = self._execute(connection, compiled, [params])
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        assert compiled.row is not None, "rows() of a statement that returns none"
        make, readers = compiled.row, compiled.readers
        return [make(*map(_read, readers, raw)) for raw in fetched]

    def run(self, connection: Connection, params: Params | Sequence[Params]) -> int:
        """Execute once per parameter set; how many rows were affected."""
        many = list(params) if isinstance(params, Sequence) else [params]
        if not many:
            return 0
        compiled = self._compile(connection.dialect, many[0])
        cursor = self._execute(connection, compiled, many)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def _compile(self, dialect: Dialect, params: Params) -> _Compiled:
        # An INSERT's columns are the parameters given, as SQLAlchemy compiles it too; the
        # driver decides how parameters are written (`?` or `%(name)s`).
        key = (dialect.name, dialect.driver, frozenset(params))
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = _compile(self.statement, dialect, list(params))
        return found

    def _execute(self, connection: Connection, compiled: _Compiled, many: list[Params]) -> Any:
        rows = [_driver_params(compiled, params) for params in many]
        cursor = connection.connection.cursor()
        try:
            if len(rows) == 1:
                cursor.execute(compiled.sql, rows[0])
            else:
                cursor.executemany(compiled.sql, rows)
        except connection.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise DBAPIError.instance(
                compiled.sql,
                rows[0],
                exc,
                connection.dialect.loaded_dbapi.Error,
                # The values are people's addresses and mail: not for an error message.
                hide_parameters=True,
                dialect=connection.dialect,
            ) from exc
        return cursor


def _compile(statement: Any, dialect: Dialect, keys: list[str]) -> _Compiled:
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    if "POSTCOMPILE" in compiled.string:
        # An expanding IN (...) or a literal rendered at execution: SQLAlchemy's to run.
        raise ValueError(f"cannot be prepared, its SQL is finished per call: {compiled.string}")
    # One processor a name: a parameter used twice in a statement is two binds of one name.
    processors: dict[str, Callable[[Any], Any]] = {}
    for bind, name in compiled.bind_names.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.setdefault(name, processor)
    # A SELECT's columns, or an INSERT's or UPDATE's RETURNING columns (none without it).
    columns = list(statement.exported_columns)
    # rename: unnamed expressions (counts, scalar subqueries) may share a name.
    row = namedtuple("Row", [column.key for column in columns], rename=True) if columns else None
    return _Compiled(
        sql=compiled.string,
        compiled=compiled,
        positions=tuple(compiled.positiontup) if compiled.positional else None,
        processors=tuple(processors.items()),
        row=row,
        readers=tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ),
    )


def _read(reader: _Processor, value: Any) -> Any:
    return value if reader is None else reader(value)


def _driver_params(compiled: _Compiled, params: Params) -> Any:
    values = compiled.compiled.construct_params(params)
    for name, processor in compiled.processors:
        value = values[name]
        if value is not None:
            values[name] = processor(value)
    if compiled.positions is None:
        return values
    return tuple(values[name] for name in compiled.positions)
