"""Other processes in tests: running mailbot's command line, stopping its service, waiting
for a condition, and for a process to be gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

PATIENCE = 30.0  # for what must happen: generous, the machine may be busy
MAILBOT = [sys.executable, "-m", "mailbot"]


def run_mailbot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`mailbot ARGS` to its end, output captured, with wide tables."""
    return subprocess.run(
        [*MAILBOT, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def stop_service(process: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM a running `mailbot run`; its exit status and standard error."""
    process.send_signal(signal.SIGTERM)
    try:
        _out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _out, err = process.communicate()
        raise AssertionError(f"mailbot run did not stop on SIGTERM:\n{err[-3000:]}") from None
    return process.returncode, err


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
