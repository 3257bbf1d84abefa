"""The `mailbot` command as an administrator runs it: exit codes and what it prints."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
from contextlib import suppress
from pathlib import Path

import pytest

from mailbot.runtime.wiring import open_store
from tests.harness import Workspace
from tests.processes import MAILBOT
from tests.processes import run_mailbot as run
from tests.realmail import officer_request

# Every test here starts processes or servers of its own.
pytestmark = pytest.mark.integration


def test_demo_processes_the_seeded_inbox_and_shows_the_table(tmp_path: Path) -> None:
    result = run("demo", "--workspace", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "handled 12" in out
    for outcome in ("confirmed", "waitlisted", "declined", "held", "duplicate"):
        assert outcome in out
    assert "Auto-Submitted: auto-replied" in out  # the out-of-office, recorded not answered
    replies = list((tmp_path / "demo" / "outbox" / "new").iterdir())
    assert len(replies) == 11 + 5, "the replies, then a certificate for five who came"
    assert f"outbox/new/{replies[0].name}" in out
    assert "On the day" in out and out.count("Certificate of attendance:") == 5

    listed = run("bookings", "--config", str(tmp_path / "demo" / "config.toml"), "--format", "json")
    records = json.loads(listed.stdout)
    assert sum(r["status"] == "confirmed" for r in records) == 6
    assert {r["status"] for r in records} == {"confirmed", "waitlisted", "declined", "held"}
    assert sorted(str(r["attended"]) for r in records if r["status"] == "confirmed") == [
        "False",
        *["True"] * 5,
    ]

    # The held request is explained with the reason mailbot recorded when it held it.
    (held,) = [r["ref"] for r in records if r["status"] == "held"]
    store = open_store(Workspace.reopen(tmp_path / "demo").settings)
    recorded = store.history(held)[0].detail
    assert "not authenticated" in recorded
    (why,) = [line for line in out.splitlines() if line.startswith(f"{held} (")]
    assert why.endswith(f"is held. Why: {recorded}.")


def test_check_reports_each_part_and_succeeds_on_a_maildir_workspace(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    result = run("check", "--config", str(ws.config))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ok", "ok", "ok", "ok"]
    assert "database" in lines[1] and "0 bookings" in lines[1]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_check_exits_1_and_names_the_unreachable_server(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    port = _closed_port()
    text = ws.config.read_text().replace(
        'maildir = "inbox"',
        f'host = "127.0.0.1"\nport = {port}\ntls = false\nusername = "bookings"\n'
        'password_env = "TEST_IMAP_PASSWORD"',
    )
    ws.config.write_text(text)
    result = run("check", "--config", str(ws.config), env={"TEST_IMAP_PASSWORD": "s3cret-pw"})
    assert result.returncode == 1
    assert "FAIL  inbox" in result.stdout and f"127.0.0.1:{port}" in result.stdout
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert result.stdout.count("ok ") >= 2  # configuration and database still reported


def test_check_with_a_missing_password_variable_exits_2(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    text = ws.config.read_text().replace(
        'maildir = "inbox"',
        'host = "127.0.0.1"\ntls = false\nusername = "bookings"\npassword_env = "NO_SUCH_VAR_X"',
    )
    ws.config.write_text(text)
    result = run("check", "--config", str(ws.config))
    assert result.returncode == 2
    assert "mailbox.password_env" in result.stderr and "NO_SUCH_VAR_X is not set" in result.stderr


def test_unknown_command_option_is_a_usage_error() -> None:
    assert run("bookings", "--format", "xml").returncode == 2


def test_config_comes_from_the_environment_when_not_given(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    result = run("bookings", "--format", "json", env={"MAILBOT_CONFIG": str(ws.config)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_json_logs_have_one_line_per_message_and_no_bodies(tmp_path: Path) -> None:
    from tests.harness import eml

    ws = Workspace(tmp_path)
    ws.deliver(eml("01-officer-wmp.eml"))
    result = run("--json-logs", "--verbose", "poll", "--config", str(ws.config))
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    handled = [e for e in entries if e["logger"] == "mailbot.poll" and "confirmed" in e["message"]]
    assert len(handled) == 1
    assert "Please could I book" not in result.stderr, "never a message body in the logs"


def test_poll_in_a_terminal_shows_its_progress_then_the_summary(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=200)
    ws.deliver(*(officer_request(i) for i in range(150)))
    controller, terminal = pty.openpty()
    poll = subprocess.Popen(
        [*MAILBOT, "poll", "--config", str(ws.config)],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(terminal)
    shown = b""
    with suppress(OSError):  # the terminal reads as closed once the poll has exited
        while chunk := os.read(controller, 4096):
            shown += chunk
    os.close(controller)
    assert poll.wait(timeout=120) == 0, shown.decode(errors="replace")
    text = shown.decode(errors="replace")
    assert "handling the inbox" in text and "messages" in text
    assert "handled 150, confirmed 150" in text and "sent 150" in text
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 150
