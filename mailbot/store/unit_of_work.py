"""One transaction's plumbing: its connection, an ORM session made only when first needed,
statements run after the session's pending changes, savepoints for work that is kept whole
or not at all, and the audit entry every change writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable
from sqlmodel import Session

from mailbot.store import queries as q
from mailbot.store.statements import Statement


class Savepoint:
    """Work begun with `UnitOfWork.all_or_nothing`: `undo()` drops it when the block ends."""

    def __init__(self) -> None:
        self.undone = False

    def undo(self) -> None:
        self.undone = True


class UnitOfWork:
    """A connection in a writer's transaction. The store commits it; nothing here does."""

    def __init__(self, connection: Connection, *, serialise: bool = True) -> None:
        self._connection = connection
        self.serialise = serialise  # False only in the concurrency test's control run
        self._orm: Session | None = None

    @property
    def _session(self) -> Session:
        """An ORM session inside this transaction, made when first asked for: a booking
        request needs only plain statements, and a session costs more than several of them."""
        if self._orm is None:
            self._orm = Session(bind=self._connection, expire_on_commit=False)
        return self._orm

    def flush(self) -> None:
        """Write out pending ORM changes, so that a statement or the commit sees them."""
        session = self._orm
        if session is not None and (session.new or session.dirty or session.deleted):
            session.flush()

    def close(self) -> None:
        if self._orm is not None:
            self._orm.close()

    @contextmanager
    def all_or_nothing(self) -> Iterator[Savepoint]:
        """Everything written inside the block is kept, or, if the block raises or calls
        `undo()`, none of it is; what was written before the block stays either way."""
        nested = self._session.begin_nested()
        savepoint = Savepoint()
        try:
            yield savepoint
        except BaseException:
            nested.rollback()
            raise
        if savepoint.undone:
            nested.rollback()
        else:
            nested.commit()

    def _core(self, statement: Executable) -> Any:
        """Run a Core statement in this transaction, after pending ORM changes."""
        self.flush()
        return self._connection.execute(statement)

    def _rows(self, statement: Statement, values: dict[str, Any]) -> list[Any]:
        """A statement's rows in this transaction, after pending ORM changes."""
        self.flush()
        return statement.rows(self._connection, values)

    def _run(self, statement: Statement, values: dict[str, Any] | list[dict[str, Any]]) -> None:
        self.flush()
        statement.run(self._connection, values)

    def _audit(
        self, now: datetime, ref: str | None, actor: str, action: str, reasons: tuple[str, ...]
    ) -> None:
        self._run(
            q.INSERT_AUDIT,
            {
                "at": now,
                "booking_ref": ref,
                "actor": actor,
                "action": action,
                "detail": "; ".join(reasons),
            },
        )
