"""Start-up: a command imports only what it uses. Each library below costs tens of
milliseconds to import, which a user notices as a slow command; `python -X importtime`
names every module a process imported, so a stray import fails here by name."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import Workspace
from tests.processes import MAILBOT
from tests.realmail import officer_request

# Every test here runs mailbot as a process.
pytestmark = pytest.mark.integration

DATABASE = ("sqlalchemy", "sqlmodel", "alembic", "psycopg")
MAIL = ("imapclient", "aiosmtplib", "requests")
BESIDES = ("jinja2", "icalendar", "openpyxl", "apscheduler", "flufl.bounce")
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$")


def imported_by(*args: str, cwd: Path | None = None) -> set[str]:
    """Every module `mailbot ARGS` imported, from start to exit."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *MAILBOT[1:], *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {m.group(1) for line in result.stderr.splitlines() if (m := _IMPORTED.match(line))}


def among(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(f"{package}."))


def test_importtime_output_is_read_as_this_test_expects() -> None:
    # Else every absence below would pass for want of a match.
    modules = imported_by("--help")
    assert {"mailbot", "mailbot.cli.app", "typer"} <= modules


@pytest.mark.parametrize(
    "package", [*DATABASE, *MAIL, *BESIDES, "pydantic", "mailbot.config", "mailbot.runtime"]
)
def test_help_loads_no_library_a_command_would(package: str) -> None:
    assert among(imported_by("--help"), package) == []


@pytest.fixture(scope="module")
def idle_poll(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What `mailbot poll` imports when there is nothing new, the schema being current."""
    ws = Workspace(tmp_path_factory.mktemp("idle"), capacity=5)
    ws.deliver(officer_request(1))
    imported_by("poll", "--config", str(ws.config))  # creates the schema, answers the one
    modules = imported_by("poll", "--config", str(ws.config))
    assert "mailbot.pipeline.poll" in modules
    return modules


@pytest.mark.parametrize(
    "package", ["alembic", *MAIL, *BESIDES, "rich.progress", "mailbot.runtime.jobs"]
)
def test_an_idle_poll_loads_only_what_it_uses(idle_poll: set[str], package: str) -> None:
    assert among(idle_poll, package) == []


@pytest.fixture(scope="module")
def deliver_alone(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What `mailbot deliver` imports: the same as the delivery process a poll starts."""
    ws = Workspace(tmp_path_factory.mktemp("deliver"), capacity=5)
    modules = imported_by("deliver", "--config", str(ws.config))
    assert "mailbot.pipeline.delivery" in modules
    return modules


@pytest.mark.parametrize("package", ["jinja2", "icalendar", "flufl.bounce", "imapclient"])
def test_the_delivery_process_loads_no_templates_and_no_inbox(
    deliver_alone: set[str], package: str
) -> None:
    assert among(deliver_alone, package) == []
