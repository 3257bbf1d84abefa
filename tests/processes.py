"""Waiting on other processes in tests: for a condition, and for a process to be gone."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

PATIENCE = 30.0  # for what must happen: generous, the machine may be busy


def wait_until(
    condition: Callable[[], bool], timeout: float = PATIENCE, interval: float = 0.02
) -> bool:
    """Whether `condition` became true within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def running(pid: int) -> bool:
    """Alive and not a zombie (whoever adopted an orphan may be slow to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
