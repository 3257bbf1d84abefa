"""The command line's edges, where a newcomer stumbles first: --version, values an option
does not take, errors that blame the right thing, help that reads cleanly, and tables that
survive a pipe."""

from __future__ import annotations

import inspect
import re
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner

from mailbot.cli.app import app
from mailbot.domain import BookingStatus
from tests.harness import Workspace, compose
from tests.processes import run_mailbot as run

SECOND_EVENT = """
[[events]]
slug = "cse-forum-leeds"
title = "Working together: the Leeds forum"
starts_at = 2099-06-10T11:00:00
ends_at = 2099-06-10T15:45:00
venue = "Leeds"
capacity = 10
"""


SHEET = "<sheet>"  # a file to export to, in the test's own folder


def _in(folder: Path, command: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(str(folder / "sheet.csv") if arg == SHEET else arg for arg in command)


def _two_events(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path)
    ws.config.write_text(ws.config.read_text() + SECOND_EVENT)
    return ws


# --version and the values options take, as an administrator meets them: mailbot as a process.


@pytest.mark.integration
def test_version_prints_the_installed_version() -> None:
    result = run("--version")
    assert (result.returncode, result.stdout) == (0, f"mailbot {version('mailbot')}\n")


@pytest.mark.integration
def test_a_status_that_does_not_exist_exits_2_naming_those_that_do(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    result = run("bookings", "--status", "wailisted", "--config", str(ws.config))
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    message = " ".join(result.stderr.replace("│", " ").split())
    assert "--status" in message and "'wailisted' is not one of" in message
    for status in BookingStatus:
        assert repr(status.value) in message


@pytest.mark.integration
@pytest.mark.parametrize(
    ("command", "valid"),
    [(("bookings",), ("table", "csv", "json")), (("export", SHEET), ("csv", "xlsx"))],
)
def test_a_format_that_does_not_exist_exits_2_naming_those_that_do(
    tmp_path: Path, command: tuple[str, ...], valid: tuple[str, ...]
) -> None:
    ws = Workspace(tmp_path)
    result = run(*_in(tmp_path, command), "--format", "ods", "--config", str(ws.config))
    assert result.returncode == 2
    message = " ".join(result.stderr.replace("│", " ").split())
    assert "--format" in message and "'ods' is not one of" in message
    assert all(repr(each) in message for each in valid)


@pytest.mark.integration
@pytest.mark.parametrize(
    "command",
    [("bookings",), ("export", SHEET), ("add", "ann.bee@kent.police.uk", "Ann", "Bee")],
)
def test_an_event_that_is_not_configured_exits_2_listing_those_that_are(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    ws = _two_events(tmp_path)
    result = run(*_in(tmp_path, command), "--event", "cse-forum-york", "--config", str(ws.config))
    assert result.returncode == 2, result.stdout
    assert result.stderr == (
        "mailbot: --event: no event 'cse-forum-york'; "
        "configured: cse-forum-preston, cse-forum-leeds\n"
    )
    assert ws.new_replies() == [], "nobody is booked into an event picked by mistake"
    assert not (tmp_path / "sheet.csv").exists()


@pytest.mark.integration
def test_a_missing_booking_is_not_blamed_on_the_configuration(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    result = run("history", "zzz-999", "--config", str(ws.config))
    assert result.returncode == 2
    assert result.stderr == "mailbot: no booking ZZZ-999 has any history\n"
    # A real configuration problem still names the file: tests/test_config.py.


# Tables through a pipe: what `mailbot bookings | grep` and `| cut -f` read.

LONG_ADDRESSES = (
    "alexandra.fotheringham-wainwright@north-yorkshire.police.uk",
    "bartholomew.okonkwo-henderson.major-crime@west-midlands.police.uk",
    "constance.featherstonehaugh@devon-and-cornwall.police.uk",
)

NAMES = ("Alexandra Wainwright", "Bartholomew Henderson", "Constance Featherstonehaugh")
FORCES = ("North Yorkshire Police", "West Midlands Police", "Devon and Cornwall Police")


@pytest.mark.integration
def test_piped_tables_are_tab_separated_lines_with_every_address_whole(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=2)
    ws.deliver(
        *(
            compose(
                f"{name} <{address}>",
                f"Please book me a place.\n\nPC {1000 + i} {name}\n{force}\n",
                message_id=f"<long-{i}@police.uk>",
            )
            for i, (name, address, force) in enumerate(
                zip(NAMES, LONG_ADDRESSES, FORCES, strict=True)
            )
        )
    )
    ws.poll()
    # A narrow terminal's width, as a pipe used to get: nothing may be wrapped to it.
    narrow = {"COLUMNS": "80"}
    listed = run("bookings", "--config", str(ws.config), env=narrow)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split("\t") == ["ref", "status", "name", "rank", "force", "email"]
    assert [row.split("\t")[5] for row in rows] == list(LONG_ADDRESSES)
    assert [row.split("\t")[1] for row in rows] == ["confirmed", "confirmed", "waitlisted"]

    ref = rows[2].split("\t")[0]
    history = run("history", ref, "--config", str(ws.config), env=narrow)
    assert history.returncode == 0, history.stderr
    header, *entries = history.stdout.splitlines()
    assert header.split("\t") == ["when", "who", "what", "why"]
    assert entries and entries[0].split("\t")[1] == LONG_ADDRESSES[2]
    assert "full (2 places), waitlist position 1" in entries[0].split("\t")[3]


# Help, read in-process through the real command tree: every command, every option.


def _commands() -> dict[str, typer.core.TyperCommand]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return dict(group.commands)  # type: ignore[arg-type]


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def test_help_shows_no_type_after_a_flag() -> None:
    for args in [(), *((name,) for name in _commands())]:
        shown = _help(*args)
        assert "<bool>" not in shown, f"mailbot {' '.join(args)} --help"
        assert re.search(r"--help\s+Show this message", shown)


def test_every_option_and_argument_is_described() -> None:
    undescribed = [
        f"{name} {param.name}"
        for name, command in _commands().items()
        for param in command.params
        if isinstance(param, TyperOption | TyperArgument)
        and not getattr(param, "hidden", False)
        and not param.help
    ]
    assert undescribed == []


def test_each_command_is_summed_up_on_one_line_of_mailbot_help() -> None:
    shown = _help()
    for name, command in _commands().items():
        summary = inspect.cleandoc(command.help or "").split("\n\n")[0]
        (line,) = [line for line in shown.splitlines() if re.search(rf"│ {name}\s", line)]
        assert summary.split()[-1] in line, f"{name}'s summary broke where its source does"
