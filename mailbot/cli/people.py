"""What is held about people: the booking list, one booking's history, the sign-in sheet,
and a person's data exported or erased on request."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mailbot.cli.common import (
    ConfigOption,
    Ref,
    exit_codes,
    known_event,
    load,
    out,
)
from mailbot.domain import BookingStatus
from mailbot.errors import BadArgumentError

if TYPE_CHECKING:
    from rich.table import Table

    from mailbot.records import BookingRecord


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def bookings(
    config: ConfigOption = None,
    event: Annotated[str | None, typer.Option(help="Only this event (its slug).")] = None,
    status: Annotated[
        BookingStatus | None,
        typer.Option(metavar="<status>", help=f"Only this status: {', '.join(BookingStatus)}."),
    ] = None,
    format: Annotated[
        Format,
        typer.Option(
            "--format",
            help="Output format; piped, the table is tab-separated lines, column names first.",
        ),
    ] = Format.table,
) -> None:
    """List bookings."""
    from mailbot.runtime.wiring import open_store

    with exit_codes():
        settings = load(config)
        if event is not None:
            known_event(settings, event)
        rows = open_store(settings).bookings(event, status)
        if format is Format.json:
            sys.stdout.write(json.dumps([booking_record(r) for r in rows], indent=2) + "\n")
        elif format is Format.csv:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(_FIELDS))
            writer.writeheader()
            for row in rows:
                writer.writerow(booking_record(row))
        else:
            out.print(bookings_table(rows, f"Bookings ({len(rows)})"))


def history(ref: Ref, config: ConfigOption = None) -> None:
    """Every change to one booking: when, by whom, and why."""
    from rich.table import Table

    from mailbot.runtime.wiring import open_store

    with exit_codes():
        settings = load(config)
        entries = open_store(settings).history(ref.upper())
        if not entries:
            raise BadArgumentError(f"no booking {ref.upper()} has any history")
        table = Table(title=f"History of {ref.upper()}", title_justify="left")
        for column in ("when", "who", "what", "why"):
            table.add_column(column, overflow="fold")
        zone = settings.zone
        for entry in entries:
            when = entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            table.add_row(when, entry.actor, entry.action, entry.detail)
        out.print(table)


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


def export(
    output: Annotated[Path, typer.Argument(help="File to write, e.g. attendees.xlsx.")],
    event: Annotated[str | None, typer.Option(help="Event slug (needed with several).")] = None,
    format: Annotated[
        ExportFormat | None,
        typer.Option("--format", help="Sheet format (default: from the file name's suffix)."),
    ] = None,
    waitlist: Annotated[bool, typer.Option(help="List the waiting list after.")] = False,
    config: ConfigOption = None,
) -> None:
    """The attendee list as a sign-in sheet (CSV or Excel), ordered by surname."""
    from mailbot.outbound.export import attendees, to_csv, to_xlsx
    from mailbot.outbound.render import long_date
    from mailbot.runtime.wiring import open_store

    with exit_codes():
        settings = load(config)
        events = {e.slug: e for e in settings.event_infos()}
        if event is None and len(events) > 1:
            raise BadArgumentError(f"say which event: {', '.join(events)}", "--event")
        chosen = events[known_event(settings, event)] if event else next(iter(events.values()))
        kind = format or (ExportFormat.xlsx if output.suffix == ".xlsx" else ExportFormat.csv)
        people = attendees(open_store(settings).bookings(chosen.slug), include_waitlist=waitlist)
        if kind is ExportFormat.xlsx:
            data = to_xlsx(people, chosen.title, long_date(chosen.starts_at))
        else:
            data = to_csv(people, chosen.title)
        output.write_bytes(data)
        out.print(f"{len(people)} attendees written to {output}", markup=False, highlight=False)


def forget(
    email: Annotated[str, typer.Argument(help="The person's address.")],
    config: ConfigOption = None,
) -> None:
    """Erase one person now: their places are cancelled and passed on first, then their
    bookings' names and address, mail bodies and questions are erased."""
    from mailbot.pipeline.retention import forget as erase_person
    from mailbot.runtime.wiring import build_mailbot

    with exit_codes():
        settings = load(config)
        with build_mailbot(settings) as bot:
            erased = erase_person(bot.store, bot.handling(), email, bot.clock())
            delivery = bot.deliver()  # whoever a freed place passed to is told now
        out.print(f"{erased} booking(s) of {email} erased", markup=False, highlight=False)
        if delivery.sent:
            out.print(f"{delivery.sent} told of a place passed on", markup=False, highlight=False)


def export_person(
    email: Annotated[str, typer.Argument(help="The person's address.")],
    config: ConfigOption = None,
) -> None:
    """Print, as JSON, everything held about one person (a subject access request)."""
    from mailbot.pipeline.retention import what_we_hold
    from mailbot.runtime.wiring import open_store

    with exit_codes():
        settings = load(config)
        held = what_we_hold(open_store(settings), email)
        record = {
            "email": email.lower(),
            "bookings": [
                {**booking_record(b), "needs": b.needs, "undeliverable": b.undeliverable}
                for b in held.bookings
            ],
            "questions": [
                {"asked_at": q.asked_at.isoformat(), "text": q.text} for q in held.questions
            ],
            "messages_received_from": held.mails_received,
            "messages_sent_to": held.mails_sent,
        }
        sys.stdout.write(json.dumps(record, indent=2) + "\n")


_FIELDS: dict[str, Callable[[BookingRecord], object]] = {
    "ref": lambda r: r.view.ref,
    "event": lambda r: r.view.event_slug,
    "status": lambda r: r.view.status.value,
    "email": lambda r: r.view.email,
    "name": lambda r: r.view.name,
    "rank": lambda r: r.view.rank,
    "force": lambda r: r.view.force,
    "unit": lambda r: r.view.unit,
    "created_at": lambda r: r.created_at.isoformat(),
    "reconfirmed": lambda r: True if r.reconfirmed_at else None,
    "attended": lambda r: r.attended,
}


def booking_record(row: BookingRecord) -> dict[str, object]:
    return {name: get(row) for name, get in _FIELDS.items()}


def bookings_table(rows: list[BookingRecord], title: str | None = None) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("ref", "status", "name", "rank", "force", "email"):
        table.add_column(column, overflow="fold")
    for booking in (row.view for row in rows):
        table.add_row(
            booking.ref,
            booking.status.value,
            booking.name or "",
            booking.rank or "",
            booking.force or "",
            booking.email,
        )
    return table
