"""The service and its steps, each also run by hand: poll once, run the service, send the
digest, send the reminders."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from mailbot.cli.common import (
    ConfigOption,
    err,
    exit_codes,
    load,
    out,
)
from mailbot.errors import OperationalError

if TYPE_CHECKING:
    from mailbot.config import Settings


def poll(ctx: typer.Context, config: ConfigOption = None) -> None:
    """One full cycle: fetch every new message, decide, record, send every pending reply."""
    from mailbot.runtime.wiring import build_mailbot

    with exit_codes():
        settings = load(config)
        log_options = _log_options(ctx)
        with build_mailbot(settings, send_alongside=True, log_options=log_options) as bot:
            if out.is_terminal:
                from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

                with Progress(
                    SpinnerColumn(),
                    TextColumn("{task.description}"),
                    TextColumn("{task.completed} messages"),
                    TimeElapsedColumn(),
                    console=out,
                    transient=True,
                ) as progress:
                    task = progress.add_task("handling the inbox", total=None)
                    summary = bot.poll(on_message=lambda _result: progress.advance(task))
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


def _log_options(ctx: typer.Context) -> tuple[str, ...]:
    """The options `mailbot` was given for its logging, for the processes it starts."""
    given = ctx.find_root().params
    flags = (("verbose", "--verbose"), ("json_logs", "--json-logs"))
    return tuple(flag for name, flag in flags if given.get(name))


def run(
    config: ConfigOption = None,
    no_schedule: Annotated[
        bool, typer.Option("--no-schedule", help="Poll only: no digest, reminders or retention.")
    ] = False,
) -> None:
    """The service: poll (IMAP IDLE where the server has it, else every poll_seconds), the
    daily digest, reminders and retention, until SIGINT or SIGTERM; then stop cleanly."""
    from mailbot.runtime.jobs import build_scheduler, log_config_warnings
    from mailbot.runtime.service import StopSignal, run_service
    from mailbot.runtime.wiring import build_mailbot, open_store

    logging.getLogger("mailbot").setLevel(min(logging.INFO, logging.getLogger().level))
    with exit_codes():
        settings = load(config)
        log_config_warnings(settings)  # once, polling only or not: nobody may run check
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


def digest(config: ConfigOption = None, dry_run: DryRun = False) -> None:
    """Send the organiser's digest now (when there is news, or always if configured)."""
    from mailbot.pipeline.tasks import send_digest
    from mailbot.runtime.wiring import build_mailbot

    with exit_codes():
        settings = load(config)
        with build_mailbot(settings) as bot:
            result = send_digest(
                bot.scheduled(),
                settings.organiser.email,
                always=settings.schedule.digest_always,
                dry_run=dry_run,
            )
        if dry_run:
            out.print(f"Subject: {result.subject}\n", markup=False, highlight=False)
            out.print(result.text, markup=False, highlight=False)
        else:
            out.print(f"digest {result.reason}: {result.subject}", markup=False, highlight=False)


def reminders(config: ConfigOption = None, dry_run: DryRun = False) -> None:
    """Send every reminder that is due and not yet sent."""
    from mailbot.pipeline.reconfirm import reconfirm_and_release
    from mailbot.pipeline.tasks import send_reminders
    from mailbot.runtime.wiring import build_mailbot

    with exit_codes():
        settings = load(config)
        with build_mailbot(settings) as bot:
            plans = send_reminders(
                bot.scheduled(), tuple(settings.schedule.reminders), dry_run=dry_run
            )
            reconfirmed = reconfirm_and_release(
                bot.store,
                bot.handling(),
                bot.clock(),
                offset=settings.booking.reconfirm,
                hours=settings.booking.reconfirm_hours,
                dry_run=dry_run,
            )
            if reconfirmed and not dry_run:
                bot.deliver()
        verb = "would send" if dry_run else "sent"
        for plan in plans:
            skipped = f" (instead of {', '.join(plan.skipped)})" if plan.skipped else ""
            out.print(
                f"{verb} the {plan.offset} reminder to {plan.email} ({plan.ref}){skipped}",
                markup=False,
                highlight=False,
            )
        for line in reconfirmed:
            out.print(line, markup=False, highlight=False)
        out.print(f"{len(plans)} reminder(s) {verb}", markup=False, highlight=False)


def retention(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be erased; erase nothing.")
    ] = False,
) -> None:
    """Erase what retention would erase tonight, now.

    As the service does nightly: the people of events that ended more than [retention] days
    ago, then (with remove_filed_mail) mailbot's filed copies of their mail. For
    installations that run `mailbot poll` from cron instead of the service."""
    from mailbot.runtime.jobs import retain_now

    with exit_codes():
        settings = load(config)
        if dry_run:
            for line in _retention_preview(settings):
                out.print(line, markup=False, highlight=False)
            return
        summary = retain_now(settings)
        out.print(summary.line(), markup=False, highlight=False)
        if summary.filing_problem is not None:
            raise typer.Exit(1)  # the database part is done; the next run tries the mail again


def _retention_preview(settings: Settings) -> list[str]:
    from mailbot.pipeline.retention import events_due
    from mailbot.runtime.wiring import open_store

    days = settings.retention.days
    store = open_store(settings)
    lines = [
        f"would erase {len(store.bookings_for_events([event.slug]))} booking(s) of "
        f"{event.slug} (ended {event.ends_at:%Y-%m-%d}, kept {days} days)"
        for event in events_due(settings.event_infos(), days, datetime.now(UTC))
    ]
    if settings.retention.remove_filed_mail:
        folders = f"{settings.mailbox.processed_folder} and {settings.mailbox.quarantine_folder}"
        lines.append(f"would then remove the filed copies of erased mail from {folders}")
    return lines
