"""Where the scheduler keeps its jobs: a table of mailbot's own database, so that a run
missed while mailbot was down is still made, once, when it starts again."""

from __future__ import annotations

from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore


def job_store(url: str, table: str) -> BaseJobStore:
    """APScheduler's store for its jobs in `table` of the database at `url`."""
    return SQLAlchemyJobStore(url=url, tablename=table)
