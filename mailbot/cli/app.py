"""The `mailbot` command: builds the edges from the configuration, maps errors to exit codes."""

from __future__ import annotations

import csv
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from mailbot.config import Settings, config_path, load_settings
from mailbot.errors import ConfigError, MailbotError, OperationalError
from mailbot.mail.base import MailSink, MailSource
from mailbot.store.store import Store
from mailbot.store.tables import BookingRow

EXIT_OPERATIONAL = 1
# What became of a message recorded without a reply, as the demo's table says it.
_UNANSWERED_WHERE = {
    "set-aside": "moved to Quarantine",
    "not-answered": "not answered: listed in the digest",
}
EXIT_USAGE = 2

app = typer.Typer(
    name="mailbot",
    help="Email-driven booking for small closed-audience events.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True, soft_wrap=True)  # an error is one line, whatever the width

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Configuration file (default: $MAILBOT_CONFIG, else ./config.toml).",
        show_default=False,
    ),
]


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@contextmanager
def _exit_codes() -> Iterator[None]:
    """Turn mailbot's errors into a one-line message and the contract's exit status."""
    try:
        yield
    except ConfigError as exc:
        err.print(f"mailbot: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    except OperationalError as exc:
        err.print(f"mailbot: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_OPERATIONAL) from None
    except MailbotError as exc:
        err.print(f"mailbot: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_OPERATIONAL) from None


def _settings(config: Path | None) -> Settings:
    return load_settings(config_path(config))


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


@app.command()
def demo(
    workspace: Annotated[
        Path | None,
        typer.Option(help="Folder for the demo workspace (default: a new temporary folder)."),
    ] = None,
) -> None:
    """Process a seeded inbox in a throw-away workspace and show what was decided."""
    from mailbot.cli.demo import DEMO_CAPACITY, run_demo

    with _exit_codes():
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
        out.print(_bookings_table(store.bookings(), "Bookings"))
        out.print(
            f"\nLook around: mailbot bookings --config {result.workspace / 'config.toml'}",
            markup=False,
        )


@app.command()
def poll(config: ConfigOption = None) -> None:
    """One full cycle: fetch every new message, decide, record, send every pending reply."""
    from mailbot.runtime.wiring import build_mailbot

    with _exit_codes():
        settings = _settings(config)
        with build_mailbot(settings, send_alongside=True) as bot:
            if out.is_terminal:
                # Redrawn from this thread, not rich's own: no other thread may be at work
                # when the delivery process is forked (see build_mailbot).
                with Progress(
                    SpinnerColumn(),
                    TextColumn("{task.description}"),
                    TextColumn("{task.completed} messages"),
                    TimeElapsedColumn(),
                    console=out,
                    transient=True,
                    auto_refresh=False,
                ) as progress:
                    task = progress.add_task("handling the inbox", total=None)
                    summary = bot.poll(on_message=_advancing(progress, task))
            else:
                summary = bot.poll()
        out.print(summary.line(), markup=False, highlight=False)
        if summary.delivery.stopped_by:
            err.print(
                f"mailbot: delivery paused, will retry: {summary.delivery.stopped_by}",
                markup=False,
            )
        if summary.filing_problem:
            # Every reply went out; the administrator still has a folder or quota to mend.
            raise OperationalError(summary.filing_problem)


def _advancing(progress: Progress, task: TaskID) -> Callable[[str], None]:
    """Count a handled message, redrawing the progress line at most ten times a second."""
    last_drawn = 0.0

    def advance(_result: str) -> None:
        nonlocal last_drawn
        progress.advance(task)
        if time.monotonic() - last_drawn >= 0.1:
            progress.refresh()
            last_drawn = time.monotonic()

    return advance


@app.command()
def run(
    config: ConfigOption = None,
    no_schedule: Annotated[
        bool, typer.Option("--no-schedule", help="Poll only: no digest, reminders or retention.")
    ] = False,
) -> None:
    """The service: poll (IMAP IDLE where the server has it, else every poll_seconds), the
    daily digest, reminders and retention, until SIGINT or SIGTERM; then stop cleanly."""
    from mailbot.runtime.jobs import build_scheduler
    from mailbot.runtime.service import StopSignal, run_service
    from mailbot.runtime.wiring import build_mailbot, open_store

    logging.getLogger("mailbot").setLevel(min(logging.INFO, logging.getLogger().level))
    with _exit_codes():
        settings = _settings(config)
        open_store(settings)  # migrations run on start, before anything else touches the data
        stop = StopSignal()
        stop.install()
        scheduler = None if no_schedule else build_scheduler(settings)
        if scheduler is not None:
            scheduler.resume()
        try:
            run_service(lambda: build_mailbot(settings), settings.schedule.poll_seconds, stop)
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=True)  # a job in hand finishes first


DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would be sent; send nothing.")]


@app.command()
def digest(config: ConfigOption = None, dry_run: DryRun = False) -> None:
    """Send the organiser's digest now (when there is news, or always if configured)."""
    from mailbot.pipeline.tasks import send_digest
    from mailbot.runtime.wiring import build_mailbot

    with _exit_codes():
        settings = _settings(config)
        with build_mailbot(settings) as bot:
            result = send_digest(
                bot,
                settings.organiser.email,
                always=settings.schedule.digest_always,
                dry_run=dry_run,
            )
        if dry_run:
            out.print(f"Subject: {result.subject}\n", markup=False, highlight=False)
            out.print(result.text, markup=False, highlight=False)
        else:
            out.print(f"digest {result.reason}: {result.subject}", markup=False, highlight=False)


@app.command()
def reminders(config: ConfigOption = None, dry_run: DryRun = False) -> None:
    """Send every reminder that is due and not yet sent."""
    from mailbot.pipeline.tasks import send_reminders
    from mailbot.runtime.wiring import build_mailbot

    with _exit_codes():
        settings = _settings(config)
        with build_mailbot(settings) as bot:
            plans = send_reminders(bot, tuple(settings.schedule.reminders), dry_run=dry_run)
        verb = "would send" if dry_run else "sent"
        for plan in plans:
            skipped = f" (instead of {', '.join(plan.skipped)})" if plan.skipped else ""
            out.print(
                f"{verb} the {plan.offset} reminder to {plan.email} ({plan.ref}){skipped}",
                markup=False,
                highlight=False,
            )
        out.print(f"{len(plans)} reminder(s) {verb}", markup=False, highlight=False)


@app.command()
def status(config: ConfigOption = None) -> None:
    """When the last poll, digest and delivery ran, and what is waiting."""
    from sqlmodel import Session, select

    from mailbot.runtime.wiring import open_store
    from mailbot.store.outbox import Outbox
    from mailbot.store.tables import JobRunRow

    with _exit_codes():
        settings = _settings(config)
        store = open_store(settings)
        zone = settings.zone
        with Session(store.engine) as session:
            runs = {row.name: row for row in session.exec(select(JobRunRow)).all()}
        table = Table(title="mailbot status", title_justify="left")
        for column in ("job", "last finished", "result"):
            table.add_column(column, overflow="fold")
        for job in ("poll", "delivery", "digest", "reminders", "retention"):
            row = runs.get(job)
            when = (
                row.last_finished_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                if row and row.last_finished_at
                else "never"
            )
            table.add_row(job, when, (row.last_result or "") if row else "")
        out.print(table)
        counts = Outbox(store).counts()
        out.print(
            f"outbox: {counts.get('queued', 0)} queued, {counts.get('sending', 0)} sending, "
            f"{counts.get('failed', 0)} failed, {counts.get('sent', 0)} sent",
            markup=False,
            highlight=False,
        )


@app.command()
def check(config: ConfigOption = None) -> None:
    """Validate the configuration, then try the database, the inbox and the way out."""
    from mailbot.runtime.wiring import open_sink, open_source, open_store

    with _exit_codes():
        settings = _settings(config)
    out.print(f"[green]ok[/green]    configuration {settings.source}", highlight=False)
    failures = 0
    steps: list[tuple[str, Callable[[], str]]] = [
        ("database", lambda: _check_database(open_store(settings))),
    ]
    oauth2 = settings.oauth2_in_use()
    if oauth2 is not None:
        steps.append(("OAuth2 token", lambda: _check_token(settings, oauth2.token_url)))
    steps += [
        ("inbox", lambda: _check_edge(open_source(settings))),
        ("outgoing mail", lambda: _check_edge(open_sink(settings))),
    ]
    for name, step in steps:
        try:
            detail = step()
        except ConfigError as exc:
            err.print(f"mailbot: {exc}", markup=False, highlight=False)
            raise typer.Exit(EXIT_USAGE) from None
        except MailbotError as exc:
            failures += 1
            out.print(f"[red]FAIL[/red]  {name}: {exc}", highlight=False)
        else:
            out.print(f"[green]ok[/green]    {name}: {detail}", highlight=False)
    if failures:
        raise typer.Exit(EXIT_OPERATIONAL)


def _check_database(store: Store) -> str:
    counts = store.count_bookings()
    return f"{store.engine.url.render_as_string(hide_password=True)} ({counts} bookings)"


def _check_token(settings: Settings, token_url: str) -> str:
    from mailbot.runtime.wiring import token_source

    tokens = token_source(settings)
    assert tokens is not None  # only asked for when OAuth2 is in use
    tokens.token()
    return f"token obtained from {token_url}"


def _check_edge(edge: MailSource | MailSink) -> str:
    try:
        return edge.check()
    finally:
        edge.close()


@app.command()
def forget(
    email: Annotated[str, typer.Argument(help="The person's address.")],
    config: ConfigOption = None,
) -> None:
    """Erase one person now: their bookings' names and address, mail bodies and questions."""
    from mailbot.pipeline.retention import forget as erase_person
    from mailbot.runtime.wiring import open_store

    with _exit_codes():
        settings = _settings(config)
        erased = erase_person(open_store(settings), email, datetime.now(UTC))
        out.print(f"{erased} booking(s) of {email} erased", markup=False, highlight=False)


@app.command(name="export-person")
def export_person(
    email: Annotated[str, typer.Argument(help="The person's address.")],
    config: ConfigOption = None,
) -> None:
    """Print, as JSON, everything held about one person (a subject access request)."""
    from mailbot.pipeline.retention import what_we_hold
    from mailbot.runtime.wiring import open_store

    with _exit_codes():
        settings = _settings(config)
        held = what_we_hold(open_store(settings), email)
        record = {
            "email": email.lower(),
            "bookings": [
                {**_booking_record(b), "needs": b.needs, "undeliverable": b.undeliverable}
                for b in held.bookings
            ],
            "questions": [
                {"asked_at": q.asked_at.isoformat(), "text": q.text} for q in held.questions
            ],
            "messages_received_from": held.mails_received,
            "messages_sent_to": held.mails_sent,
        }
        sys.stdout.write(json.dumps(record, indent=2) + "\n")


@app.command()
def bookings(
    config: ConfigOption = None,
    event: Annotated[str | None, typer.Option(help="Only this event (its slug).")] = None,
    status: Annotated[
        str | None,
        typer.Option(help="Only this status: confirmed, waitlisted, held, declined, cancelled."),
    ] = None,
    format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """List bookings."""
    from mailbot.runtime.wiring import open_store

    with _exit_codes():
        settings = _settings(config)
        if event is not None and event not in {e.slug for e in settings.events}:
            raise ConfigError(settings.source, "--event", f"no event has the slug {event!r}")
        rows = open_store(settings).bookings(event, status)
        if format is Format.json:
            sys.stdout.write(json.dumps([_booking_record(r) for r in rows], indent=2) + "\n")
        elif format is Format.csv:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(_FIELDS))
            writer.writeheader()
            for row in rows:
                writer.writerow(_booking_record(row))
        else:
            out.print(_bookings_table(rows, f"Bookings ({len(rows)})"))


def _organiser_command(config: Path | None, text: str) -> None:
    """One organiser command from the command line: the same rules as by email."""
    from mailbot.pipeline.organiser_mail import organiser_commands
    from mailbot.runtime.wiring import build_mailbot

    with _exit_codes():
        settings = _settings(config)
        with build_mailbot(settings) as bot:
            result = organiser_commands(bot, text)
            for line in result.summary:
                (out if result.carried_out else err).print(line, markup=False, highlight=False)
            if not result.carried_out:
                raise typer.Exit(EXIT_USAGE)
            delivery = bot.deliver()
        out.print(f"attendees told: {delivery.sent} sent", markup=False, highlight=False)
        if delivery.stopped_by:
            err.print(f"mailbot: delivery paused, will retry: {delivery.stopped_by}", markup=False)


Ref = Annotated[str, typer.Argument(help="Booking reference, e.g. K7Q-4MZ.")]
Event = Annotated[str, typer.Argument(help="Event slug, as in config.toml.")]


@app.command()
def approve(ref: Ref, config: ConfigOption = None) -> None:
    """Approve a request held for review: confirmed, or waitlisted when full."""
    _organiser_command(config, f"APPROVE {ref}")


@app.command()
def decline(ref: Ref, config: ConfigOption = None) -> None:
    """Decline a booking; a place it held passes to the waitlist."""
    _organiser_command(config, f"DECLINE {ref}")


@app.command()
def cancel(ref: Ref, config: ConfigOption = None) -> None:
    """Cancel a booking; a place it held passes to the waitlist."""
    _organiser_command(config, f"CANCEL {ref}")


@app.command()
def add(
    email: Annotated[str, typer.Argument(help="The attendee's address.")],
    name: Annotated[list[str], typer.Argument(help="The attendee's name.")],
    event: Annotated[str | None, typer.Option(help="Event slug (needed with several).")] = None,
    config: ConfigOption = None,
) -> None:
    """Book someone yourself (no eligibility check): confirmed, or waitlisted when full."""
    _organiser_command(config, f"ADD {email} {' '.join(name)} {event or ''}".strip())


@app.command()
def move(ref: Ref, event: Event, config: ConfigOption = None) -> None:
    """Move a booking to another event."""
    _organiser_command(config, f"MOVE {ref} {event}")


@app.command()
def capacity(
    event: Event,
    places: Annotated[int, typer.Argument(min=0, help="The new number of places.")],
    config: ConfigOption = None,
) -> None:
    """Set an event's places; an increase passes places to the waitlist (as offers, with
    waitlist_offer_hours set)."""
    _organiser_command(config, f"CAPACITY {event} {places}")


@app.command()
def history(ref: Ref, config: ConfigOption = None) -> None:
    """Every change to one booking: when, by whom, and why."""
    from mailbot.runtime.wiring import open_store

    with _exit_codes():
        settings = _settings(config)
        entries = open_store(settings).history(ref.upper())
        if not entries:
            raise ConfigError(settings.source, "REF", f"no booking {ref.upper()} has any history")
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


@app.command()
def export(
    output: Annotated[Path, typer.Argument(help="File to write, e.g. attendees.xlsx.")],
    event: Annotated[str | None, typer.Option(help="Event slug (needed with several).")] = None,
    format: Annotated[ExportFormat | None, typer.Option("--format")] = None,
    waitlist: Annotated[bool, typer.Option(help="List the waiting list after.")] = False,
    config: ConfigOption = None,
) -> None:
    """The attendee list as a sign-in sheet (CSV or Excel), ordered by surname."""
    from mailbot.outbound.export import attendees, to_csv, to_xlsx
    from mailbot.outbound.render import long_date
    from mailbot.runtime.wiring import open_store

    with _exit_codes():
        settings = _settings(config)
        events = {e.slug: e for e in settings.event_infos()}
        if event is None and len(events) > 1:
            raise ConfigError(settings.source, "--event", f"say which: {', '.join(events)}")
        chosen = events.get(event) if event else next(iter(events.values()))
        if chosen is None:
            raise ConfigError(settings.source, "--event", f"no event has the slug {event!r}")
        kind = format or (ExportFormat.xlsx if output.suffix == ".xlsx" else ExportFormat.csv)
        people = attendees(open_store(settings).bookings(chosen.slug), include_waitlist=waitlist)
        if kind is ExportFormat.xlsx:
            data = to_xlsx(people, chosen.title, long_date(chosen.starts_at))
        else:
            data = to_csv(people, chosen.title)
        output.write_bytes(data)
        out.print(f"{len(people)} attendees written to {output}", markup=False, highlight=False)


_FIELDS: dict[str, Callable[[BookingRow], object]] = {
    "ref": lambda r: r.ref,
    "event": lambda r: r.event_slug,
    "status": lambda r: r.status,
    "email": lambda r: r.email,
    "name": lambda r: r.name,
    "rank": lambda r: r.rank,
    "force": lambda r: r.force,
    "unit": lambda r: r.unit,
    "created_at": lambda r: r.created_at.isoformat(),
}


def _booking_record(row: BookingRow) -> dict[str, object]:
    return {name: get(row) for name, get in _FIELDS.items()}


def _bookings_table(rows: list[BookingRow], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("ref", "status", "name", "rank", "force", "email"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.ref, row.status, row.name or "", row.rank or "", row.force or "", row.email
        )
    return table


def main() -> None:
    """Console-script entry point; usage errors from typer/click exit 2 as the contract says."""
    app()


if __name__ == "__main__":
    main()
