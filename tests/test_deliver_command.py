"""`mailbot deliver`: by hand it sends what is due and exits with the contract's status; with
--follow it is the delivery process a poll starts, answering on stdout in one JSON line and
logging as the poll was told to."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.runtime.wiring import deliver_command
from tests.processes import PATIENCE, run_mailbot
from tests.realmail import officer_request
from tests.sending import T0, open_store, outbox_states, queue_replies, received, smtp_workspace
from tests.servers.smtp import LoopbackSmtpServer

# Every test here runs mailbot as a process.
pytestmark = pytest.mark.integration


def test_the_delivery_process_logs_as_its_parent_was_told_to(
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    ws = smtp_workspace(tmp_path, smtp_server, capacity=10)
    ws.deliver(*(officer_request(index) for index in range(3)))
    smtp_server.handler.fail_with(421)  # the child warns that the server is unavailable
    result = run_mailbot("--json-logs", "poll", "--config", str(ws.config))
    assert result.returncode == 0, result.stderr
    # Every line is a JSON log entry but the command's own word to the administrator.
    lines = result.stderr.splitlines()
    said = [line for line in lines if line.startswith("mailbot: delivery paused")]
    entries = [json.loads(line) for line in lines if line not in said]
    assert said, result.stderr
    assert any(
        entry["logger"] == "mailbot.delivery" and "unavailable" in entry["message"]
        for entry in entries
    ), result.stderr
    assert outbox_states(open_store(ws)) == {"queued": 3}


def test_mailbot_deliver_sends_what_is_due_and_exits(
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    ws = smtp_workspace(tmp_path, smtp_server)
    store = open_store(ws)
    queued = queue_replies(store, 25, now=datetime.now(UTC))  # the command has the real clock

    result = run_mailbot("deliver", "--config", str(ws.config))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sent 25, deferred 0, failed 0"
    assert outbox_states(store) == {"sent": 25}
    assert received(smtp_server) == Counter(dict.fromkeys(queued, 1))
    status = run_mailbot("status", "--config", str(ws.config))
    assert "sent 25, deferred 0, failed 0" in status.stdout

    again = run_mailbot("deliver", "--config", str(ws.config))
    assert (again.returncode, again.stdout.strip()) == (0, "sent 0, deferred 0, failed 0")
    assert len(smtp_server.messages) == 25


def test_mailbot_deliver_exits_1_when_the_server_is_unavailable(
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    ws = smtp_workspace(tmp_path, smtp_server)
    store = open_store(ws)
    queue_replies(store, 3, now=datetime.now(UTC))  # not yet too old to try again
    smtp_server.stop()

    result = run_mailbot("deliver", "--config", str(ws.config))

    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("mailbot: delivery paused, will retry: "), result.stderr
    assert outbox_states(store) == {"queued": 3}


def test_mailbot_deliver_exits_2_on_a_bad_configuration(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[smtp]\nport = 'twenty-five'\n")
    result = run_mailbot("deliver", "--config", str(config))
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert not (tmp_path / "mailbot.db").exists()


def test_the_delivery_process_answers_its_parent_with_one_json_line(
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    ws = smtp_workspace(tmp_path, smtp_server)
    queue_replies(open_store(ws), 4)
    follower = subprocess.Popen(
        deliver_command(ws.settings),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert follower.stdin is not None and follower.stdout is not None
    # The parent keeps its end open until the answer: the end of stdin means it is gone.
    follower.stdin.write(f"nudge {T0.isoformat()}\nfinish {T0.isoformat()}\n")
    follower.stdin.flush()
    answer = follower.stdout.readline()
    follower.stdin.close()
    rest = follower.stdout.read()
    assert follower.wait(PATIENCE) == 0, follower.stderr.read() if follower.stderr else ""
    assert json.loads(answer) == {
        "sent": 4,
        "deferred": 0,
        "failed": 0,
        "requeued": 0,
        "stopped_by": None,
    }
    assert rest == ""
