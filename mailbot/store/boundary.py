"""Where the store meets SQLAlchemy and the database drivers: what they raise becomes one of
mailbot's errors here, as an HTTP client turns its transport's errors into its own, so that
nothing outside store has to know what the database is spoken to with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from mailbot.errors import AlreadyRecordedError, OperationalError


@contextmanager
def database_errors() -> Iterator[None]:
    """SQLAlchemy's errors (which wrap the driver's) as mailbot's, in one line each.

    A broken integrity constraint is read as a row another process wrote first, as the
    pipeline always has: a key taken (a message's place in the ledger, a booking reference)
    is the only kind a correct program meets.
    """
    try:
        yield
    except IntegrityError as exc:
        raise AlreadyRecordedError(f"already recorded: {first_line(exc)}") from exc
    except SQLAlchemyError as exc:
        raise OperationalError(f"database error: {first_line(exc)}") from exc


def first_line(exc: SQLAlchemyError) -> str:
    """The driver's own words, without SQLAlchemy's statement and parameters (the values are
    people's addresses and mail: not for an error message)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
