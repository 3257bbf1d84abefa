"""The outgoing-mail state machine: queued -> sending -> sent, or back to queued, or failed."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from mailbot.store import queries as q
from mailbot.store.store import Store
from mailbot.store.tables import FAILED, QUEUED, SENT, OutboxRow

# A claim older than this is presumed dead even on another host; it must exceed the
# longest an SMTP transaction can take (connect + DATA, each bounded by the timeout).
CLAIM_LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=2)
CLAIM_BATCH = 20  # few enough that a crash re-queues little, many enough to save round trips


@dataclass(frozen=True)
class Claimed:
    """A mail this process has claimed and must now deliver."""

    id: int
    message_id: str
    sender: str
    recipient: str
    data: bytes
    attempts: int
    created_at: datetime


def process_identity() -> str:
    return f"{platform.node()}:{os.getpid()}"


def retry_delay(attempts: int) -> timedelta:
    """Doubling delays from one minute, capped at an hour."""
    delay: timedelta = FIRST_RETRY * (2 ** max(0, attempts - 1))
    return min(delay, LONGEST_RETRY)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A process that has ended but was never waited for: signal 0 still reaches it. A
    delivery process whose parent was killed ends up so where the machine's first process
    does not reap orphans (seen in containers), and its claims must not wait out the lease."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (or the process just went): signal 0 is all we know
    # The command name in parentheses may hold spaces; the state follows its closing one.
    state = stat.rpartition(")")[2].split(maxsplit=1)[:1]
    return state in (["Z"], ["X"])


def _abandoned(claimant: str | None, claimed_at: datetime | None, host: str, now: datetime) -> bool:
    claimant_host, _, pid_text = (claimant or "").rpartition(":")
    dead_here = claimant_host == host and pid_text.isdigit() and not _pid_alive(int(pid_text))
    expired = claimed_at is None or claimed_at < now - CLAIM_LEASE
    return dead_here or expired


class Outbox:
    """Queries on the outbox table. Each method is its own short transaction."""

    def __init__(self, store: Store, identity: str | None = None) -> None:
        self.store = store
        self.identity = identity or process_identity()

    def requeue_abandoned(self, now: datetime) -> int:
        """Put back mail left "sending" by a process that died mid-send.

        A claim by a dead process on this host is re-queued at once; any claim older
        than the lease is re-queued wherever it was made.
        """
        host = platform.node()
        with self.store.writing() as connection:
            abandoned = [
                {"claim_id": row.id, "claimant": row.claimed_by, "now": now}
                for row in q.CLAIMS_IN_FLIGHT.rows(connection, {})
                if _abandoned(row.claimed_by, row.claimed_at, host, now)
            ]
            q.REQUEUE_CLAIM.run(connection, abandoned)
        return len(abandoned)

    def claim(self, now: datetime, limit: int = CLAIM_BATCH) -> list[Claimed]:
        """Claim up to `limit` due mails, oldest first, for this process to send now."""
        values = {"now": now, "limit": limit, "claimant": self.identity}
        with self.store.writing() as connection:
            rows = q.CLAIM_DUE.rows(connection, values)
        # RETURNING promises no order.
        return sorted((Claimed(**row._asdict()) for row in rows), key=lambda claimed: claimed.id)

    def mark_sent(self, claimed: Claimed, now: datetime) -> None:
        self._finish(claimed, SENT, now, error=None, sent_at=now)

    def mark_failed(self, claimed: Claimed, now: datetime, error: str) -> None:
        self._finish(claimed, FAILED, now, error=error)

    def mark_retry(self, claimed: Claimed, now: datetime, error: str) -> str:
        """Schedule another try, or fail the mail once it has been retried for too long."""
        if now - claimed.created_at >= GIVE_UP_AFTER:
            self.mark_failed(claimed, now, f"gave up after {claimed.attempts} attempts: {error}")
            return FAILED
        self._finish(
            claimed, QUEUED, now, error=error, next_attempt_at=now + retry_delay(claimed.attempts)
        )
        return QUEUED

    def release(self, claimed: Claimed, now: datetime, error: str) -> str:
        """Give a mail back untried: the server was unavailable, so this attempt does not
        count and it is due again at once (the caller decides when to try the server)."""
        if now - claimed.created_at >= GIVE_UP_AFTER:
            self.mark_failed(claimed, now, f"server unavailable for too long: {error}")
            return FAILED
        self._finish(
            claimed, QUEUED, now, error=error, next_attempt_at=now, attempts=claimed.attempts - 1
        )
        return QUEUED

    def _finish(
        self,
        claimed: Claimed,
        status: str,
        now: datetime,
        *,
        error: str | None,
        sent_at: datetime | None = None,
        next_attempt_at: datetime | None = None,
        attempts: int | None = None,
    ) -> None:
        values: dict[str, object] = {
            "status": status,
            "claimed_by": None,
            "claimed_at": None,
            "last_error": error,
        }
        if sent_at is not None:
            values["sent_at"] = sent_at
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if attempts is not None:
            values["attempts"] = attempts
        values["claim_id"] = claimed.id
        values["claimant"] = self.identity
        # A plain connection and a statement made once, not an ORM session: this runs once
        # per mail sent.
        with self.store.writing() as connection:
            q.FINISH_CLAIM.run(connection, values)

    def counts(self) -> dict[str, int]:
        with self.store.reading() as connection, Session(bind=connection) as session:
            rows = session.exec(
                select(OutboxRow.status, func.count()).group_by(col(OutboxRow.status))
            ).all()
        return {status: count for status, count in rows}
