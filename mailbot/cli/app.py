"""The `mailbot` command: its options, its logging, and which function answers each
subcommand. The commands themselves live in this package's other modules, by group."""

from __future__ import annotations

import json
import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from mailbot.cli import deliver, demo, health, organiser, people, service
from mailbot.cli.common import out


def _bare_flags(params: list[Any]) -> list[Any]:
    """`params`, each on/off flag (--help among them) shown without a type: typer 0.29's
    help prints `--help <bool>`, as if the flag took a value."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class _Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _bare_flags(super().get_params(ctx))


class _Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _bare_flags(super().get_params(ctx))


app = typer.Typer(
    name="mailbot",
    cls=_Group,
    help="Email-driven booking for small closed-audience events.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # A docstring's lines are joined into one paragraph in the list of commands too (in
    # "rich" mode they broke where the source did); `code` in help shows as code.
    rich_markup_mode="markdown",
)


# Each subcommand and the function that answers it, in the order `mailbot --help` lists them.
_COMMANDS = (
    ("demo", demo.demo),
    ("poll", service.poll),
    ("deliver", deliver.deliver),
    ("run", service.run),
    ("digest", service.digest),
    ("reminders", service.reminders),
    ("retention", service.retention),
    ("status", health.status),
    ("check", health.check),
    ("forget", people.forget),
    ("export-person", people.export_person),
    ("bookings", people.bookings),
    ("approve", organiser.approve),
    ("decline", organiser.decline),
    ("cancel", organiser.cancel),
    ("add", organiser.add),
    ("move", organiser.move),
    ("capacity", organiser.capacity),
    ("attended", organiser.attended),
    ("absent", organiser.absent),
    ("attendance", organiser.attendance),
    ("history", people.history),
    ("export", people.export),
)
for _name, _command in _COMMANDS:
    app.command(name=_name, cls=_Command)(_command)


class _JsonLines(logging.Formatter):
    """One JSON object per log line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _print_version(wanted: bool) -> None:
    if wanted:
        try:
            installed = version("mailbot")
        except PackageNotFoundError:  # run from a checkout that was never installed
            from mailbot import __version__ as installed
        out.print(f"mailbot {installed}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")] = False,
    json_logs: Annotated[
        bool, typer.Option("--json-logs", help="Log as one JSON object per line.")
    ] = False,
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print mailbot's version and exit.",
            callback=_print_version,
            is_eager=True,  # before a missing command or a bad option is complained of
        ),
    ] = False,
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonLines()
        if json_logs
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, handlers=[handler])
    # flufl.bounce logs every detector it tries, and a traceback when one trips over odd
    # mail; mailbot.inbound.classify.bounce already falls back, so only its own word counts.
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)


def main() -> None:
    """Console-script entry point; usage errors from typer/click exit 2 as the contract says."""
    app()


if __name__ == "__main__":
    main()
