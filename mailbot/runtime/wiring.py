"""Build the real edges (inbox, outbox, database) from validated settings.

Each function imports what it builds: a command pays only for the edges it opens (an idle
poll on a Maildir loads no IMAP or SMTP client, the delivery process no templates)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailbot.config import Settings
    from mailbot.mail.base import MailSink, MailSource, TokenSource
    from mailbot.pipeline.context import PipelineSettings
    from mailbot.pipeline.poll import Mailbot
    from mailbot.store.outbox import Outbox
    from mailbot.store.store import Store


def pipeline_settings(settings: Settings) -> PipelineSettings:
    from mailbot.inbound.classify import OwnIdentity
    from mailbot.outbound.render import Sender
    from mailbot.pipeline.context import PipelineSettings

    booking_address = settings.mailbox.address.lower()
    return PipelineSettings(
        events=settings.event_infos(),
        policy=settings.policy(),
        own=OwnIdentity(
            addresses=frozenset({booking_address}),
            message_id_domain=booking_address.rpartition("@")[2],
        ),
        trusted_authserv_ids=tuple(settings.security.trusted_authserv_ids),
        sender=Sender(
            booking_address=booking_address,
            organiser_name=settings.organiser.name,
            organiser_email=settings.organiser.email,
            display_name=f"{settings.organiser.name} (bookings)",
            eligible_domains=tuple(settings.eligibility.domains),
            quarantine_folder=settings.mailbox.quarantine_folder,
            quarantine_path=_maildir_folder(settings, settings.mailbox.quarantine_folder),
        ),
        max_failures=settings.mailbox.max_failures,
        replies_per_day=settings.limits.replies_per_address_per_day,
    )


def _maildir_folder(settings: Settings, name: str) -> str | None:
    """Where a Maildir inbox keeps its sub-folder `name` (Maildir++: ".name"), or None for
    an IMAP inbox, whose folders the organiser sees in their mail client."""
    maildir = settings.mailbox.maildir
    return None if maildir is None else str(settings.resolve_path(maildir) / f".{name}")


def open_store(settings: Settings) -> Store:
    from mailbot.store.database import connect
    from mailbot.store.store import Store

    store = Store(connect(settings.database_url()))
    store.sync_events(settings.event_infos())
    return store


def token_source(settings: Settings) -> TokenSource | None:
    """One cache of OAuth2 tokens for IMAP and SMTP alike, when either signs in that way."""
    o = settings.oauth2_in_use()
    if o is None:
        return None
    # Only here: its HTTP client adds 40 ms to the start of every command that needs none.
    from mailbot.mail.oauth import OAuth2Settings
    from mailbot.mail.oauth import TokenSource as OAuth2TokenSource

    return OAuth2TokenSource(
        OAuth2Settings(
            token_url=o.token_url,
            client_id=o.client_id,
            client_secret=o.secret(settings.source),
            scope=o.scope,
            grant=o.grant,
            refresh_token=o.refresh_token(settings.source),
        ),
        timeout=settings.mailbox.timeout_seconds,
    )


def open_source(settings: Settings, tokens: TokenSource | None = None) -> MailSource:
    box = settings.mailbox
    if box.maildir is not None:
        from mailbot.mail.maildir import MaildirSource

        return MaildirSource(
            settings.resolve_path(box.maildir),
            processed_folder=box.processed_folder,
            quarantine_folder=box.quarantine_folder,
        )
    assert box.host is not None  # the settings validator requires host or maildir
    from mailbot.mail.imap import ImapSource

    oauth = box.auth == "oauth2"
    if oauth and tokens is None:
        tokens = token_source(settings)
    return ImapSource(
        host=box.host,
        port=box.port,
        tls=box.tls,
        username=box.username or box.address,
        password="" if oauth else box.secret("mailbox", settings.source),
        folder=box.folder,
        processed_folder=box.processed_folder,
        quarantine_folder=box.quarantine_folder,
        timeout=box.timeout_seconds,
        token_source=tokens if oauth else None,
    )


def open_sink(settings: Settings, tokens: TokenSource | None = None) -> MailSink:
    smtp = settings.smtp
    if smtp.maildir is not None:
        from mailbot.mail.maildir import MaildirSink

        return MaildirSink(settings.resolve_path(smtp.maildir))
    assert smtp.host is not None  # the settings validator requires host or maildir
    from mailbot.mail.smtp import SmtpSink

    oauth = smtp.auth == "oauth2"
    if oauth and tokens is None:
        tokens = token_source(settings)
    password = smtp.secret("smtp", settings.source) if smtp.username and not oauth else None
    return SmtpSink(
        host=smtp.host,
        port=smtp.port,
        security=smtp.security,
        username=smtp.username,
        password=password,
        timeout=smtp.timeout_seconds,
        token_source=tokens if oauth else None,
    )


def open_outbox(settings: Settings) -> Outbox:
    """The outbox alone, for a process that only sends (`mailbot deliver`)."""
    from mailbot.store.database import connect
    from mailbot.store.outbox import Outbox
    from mailbot.store.store import Store

    return Outbox(Store(connect(settings.database_url())))


def deliver_command(settings: Settings, log_options: Sequence[str] = ()) -> list[str]:
    """The command line of a delivery process that sends when this one says so: a fresh
    interpreter, given the configuration file and this process's logging options."""
    config = ["--config", str(settings.source)]
    return [sys.executable, "-m", "mailbot", *log_options, "deliver", *config, "--follow"]


def build_mailbot(
    settings: Settings, *, send_alongside: bool = False, log_options: Sequence[str] = ()
) -> Mailbot:
    """Everything `mailbot poll` needs, opened and ready; the caller closes the edges.

    `send_alongside`: a poll's replies are sent by a delivery process of their own while
    the inbox is read (see courier), started with `log_options` (e.g. `--json-logs`).
    """
    from mailbot.pipeline.courier import ProcessCourier
    from mailbot.pipeline.poll import Mailbot

    tokens = token_source(settings)
    bot = Mailbot(
        pipeline_settings(settings),
        store=open_store(settings),
        source=open_source(settings, tokens),
        sink=open_sink(settings, tokens),
    )
    if send_alongside:
        bot.courier = ProcessCourier(
            deliver_command(settings, log_options),
            clock=lambda: bot.clock(),  # noqa: PLW0108 - read late: the clock may be swapped
        )
    return bot
