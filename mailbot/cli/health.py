"""For the administrator: is the configuration right and every edge reachable (check), and
when did each job last run (status)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from mailbot.cli.common import (
    EXIT_OPERATIONAL,
    EXIT_USAGE,
    ConfigOption,
    err,
    exit_codes,
    load,
    out,
)
from mailbot.errors import ConfigError, MailbotError

if TYPE_CHECKING:
    from mailbot.config import Settings
    from mailbot.mail.base import MailSink, MailSource
    from mailbot.store.store import Store


def status(config: ConfigOption = None) -> None:
    """When the last poll, digest and delivery ran, and what is waiting."""
    from rich.table import Table

    from mailbot.runtime.wiring import open_store
    from mailbot.store.outbox import Outbox

    with exit_codes():
        settings = load(config)
        store = open_store(settings)
        zone = settings.zone
        runs = store.job_runs()
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


def check(config: ConfigOption = None) -> None:
    """Validate the configuration and warn of settings that are probably not meant, then try
    the database, the inbox and the way out."""
    from datetime import UTC, datetime

    from mailbot.config import config_path
    from mailbot.config_warnings import config_warnings
    from mailbot.runtime.wiring import open_sink, open_source, open_store

    with exit_codes():
        settings = load(config)
    out.print(f"[green]ok[/green]    configuration {settings.source}", highlight=False)
    # Named as errors name it: the file as given, so the two read alike.
    given = config_path(config)
    for warning in config_warnings(settings, datetime.now(UTC)):
        err.print(
            f"warning: {given}: {warning.key}: {warning.problem}", markup=False, highlight=False
        )
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
    return store.describe()


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
