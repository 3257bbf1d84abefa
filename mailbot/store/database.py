"""Open the database and bring its schema up to date; SQLite and PostgreSQL alike."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from mailbot.errors import OperationalError
from mailbot.store.boundary import first_line

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger("mailbot.store")
_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_KEY = 0x6D61696C626F74  # "mailbot": one migrator at a time on PostgreSQL
SQLITE_BUSY_TIMEOUT_MS = 30_000
# The newest migration. A database already at it opens without loading alembic, which would
# add a few tenths of a second to every command; a test keeps this equal to the scripts' head.
SCHEMA_HEAD = "0012"


def open_engine(url: str, *, serialise: bool = True) -> Engine:
    """An engine whose every transaction is a writer's transaction on SQLite.

    pysqlite's own transaction handling starts transactions lazily and as DEFERRED, so a
    read-then-write can overbook; BEGIN IMMEDIATE takes the write lock up front instead.
    `serialise=False` keeps pysqlite's behaviour: for tests only, to read without taking the
    write lock, and to show in a control run that the lock is what prevents overbooking.
    """
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # Named parameters, as PostgreSQL's driver takes them: the statements store/statements.py
        # runs as plain SQL are then written alike for both.
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            paramstyle="named",
        )
        event.listen(engine, "connect", _sqlite_connect if serialise else _sqlite_pragmas)
        if serialise:
            event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    _sqlite_pragmas(dbapi_connection, record)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Apply every migration not yet applied. Safe to call on every start."""
    if _recorded_revision(engine) == SCHEMA_HEAD:
        return
    from alembic import command

    config = alembic_config()
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise OperationalError(f"cannot prepare the database: {first_line(exc)}") from exc


def schema_is_current(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current == head


def _recorded_revision(engine: Engine) -> str | None:
    """The revision alembic recorded, or None for a new database (or one it cannot read:
    the migration that follows then reports the problem properly)."""
    try:
        with engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version"))
            found: str | None = revision.scalar()
            return found
    except SQLAlchemyError:
        return None


def connect(url: str, *, serialise: bool = True) -> Engine:
    """Open and migrate; database problems become OperationalError."""
    try:
        engine = open_engine(url, serialise=serialise)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise OperationalError(f"cannot open the database {_redacted(url)}: {exc}") from exc
    migrate(engine)
    return engine


def _redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{rest.split('@', 1)[1]}"
    return url
