"""`mailbot demo`: what the demo workspace shows a newcomer, table by table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from mailbot.cli.common import exit_codes, out
from mailbot.cli.people import bookings_table
from mailbot.domain import BookingStatus

if TYPE_CHECKING:
    from rich.table import Table

    from mailbot.cli.demo_run import WrittenReply
    from mailbot.store.store import Store

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
    from mailbot.runtime.wiring import open_store

    with exit_codes():
        result = run_demo(workspace)
        config = result.workspace / "config.toml"
        out.print(f"[bold]mailbot demo[/bold]: workspace {result.workspace}")
        out.print(
            f"Seeded a dozen booking emails for an event with {DEMO_CAPACITY} places; "
            f"processed the inbox once: {result.summary_line}."
        )
        _section(
            "Replies written to the outbox Maildir",
            _replies_table(result.replies, result.workspace),
        )
        for line in result.attendance:
            out.print(line, markup=False, highlight=False)
        _section(
            "On the day (the demo moves its clock to the event): attendance recorded, "
            "certificates sent",
            _replies_table(result.day_replies, result.workspace),
        )
        store = open_store(result.settings)
        unanswered = Table()
        for column in ("from", "what happened", "why"):
            unanswered.add_column(column, overflow="fold")
        for row in store.ledger():
            if row.disposition != "answered":
                where = _UNANSWERED_WHERE.get(row.disposition, "ignored")
                unanswered.add_row(row.sender_email or "?", where, row.reason)
        _section("Recorded but not answered", unanswered)
        _section("Bookings", bookings_table(store.bookings()))
        for line in _why_held(store, config):
            out.print(line, markup=False, highlight=False)
        out.print(f"\nLook around: mailbot bookings --config {config}", markup=False)


def _section(title: str, table: Table) -> None:
    # The title is a line of its own, not the table's: piped, a table prints as bare
    # tab-separated lines, and the demo's story still needs its headings.
    out.print(Text(f"\n{title}", style="bold"))
    out.print(table)


def _replies_table(replies: tuple[WrittenReply, ...], workspace: Path) -> Table:
    from rich.table import Table

    table = Table()
    for column in ("to", "outcome", "subject", "file"):
        table.add_column(column, overflow="fold")
    for reply in replies:
        relative = reply.path.relative_to(workspace)
        table.add_row(reply.recipient, reply.outcome, reply.subject, str(relative))
    return table


def _why_held(store: Store, config: Path) -> list[str]:
    """For each request held for the organiser, the reason mailbot recorded when it held it
    (from the booking's history, as `mailbot history` shows it) and what to do about it."""
    lines = []
    for record in store.bookings(status=BookingStatus.HELD):
        ref = record.view.ref
        held = [e for e in store.history(ref) if e.action.endswith(BookingStatus.HELD)]
        reason = held[-1].detail if held else "no reason recorded"
        lines.append(f"\n{ref} ({record.view.email}) is held. Why: {reason}.")
        lines.append(f"The organiser decides: mailbot approve {ref} --config {config} (or decline)")
    return lines
