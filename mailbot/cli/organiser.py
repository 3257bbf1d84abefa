"""The organiser's commands from the command line, under the same rules as by mail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mailbot.cli.common import (
    EXIT_USAGE,
    ConfigOption,
    Ref,
    err,
    exit_codes,
    known_event,
    load,
    out,
)


def _organiser_command(config: Path | None, text: str, event: str | None = None) -> None:
    """One organiser command from the command line: the same rules as by email. `event`,
    an --event given, is checked first: in the command's text an unknown slug could be
    read as the end of a name."""
    from mailbot.runtime.wiring import build_mailbot

    with exit_codes():
        settings = load(config)
        if event is not None:
            known_event(settings, event)
        with build_mailbot(settings) as bot:
            result = bot.organiser_commands(text)
            for line in result.summary:
                (out if result.carried_out else err).print(line, markup=False, highlight=False)
            if not result.carried_out:
                raise typer.Exit(EXIT_USAGE)
            delivery = bot.deliver()
        out.print(f"attendees told: {delivery.sent} sent", markup=False, highlight=False)
        if delivery.stopped_by:
            err.print(f"mailbot: delivery paused, will retry: {delivery.stopped_by}", markup=False)


Event = Annotated[str, typer.Argument(help="Event slug, as in config.toml.")]


def approve(ref: Ref, config: ConfigOption = None) -> None:
    """Approve a request held for review: confirmed, or waitlisted when full."""
    _organiser_command(config, f"APPROVE {ref}")


def decline(ref: Ref, config: ConfigOption = None) -> None:
    """Decline a booking; a place it held passes to the waitlist."""
    _organiser_command(config, f"DECLINE {ref}")


def cancel(ref: Ref, config: ConfigOption = None) -> None:
    """Cancel a booking; a place it held passes to the waitlist."""
    _organiser_command(config, f"CANCEL {ref}")


def add(
    email: Annotated[str, typer.Argument(help="The attendee's address.")],
    name: Annotated[list[str], typer.Argument(help="The attendee's name.")],
    event: Annotated[str | None, typer.Option(help="Event slug (needed with several).")] = None,
    config: ConfigOption = None,
) -> None:
    """Book someone yourself (no eligibility check): confirmed, or waitlisted when full."""
    _organiser_command(config, f"ADD {email} {' '.join(name)} {event or ''}".strip(), event)


def move(ref: Ref, event: Event, config: ConfigOption = None) -> None:
    """Move a booking to another event."""
    _organiser_command(config, f"MOVE {ref} {event}")


def capacity(
    event: Event,
    places: Annotated[int, typer.Argument(min=0, help="The new number of places.")],
    config: ConfigOption = None,
) -> None:
    """Set an event's places; an increase passes places to the waitlist (as offers, with
    waitlist_offer_hours set)."""
    _organiser_command(config, f"CAPACITY {event} {places}")


Refs = Annotated[list[str], typer.Argument(help="Booking references.")]


def attended(refs: Refs, config: ConfigOption = None) -> None:
    """Record that these attendees came (from the event's start); certificates go out
    where the event gives them."""
    _organiser_command(config, "ATTENDED " + " ".join(refs))


def absent(refs: Refs, config: ConfigOption = None) -> None:
    """Record that these attendees did not come (from the event's start)."""
    _organiser_command(config, "ABSENT " + " ".join(refs))


def attendance(
    sheet: Annotated[Path, typer.Argument(help="The sign-in sheet from `mailbot export`.")],
    config: ConfigOption = None,
) -> None:
    """Record attendance from the ticked sign-in sheet (CSV or .xlsx): any mark in its
    Attended column means the person came; a confirmed row left blank, that they did not."""
    from mailbot.outbound.sign_in import SheetError, attendance_commands

    try:
        text = attendance_commands(sheet.read_bytes(), sheet.name)
    except (OSError, SheetError) as exc:
        err.print(f"mailbot: {sheet}: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    _organiser_command(config, text)
