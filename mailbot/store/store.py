"""The database behind the pipeline: a locked transaction to work in, and the short reads and
writes that need none (the attendee list, failures, job runs, history). What it returns is
mailbot's frozen values, and what goes wrong is mailbot's errors (see boundary)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, func
from sqlmodel import Session, col, select

from mailbot.domain import EventInfo, LedgerEntry
from mailbot.errors import AlreadyRecordedError
from mailbot.records import AuditEntry, BookingRecord, JobRun
from mailbot.store.bookings import Transaction
from mailbot.store.boundary import database_errors
from mailbot.store.events_told import as_told
from mailbot.store.rows import audit_entry, booking_record, job_run, ledger_entry
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

    def describe(self) -> str:
        """Which database this is (its password hidden) and how many bookings it holds."""
        where = self.engine.url.render_as_string(hide_password=True)
        return f"{where} ({self.count_bookings()} bookings)"

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
        """For store's own modules: a connection in a writer's transaction, committed on
        leaving, for Core statements alone, without the ORM session a `transaction` may
        make. What the database raises, in the block or at the commit, is mailbot's error."""
        with database_errors(), self.one_writer(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """For store's own modules: a connection to read with, its errors mailbot's."""
        with database_errors(), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self.reading() as connection, Session(bind=connection) as session:
            yield session

    @contextmanager
    def _writing_session(self) -> Iterator[Session]:
        """For the short writes below: an ORM session in a writer's transaction."""
        with self.writing() as connection, Session(bind=connection) as session:
            yield session
            session.flush()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One unit of work, committed when the block ends; `AlreadyRecordedError` when another
        process wrote one of its keys first, `OperationalError` for any other failure."""
        with self.writing() as connection:
            tx = Transaction(connection, serialise=self.serialise)
            try:
                yield tx
                tx.flush()
            finally:
                tx.close()

    def sync_events(self, events: Sequence[EventInfo]) -> None:
        """Make the event table match the configuration (new events added, details updated)."""
        with self._writing_session() as session:
            for info in events:
                row = session.get(EventRow, info.slug)
                if row is None:
                    # Nobody has been told anything else about a new event.
                    row = EventRow(
                        slug=info.slug,
                        title="",
                        starts_at=info.starts_at,
                        ends_at=info.ends_at,
                        venue="",
                        capacity=info.capacity,
                        told_starts_at=info.starts_at,
                        told_ends_at=info.ends_at,
                        told_venue=info.venue,
                    )
                row.title = info.title
                row.starts_at = info.starts_at
                row.ends_at = info.ends_at
                row.venue = info.venue
                row.capacity = info.capacity
                session.add(row)

    def events_with_news(self, events: Sequence[EventInfo]) -> list[EventInfo]:
        """The events whose configuration differs from what their attendees were told: read
        without a writer's lock, so a poll with no news takes none."""
        with self._session() as session:
            rows = {row.slug: row for row in session.exec(select(EventRow)).all()}
        return [e for e in events if e.slug in rows and as_told(rows[e.slug], e) != e]

    def bookings(
        self, event_slug: str | None = None, status: str | None = None
    ) -> list[BookingRecord]:
        statement = select(BookingRow)
        if event_slug:
            statement = statement.where(BookingRow.event_slug == event_slug)
        if status:
            statement = statement.where(BookingRow.status == status)
        statement = statement.order_by(col(BookingRow.created_at), col(BookingRow.id))
        with self._session() as session:
            return [booking_record(row) for row in session.exec(statement).all()]

    def record_failure(self, source_key: str, error: str, now: datetime) -> int:
        """Count one more crash on this message, in a transaction of its own; return the count."""
        with self._writing_session() as session:
            row = session.get(FailureRow, source_key)
            if row is None:
                row = FailureRow(source_key=source_key, attempts=0, last_error="", updated_at=now)
            row.attempts += 1
            row.last_error = error
            row.updated_at = now
            session.add(row)
            return row.attempts

    def claim_job(self, job: str, spacing: timedelta, now: datetime | None = None) -> bool:
        """Whether this process may run `job` now. With several mailbot processes on one
        database, the first to claim a slot runs it; the others see the claim and skip."""
        moment = now or datetime.now(UTC)
        self._ensure_job_row(job)
        with self._writing_session() as session:
            row = session.get(JobRunRow, job, with_for_update=True)
            assert row is not None  # created above, and job rows are never deleted
            if row.last_started_at is not None and moment - row.last_started_at < spacing:
                return False
            row.last_started_at = moment
            session.add(row)
            return True

    def record_run(self, job: str, started: datetime, finished: datetime, result: str) -> None:
        """When a job last ran and what it did, for `mailbot status`."""
        self._ensure_job_row(job)
        with self._writing_session() as session:
            row = session.get(JobRunRow, job, with_for_update=True)
            assert row is not None  # created above, and job rows are never deleted
            row.last_started_at = started
            row.last_finished_at = finished
            row.last_result = result
            session.add(row)

    def _ensure_job_row(self, job: str) -> None:
        # Two processes may both find no row and insert one: the loser's insert fails, and
        # the row it wanted is there all the same.
        try:
            with self._writing_session() as session:
                if session.get(JobRunRow, job) is None:
                    session.add(JobRunRow(name=job))
        except AlreadyRecordedError:
            pass

    def job_runs(self) -> dict[str, JobRun]:
        """When each job that ever ran last ran, by name."""
        with self._session() as session:
            return {row.name: job_run(row) for row in session.exec(select(JobRunRow)).all()}

    def history(self, ref: str) -> list[AuditEntry]:
        statement = (
            select(AuditRow)
            .where(AuditRow.booking_ref == ref)
            .order_by(col(AuditRow.at), col(AuditRow.id))
        )
        with self._session() as session:
            return [audit_entry(row) for row in session.exec(statement).all()]

    def bookings_for_events(self, slugs: Sequence[str]) -> list[BookingRecord]:
        statement = select(BookingRow).where(col(BookingRow.event_slug).in_(list(slugs)))
        with self._session() as session:
            return [booking_record(row) for row in session.exec(statement).all()]

    def bookings_of_person(self, email: str) -> list[BookingRecord]:
        statement = select(BookingRow).where(BookingRow.email == email)
        with self._session() as session:
            return [booking_record(row) for row in session.exec(statement).all()]

    def count_bookings(self) -> int:
        with self._session() as session:
            return int(session.exec(select(func.count()).select_from(BookingRow)).one())

    def ledger(self) -> list[LedgerEntry]:
        """Every inbound message handled, in the order handled."""
        with self._session() as session:
            rows = session.exec(select(InboundRow).order_by(col(InboundRow.id))).all()
            return [ledger_entry(row) for row in rows]
