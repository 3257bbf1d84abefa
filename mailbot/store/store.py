"""The database behind the pipeline: a locked transaction to work in, and the short reads and
writes that need none (the attendee list, failures, job runs, history)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mailbot.domain import EventInfo
from mailbot.store.bookings import Transaction
from mailbot.store.tables import (
    AuditRow,
    BookingRow,
    EventRow,
    FailureRow,
    InboundRow,
    JobRunRow,
)
from mailbot.store.writer_lock import WriterLock


class Store:
    """The database behind the pipeline."""

    def __init__(self, engine: Engine, *, serialise: bool = True) -> None:
        self.engine = engine
        self.serialise = serialise
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._writer = WriterLock(Path(database) if database and database != ":memory:" else None)
        self._queue_writers = serialise and engine.dialect.name == "sqlite"

    @contextmanager
    def one_writer(self) -> Iterator[None]:
        """On SQLite, where every transaction takes the database's write lock, writers of
        this process and of others queue for it here (see writer_lock)."""
        if not self._queue_writers:
            yield
            return
        with self._writer.held():
            yield

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A connection in a writer's transaction, committed on leaving: for Core statements
        alone, without the ORM session a `transaction` may make."""
        with self.one_writer(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self.writing() as connection:
            tx = Transaction(connection, serialise=self.serialise)
            try:
                yield tx
                tx.flush()
            finally:
                tx.close()

    def sync_events(self, events: Sequence[EventInfo]) -> None:
        """Make the event table match the configuration (new events added, details updated)."""
        with self.transaction() as tx:
            for info in events:
                row = tx.session.get(EventRow, info.slug)
                if row is None:
                    row = EventRow(
                        slug=info.slug,
                        title="",
                        starts_at=info.starts_at,
                        ends_at=info.ends_at,
                        venue="",
                        capacity=info.capacity,
                    )
                row.title = info.title
                row.starts_at = info.starts_at
                row.ends_at = info.ends_at
                row.venue = info.venue
                row.capacity = info.capacity
                tx.session.add(row)

    def bookings(
        self, event_slug: str | None = None, status: str | None = None
    ) -> list[BookingRow]:
        with Session(self.engine, expire_on_commit=False) as session:
            statement = select(BookingRow)
            if event_slug:
                statement = statement.where(BookingRow.event_slug == event_slug)
            if status:
                statement = statement.where(BookingRow.status == status)
            statement = statement.order_by(col(BookingRow.created_at), col(BookingRow.id))
            return list(session.exec(statement).all())

    def record_failure(self, source_key: str, error: str, now: datetime) -> int:
        """Count one more crash on this message, in a transaction of its own; return the count."""
        with self.transaction() as tx:
            row = tx.session.get(FailureRow, source_key)
            if row is None:
                row = FailureRow(source_key=source_key, attempts=0, last_error="", updated_at=now)
            row.attempts += 1
            row.last_error = error
            row.updated_at = now
            tx.session.add(row)
            return row.attempts

    def claim_job(self, job: str, spacing: timedelta, now: datetime | None = None) -> bool:
        """Whether this process may run `job` now. With several mailbot processes on one
        database, the first to claim a slot runs it; the others see the claim and skip."""
        moment = now or datetime.now(UTC)
        self._ensure_job_row(job)
        with self.transaction() as tx:
            row = tx.session.get(JobRunRow, job, with_for_update=True)
            assert row is not None  # created above, and job rows are never deleted
            if row.last_started_at is not None and moment - row.last_started_at < spacing:
                return False
            row.last_started_at = moment
            tx.session.add(row)
            return True

    def record_run(self, job: str, started: datetime, finished: datetime, result: str) -> None:
        """When a job last ran and what it did, for `mailbot status`."""
        self._ensure_job_row(job)
        with self.transaction() as tx:
            row = tx.session.get(JobRunRow, job, with_for_update=True)
            assert row is not None  # created above, and job rows are never deleted
            row.last_started_at = started
            row.last_finished_at = finished
            row.last_result = result
            tx.session.add(row)

    def _ensure_job_row(self, job: str) -> None:
        # Two processes may both find no row and insert one: the loser's insert fails, and
        # the row it wanted is there all the same.
        try:
            with self.transaction() as tx:
                if tx.session.get(JobRunRow, job) is None:
                    tx.session.add(JobRunRow(name=job))
        except IntegrityError:
            pass

    def history(self, ref: str) -> list[AuditRow]:
        with Session(self.engine, expire_on_commit=False) as session:
            statement = (
                select(AuditRow)
                .where(AuditRow.booking_ref == ref)
                .order_by(col(AuditRow.at), col(AuditRow.id))
            )
            return list(session.exec(statement).all())

    def bookings_for_events(self, slugs: Sequence[str]) -> list[BookingRow]:
        with Session(self.engine, expire_on_commit=False) as session:
            statement = select(BookingRow).where(col(BookingRow.event_slug).in_(list(slugs)))
            return list(session.exec(statement).all())

    def bookings_of_person(self, email: str) -> list[BookingRow]:
        with Session(self.engine, expire_on_commit=False) as session:
            statement = select(BookingRow).where(BookingRow.email == email)
            return list(session.exec(statement).all())

    def count_bookings(self) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(func.count()).select_from(BookingRow)).one())

    def ledger(self) -> list[InboundRow]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(InboundRow).order_by(col(InboundRow.id))).all())
