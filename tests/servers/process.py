"""Running a test server as a process of its own on loopback: a free port, waiting for its
IMAP greeting, and stopping its whole process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def greeting_problem(process: subprocess.Popen[bytes], port: int, deadline: float) -> str | None:
    """Wait until the server on `port` greets with "* OK"; what went wrong, or None."""
    while True:
        if process.poll() is not None:
            return "exited early"
        try:
            with socket.create_connection((HOST, port), timeout=1.0) as sock:
                if sock.recv(200).startswith(b"* OK"):
                    return None
        except OSError:
            pass
        if time.monotonic() > deadline:
            return f"did not greet on port {port}"
        time.sleep(0.01)


def kill_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process group `process` leads, then SIGKILL what is left after `grace`
    seconds: a child still serving a client can outlive its master."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=5.0)
