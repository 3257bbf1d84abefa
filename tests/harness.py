"""A mailbot workspace on disk (config, Maildir inbox and outbox, SQLite) for pipeline tests."""

from __future__ import annotations

import email
import mailbox
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from mailbot.config import Settings, load_settings
from mailbot.pipeline.poll import Mailbot, PollSummary
from mailbot.runtime.wiring import build_mailbot

MAIL_DIR = Path(__file__).parent / "mail"
FIXED_NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)

CONFIG = """\
[organiser]
name = "Forum Organiser"
email = "organiser@example.ac.uk"

[mailbox]
address = "bookings@example.ac.uk"
maildir = "inbox"

[smtp]
maildir = "outbox"

[database]
url = "{database_url}"

[eligibility]
domains = ["police.uk"]

[security]
trusted_authserv_ids = ["mx.example.ac.uk"]
require_authentication = true

[[events]]
slug = "cse-forum-preston"
title = "Working together to enhance police responses to child sexual exploitation"
starts_at = 2099-03-10T11:00:00
ends_at = 2099-03-10T15:45:00
venue = "University of Central Lancashire, Preston, PR1 2HE"
capacity = {capacity}
"""


def eml(name: str) -> bytes:
    return (MAIL_DIR / name).read_bytes()


@dataclass(frozen=True)
class Reply:
    to: str
    outcome: str
    booking: str | None
    message: EmailMessage


class Workspace:
    """One booking inbox on disk; `poll()` runs the real pipeline over it."""

    def __init__(
        self, root: Path, capacity: int = 2, database_url: str = "sqlite:///mailbot.db"
    ) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.config = root / "config.toml"
        self.config.write_text(CONFIG.format(capacity=capacity, database_url=database_url))
        self.inbox = mailbox.Maildir(root / "inbox", create=True)
        self.outbox_path = root / "outbox"
        self._seen_replies: set[str] = set()

    @classmethod
    def reopen(cls, root: Path) -> Workspace:
        """The workspace already on disk at `root` (e.g. in another process)."""
        ws = cls.__new__(cls)
        ws.root = root
        ws.config = root / "config.toml"
        ws.inbox = mailbox.Maildir(root / "inbox", create=False)
        ws.outbox_path = root / "outbox"
        ws._seen_replies = set()
        return ws

    @property
    def settings(self) -> Settings:
        return load_settings(self.config)

    def set_booking(self, lines: str) -> None:
        """Give config.toml a [booking] section (the workspace's has none) with these lines."""
        text = self.config.read_text()
        assert "[booking]" not in text, "set_booking once per workspace"
        self.config.write_text(text.replace("[[events]]", f"[booking]\n{lines}\n\n[[events]]", 1))

    def deliver(self, *datas: bytes) -> None:
        for data in datas:
            key = self.inbox.add(data)
            # Keep delivery order stable even within one second.
            message = self.inbox.get_message(key)
            message.set_date(1_700_000_000 + len(self.inbox))
            self.inbox[key] = message

    def bot(self, clock: Callable[[], datetime] = lambda: FIXED_NOW) -> Mailbot:
        bot = build_mailbot(self.settings)
        bot.clock = clock
        return bot

    def poll(self) -> PollSummary:
        """One poll, sending once all is read: what reaches whom must not depend on how
        fast this machine reads (a poll also sends every second while it reads)."""
        with self.bot() as bot:
            bot.deliver_every_seconds = float("inf")
            return bot.poll()

    def all_replies(self) -> list[Reply]:
        replies = []
        for sub in ("new", "cur"):
            folder = self.outbox_path / sub
            if not folder.exists():
                continue
            for path in folder.iterdir():
                message = email.message_from_bytes(path.read_bytes(), policy=default)
                assert isinstance(message, EmailMessage)
                replies.append((path.stat().st_mtime_ns, path.name, message))
        replies.sort(key=lambda item: (item[0], item[1]))
        return [
            Reply(
                to=str(m["To"].addresses[0].addr_spec),
                outcome=str(m["X-Mailbot-Outcome"]),
                booking=str(m["X-Mailbot-Booking"]) if m["X-Mailbot-Booking"] else None,
                message=m,
            )
            for _, _, m in replies
        ]

    def new_replies(self) -> list[Reply]:
        """Replies written since the last call."""
        fresh = [
            r for r in self.all_replies() if str(r.message["Message-ID"]) not in self._seen_replies
        ]
        self._seen_replies.update(str(r.message["Message-ID"]) for r in fresh)
        return fresh

    def folder_count(self, name: str) -> int:
        if name not in self.inbox.list_folders():
            return 0
        return len(self.inbox.get_folder(name))


def compose(
    sender: str,
    body: str,
    *,
    subject: str = "Booking",
    message_id: str,
    in_reply_to: str | None = None,
    calendar: str | None = None,
    authenticated: bool = True,
) -> bytes:
    """A booking-inbox message as a mail client would send it, passed by our gateway."""
    message = EmailMessage()
    domain = sender.rpartition("@")[2].rstrip(">")
    verdict = "pass" if authenticated else "fail"
    message["Authentication-Results"] = f"mx.example.ac.uk; dmarc={verdict} header.from={domain}"
    message["From"] = sender
    message["To"] = "bookings@example.ac.uk"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    if calendar is not None:
        message.add_alternative(calendar, subtype="calendar", params={"method": "REPLY"})
    return message.as_bytes()


def unverified_request() -> bytes:
    """An officer's request whose address did not authenticate: held for the organiser."""
    return compose(
        "Bea Quinn <bea.quinn@cumbria.police.uk>",
        "Please book me a place.\n\nPC Bea Quinn\nCumbria Constabulary",
        message_id="<held-b@cumbria>",
        authenticated=False,
    )


def first_officer_cancels() -> bytes:
    """officer_request(0)'s sender giving the place up."""
    return compose(
        "Ann Lee <officer0@lancashire.police.uk>",
        "Sorry, I can no longer attend.",
        subject="Cancel",
        message_id="<cancel0@l>",
    )
