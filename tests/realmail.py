"""A mailbot configured against the private Dovecot and an aiosmtpd server, run as a process."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from collections import defaultdict
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from tests.servers.dovecot import PrivateDovecot
from tests.servers.smtp import LoopbackSmtpServer

PASSWORD_ENV = "MAILBOT_TEST_IMAP_PASSWORD"

CONFIG = """\
[organiser]
name = "Forum Organiser"
email = "organiser@example.ac.uk"

[mailbox]
address = "bookings@example.ac.uk"
host = "127.0.0.1"
port = {imap_port}
tls = false
username = "{imap_user}"
password_env = "{password_env}"
timeout_seconds = 10
{mailbox_extra}
[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
timeout_seconds = 10

[database]
url = "{database_url}"

[eligibility]
domains = ["police.uk"]

[security]
trusted_authserv_ids = ["mx.example.ac.uk"]

[schedule]
poll_seconds = {poll_seconds}

[[events]]
slug = "cse-forum-preston"
title = "Working together to enhance police responses to child sexual exploitation"
starts_at = 2099-03-10T11:00:00
ends_at = 2099-03-10T15:45:00
venue = "University of Central Lancashire, Preston, PR1 2HE"
capacity = {capacity}
"""


FIRST_NAMES = ("Ann", "Ben", "Cara", "Dev", "Ella", "Finn", "Gita", "Hugo", "Isla", "Jon")
SURNAMES = ("Lee", "Moss", "Nash", "Owen", "Pike", "Quinn", "Reid", "Shaw", "Todd", "Vale")


def made_up_name(index: int) -> str:
    return f"{FIRST_NAMES[index % 10]} {SURNAMES[(index // 10) % 10]}"


def officer_request(index: int, domain: str = "lancashire.police.uk") -> bytes:
    name = made_up_name(index)
    message = EmailMessage()
    message["Authentication-Results"] = f"mx.example.ac.uk; dmarc=pass header.from={domain}"
    message["From"] = f"{name} <officer{index}@{domain}>"
    message["To"] = "bookings@example.ac.uk"
    message["Subject"] = f"Booking request {index}"
    message["Message-ID"] = f"<request-{index}@{domain}>"
    message.set_content(f"Please book me a place.\n\nPC {1000 + index} {name}\n")
    return message.as_bytes()


class RealMailbot:
    """Config on disk for one Dovecot user and one SMTP server; runs `mailbot` commands."""

    def __init__(
        self,
        root: Path,
        dovecot: PrivateDovecot,
        imap_user: str,
        smtp: LoopbackSmtpServer,
        *,
        capacity: int = 50,
        poll_seconds: int = 60,
        database_url: str | None = None,
        mailbox_extra: str = "",
    ) -> None:
        self.root = root
        self.dovecot = dovecot
        self.user = imap_user
        self.smtp = smtp
        self.config = root / "config.toml"
        self.database_url = database_url or f"sqlite:///{root / 'mailbot.db'}"
        self.config.write_text(
            CONFIG.format(
                imap_port=dovecot.port,
                imap_user=imap_user,
                password_env=PASSWORD_ENV,
                smtp_port=smtp.port,
                database_url=self.database_url,
                poll_seconds=poll_seconds,
                capacity=capacity,
                mailbox_extra=mailbox_extra,
            )
        )
        self.env = {**os.environ, PASSWORD_ENV: dovecot.password}

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        client = self.dovecot.client(self.user)
        try:
            for message in messages:
                client.append(folder, message)
        finally:
            client.logout()

    def folder_count(self, folder: str) -> int:
        client = self.dovecot.client(self.user)
        try:
            if not client.folder_exists(folder):
                return 0
            return int(client.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])
        finally:
            client.logout()

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "mailbot", *args, "--config", str(self.config)]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), capture_output=True, text=True, timeout=timeout, env=self.env
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )

    def replies(self) -> list[EmailMessage]:
        parsed = []
        for received in self.smtp.messages:
            message = email.message_from_bytes(received.content, policy=default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed

    def replies_by_request(self) -> dict[str, set[str]]:
        """For each request's Message-ID, the distinct Message-IDs of the replies to it."""
        found: dict[str, set[str]] = defaultdict(set)
        for message in self.replies():
            found[str(message["In-Reply-To"])].add(str(message["Message-ID"]))
        return dict(found)
