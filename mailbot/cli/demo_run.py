"""`mailbot demo`: a throw-away workspace with a seeded Maildir inbox, processed once."""

from __future__ import annotations

import mailbox
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from mailbot.cli.demo_mail import AUTHSERV_ID, BOOKING_ADDRESS, demo_inbox
from mailbot.config import Settings, load_settings
from mailbot.runtime.wiring import build_mailbot

DEMO_CAPACITY = 6

_DEMO_CONFIG = f"""\
# A demo workspace made by `mailbot demo`. Rerun `mailbot poll --config {{config}}` or
# `mailbot bookings --config {{config}}` to look around.

[organiser]
name = "Forum Organiser"
email = "organiser@example.ac.uk"

[mailbox]
address = "{BOOKING_ADDRESS}"
maildir = "inbox"

[smtp]
maildir = "outbox"

[database]
url = "sqlite:///mailbot.db"

[eligibility]
domains = ["police.uk"]

[security]
trusted_authserv_ids = ["{AUTHSERV_ID}"]
require_authentication = true

[schedule]
timezone = "Europe/London"

[[events]]
slug = "cse-forum-preston"
title = "Working together to enhance police responses to child sexual exploitation"
# PLACEHOLDER DATE: the published announcement gives none; the demo puts it 15 weeks ahead.
starts_at = {{day}}T11:00:00
ends_at = {{day}}T15:45:00
venue = "University of Central Lancashire, Preston, Lancashire, PR1 2HE"
capacity = {DEMO_CAPACITY}
certificate = true
"""


@dataclass(frozen=True)
class WrittenReply:
    recipient: str
    outcome: str
    subject: str
    path: Path


@dataclass(frozen=True)
class DemoResult:
    workspace: Path
    settings: Settings
    summary_line: str
    replies: tuple[WrittenReply, ...]
    attendance: tuple[str, ...]  # what recording attendance on the day did
    day_replies: tuple[WrittenReply, ...]  # the certificates it sent


def create_workspace(workspace: Path | None, now: datetime) -> Path:
    """Write the demo config and seed the inbox; returns the config file's path."""
    root = workspace or Path(tempfile.mkdtemp(prefix="mailbot-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.toml"
    day = (now + timedelta(weeks=15)).date().isoformat()
    text = _DEMO_CONFIG.replace("{config}", str(config)).replace("{day}", day)
    config.write_text(text, encoding="utf-8")
    inbox = mailbox.Maildir(root / "inbox", create=True)
    for seeded in demo_inbox(now):
        key = inbox.add(seeded.data)
        # Maildir order is delivery order: give each file its message's arrival time.
        message = inbox.get_message(key)
        sent = message_from_bytes(seeded.data, policy=policy.default)["Date"].datetime
        message.set_date(sent.timestamp())
        inbox[key] = message
    return config


def run_demo(workspace: Path | None = None, now: datetime | None = None) -> DemoResult:
    moment = now or datetime.now(UTC)
    # The seeded mail arrived over the last couple of hours.
    config = create_workspace(workspace, moment - timedelta(hours=2))
    settings = load_settings(config)
    with build_mailbot(settings) as bot:
        summary = bot.poll()
    replies = tuple(_written_replies(settings.resolve_path("outbox")))
    attendance = _on_the_day(settings)
    day_replies = tuple(
        each for each in _written_replies(settings.resolve_path("outbox")) if each not in replies
    )
    return DemoResult(config.parent, settings, summary.line(), replies, attendance, day_replies)


def _on_the_day(settings: Settings) -> tuple[str, ...]:
    """The demo moves its clock to the afternoon of the event and records who came, as the
    organiser would by mail: all confirmed attendees but one, who did not come."""
    event = settings.event_infos()[0]
    afternoon = event.starts_at + timedelta(hours=4)
    with build_mailbot(settings) as bot:
        bot.clock = lambda: afternoon
        confirmed = [record.view.ref for record in bot.store.bookings(event.slug, "confirmed")]
        came, missed = confirmed[:-1], confirmed[-1:]
        text = f"ATTENDED {' '.join(came)}\nABSENT {' '.join(missed)}"
        result = bot.organiser_commands(text)
        bot.deliver()
    return result.summary


def _written_replies(outbox: Path) -> list[WrittenReply]:
    found: list[tuple[float, WrittenReply]] = []
    for sub in ("new", "cur"):
        for path in (outbox / sub).iterdir():
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            found.append(
                (
                    path.stat().st_mtime_ns,
                    WrittenReply(
                        recipient=str(message["To"]),
                        outcome=str(message["X-Mailbot-Outcome"]),
                        subject=str(message["Subject"]),
                        path=path,
                    ),
                )
            )
    return [reply for _, reply in sorted(found, key=lambda item: item[0])]
