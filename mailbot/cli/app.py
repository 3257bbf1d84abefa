"""The `mailbot` command: its options, its logging, and which function answers each
subcommand. The commands themselves live in this package's other modules, by group."""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import typer

from mailbot.cli import deliver, demo, health, organiser, people, service

app = typer.Typer(
    name="mailbot",
    help="Email-driven booking for small closed-audience events.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# Each subcommand and the function that answers it, in the order `mailbot --help` lists them.
_COMMANDS = (
    ("demo", demo.demo),
    ("poll", service.poll),
    ("deliver", deliver.deliver),
    ("run", service.run),
    ("digest", service.digest),
    ("reminders", service.reminders),
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
    app.command(name=_name)(_command)


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


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")] = False,
    json_logs: Annotated[
        bool, typer.Option("--json-logs", help="Log as one JSON object per line.")
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
