"""`mailbot demo`: what the demo workspace shows a newcomer, table by table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mailbot.cli.common import exit_codes, out
from mailbot.cli.people import bookings_table

_UNANSWERED_WHERE = {
    "set-aside": "moved to Quarantine",
    "not-answered": "not answered: listed in the digest",
}


def demo(
    workspace: Annotated[
        Path | None,
        typer.Option(help="Folder for the demo workspace (default: a new temporary folder)."),
    ] = None,
) -> None:
    """Process a seeded inbox in a throw-away workspace and show what was decided."""
    from rich.table import Table

    from mailbot.cli.demo_run import DEMO_CAPACITY, run_demo

    with exit_codes():
        result = run_demo(workspace)
        out.print(f"[bold]mailbot demo[/bold]: workspace {result.workspace}")
        out.print(
            f"Seeded a dozen booking emails for an event with {DEMO_CAPACITY} places; "
            f"processed the inbox once: {result.summary_line}.\n"
        )
        replies = Table(title="Replies written to the outbox Maildir", title_justify="left")
        for column in ("to", "outcome", "subject", "file"):
            replies.add_column(column, overflow="fold")
        for reply in result.replies:
            relative = reply.path.relative_to(result.workspace)
            replies.add_row(reply.recipient, reply.outcome, reply.subject, str(relative))
        out.print(replies)
        day = Table(
            title="On the day (the demo moves its clock to the event): attendance recorded, "
            "certificates sent",
            title_justify="left",
        )
        for column in ("to", "outcome", "subject", "file"):
            day.add_column(column, overflow="fold")
        for reply in result.day_replies:
            relative = reply.path.relative_to(result.workspace)
            day.add_row(reply.recipient, reply.outcome, reply.subject, str(relative))
        for line in result.attendance:
            out.print(line, markup=False, highlight=False)
        out.print(day)
        from mailbot.runtime.wiring import open_store

        store = open_store(result.settings)
        unanswered = Table(title="Recorded but not answered", title_justify="left")
        for column in ("from", "what happened", "why"):
            unanswered.add_column(column, overflow="fold")
        for row in store.ledger():
            if row.disposition != "answered":
                where = _UNANSWERED_WHERE.get(row.disposition, "ignored")
                unanswered.add_row(row.sender_email or "?", where, row.reason)
        out.print(unanswered)
        out.print(bookings_table(store.bookings(), "Bookings"))
        out.print(
            f"\nLook around: mailbot bookings --config {result.workspace / 'config.toml'}",
            markup=False,
        )
