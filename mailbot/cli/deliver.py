"""Send the outbox and exit: by hand or from cron, and, with --follow, as the delivery
process a poll starts to send while it reads the inbox (see pipeline.courier)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from mailbot.cli.common import ConfigOption, exit_codes, load, out
from mailbot.errors import OperationalError

Follow = Annotated[
    bool,
    typer.Option(
        "--follow",
        hidden=True,
        help="Send each time a line arrives on stdin, until told to finish (for mailbot poll).",
    ),
]


def deliver(config: ConfigOption = None, follow: Follow = False) -> None:
    """Send every queued mail that is due, then exit."""
    from mailbot.pipeline.courier import deliver_as_told
    from mailbot.pipeline.delivery import deliver_pending
    from mailbot.runtime.wiring import open_outbox, open_sink

    with exit_codes():
        settings = load(config)
        outbox = open_outbox(settings)
        sink = open_sink(settings)
        started = _now()
        try:
            if follow:
                deliver_as_told(sys.stdin, sys.stdout, outbox, sink)
                return
            summary = deliver_pending(outbox, sink, _now)
        finally:
            sink.close()
        outbox.store.record_run("delivery", started, _now(), summary.line())
        out.print(summary.line(), markup=False, highlight=False)
        if summary.stopped_by:
            raise OperationalError(f"delivery paused, will retry: {summary.stopped_by}")


def _now() -> datetime:
    return datetime.now(UTC)
