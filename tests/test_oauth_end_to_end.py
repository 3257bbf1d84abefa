"""OAuth2 end to end: `mailbot` signs in to a Dovecot that validates tokens by introspection
and to an aiosmtpd that takes AUTH XOAUTH2, with tokens from a local token endpoint."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import stop_service, wait_until
from tests.realmail import officer_request
from tests.servers.dovecot_oauth import OAuthDovecot
from tests.servers.oauth import TokenEndpoint
from tests.servers.smtp import LoopbackSmtpServer, SelfSignedCertificate

# Every test here starts processes or servers of its own.
pytestmark = pytest.mark.integration

SECRET_ENV = "MAILBOT_TEST_OAUTH_SECRET"

CONFIG = """\
[organiser]
name = "Forum Organiser"
email = "organiser@example.ac.uk"

[mailbox]
address = "bookings@example.ac.uk"
host = "127.0.0.1"
port = {imap_port}
tls = false
username = "{user}"
auth = "oauth2"
timeout_seconds = 10

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "starttls"
username = "{user}"
auth = "oauth2"
timeout_seconds = 10

[oauth2]
token_url = "{token_url}"
client_id = "{client_id}"
client_secret_env = "{secret_env}"
scope = "https://outlook.office365.com/.default"

[database]
url = "sqlite:///mailbot.db"

[eligibility]
domains = ["police.uk"]

[security]
trusted_authserv_ids = ["mx.example.ac.uk"]

[schedule]
poll_seconds = 1

[[events]]
slug = "cse-forum-preston"
title = "Working together to enhance police responses to child sexual exploitation"
starts_at = 2099-03-10T11:00:00
ends_at = 2099-03-10T15:45:00
venue = "University of Central Lancashire, Preston, PR1 2HE"
capacity = 50
"""


@pytest.fixture
def oauth_imap(token_endpoint: TokenEndpoint) -> Iterator[OAuthDovecot]:
    server = OAuthDovecot(introspection_url=token_endpoint.introspection_url)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class OAuthMailbot:
    def __init__(
        self,
        root: Path,
        imap: OAuthDovecot,
        smtp: LoopbackSmtpServer,
        endpoint: TokenEndpoint,
        certificate: SelfSignedCertificate,
    ) -> None:
        self.imap = imap
        self.user = endpoint.default_username
        self.config = root / "config.toml"
        self.config.write_text(
            CONFIG.format(
                imap_port=imap.port,
                smtp_port=smtp.port,
                user=self.user,
                token_url=endpoint.url,
                client_id=endpoint.client_id,
                secret_env=SECRET_ENV,
            )
        )
        # The test SMTP server's certificate is self-signed: trust it as a CA file would.
        self.env = {
            **os.environ,
            SECRET_ENV: endpoint.client_secret,
            "SSL_CERT_FILE": str(certificate.cert_path),
        }

    def append(self, *messages: bytes) -> None:
        client = self.imap.client(self.user)
        try:
            for message in messages:
                client.append("INBOX", message)
        finally:
            client.logout()

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "mailbot", *args, "--config", str(self.config)]

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), capture_output=True, text=True, timeout=120, env=env or self.env
        )


@pytest.fixture
def oauth_bot(
    tmp_path: Path,
    oauth_imap: OAuthDovecot,
    smtp_xoauth2_server: LoopbackSmtpServer,
    token_endpoint: TokenEndpoint,
    smtp_certificate: SelfSignedCertificate,
) -> OAuthMailbot:
    return OAuthMailbot(tmp_path, oauth_imap, smtp_xoauth2_server, token_endpoint, smtp_certificate)


def test_check_and_poll_sign_in_with_tokens(
    oauth_bot: OAuthMailbot, smtp_xoauth2_server: LoopbackSmtpServer
) -> None:
    checked = oauth_bot.run("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok    OAuth2 token: token obtained from http://127.0.0.1:" in checked.stdout
    assert "ok    inbox" in checked.stdout and "ok    outgoing mail" in checked.stdout

    oauth_bot.append(officer_request(1), officer_request(2))
    polled = oauth_bot.run("poll")
    assert polled.returncode == 0, polled.stderr
    assert "handled 2" in polled.stdout and "sent 2" in polled.stdout
    assert len(smtp_xoauth2_server.messages) == 2
    again = oauth_bot.run("poll")
    assert "handled 0" in again.stdout and len(smtp_xoauth2_server.messages) == 2


def test_a_wrong_secret_is_one_line_naming_the_cause_and_processes_nothing(
    oauth_bot: OAuthMailbot, token_endpoint: TokenEndpoint, smtp_xoauth2_server: LoopbackSmtpServer
) -> None:
    oauth_bot.append(officer_request(1))
    wrong = {**oauth_bot.env, SECRET_ENV: "not-the-secret"}
    checked = oauth_bot.run("check", env=wrong)
    assert checked.returncode == 1
    assert "AADSTS7000215" in checked.stdout
    assert "not-the-secret" not in checked.stdout + checked.stderr
    polled = oauth_bot.run("poll", env=wrong)
    assert polled.returncode == 1
    assert len(polled.stderr.strip().splitlines()) == 1 and "AADSTS7000215" in polled.stderr
    assert smtp_xoauth2_server.messages == []
    fixed = oauth_bot.run("poll")
    assert fixed.returncode == 0 and "handled 1" in fixed.stdout, "nothing was lost"


def test_unreachable_endpoint_exits_1_and_a_missing_variable_exits_2(
    oauth_bot: OAuthMailbot, token_endpoint: TokenEndpoint
) -> None:
    missing = {k: v for k, v in oauth_bot.env.items() if k != SECRET_ENV}
    result = oauth_bot.run("poll", env=missing)
    assert result.returncode == 2
    assert "oauth2.client_secret_env" in result.stderr and SECRET_ENV in result.stderr
    token_endpoint.stop()
    result = oauth_bot.run("poll")
    assert result.returncode == 1
    assert "cannot reach the token endpoint" in result.stderr


def test_a_token_that_expires_during_run_is_renewed_without_losing_or_repeating_mail(
    oauth_bot: OAuthMailbot,
    oauth_imap: OAuthDovecot,
    token_endpoint: TokenEndpoint,
    smtp_xoauth2_server: LoopbackSmtpServer,
) -> None:
    token_endpoint.lifetime_seconds = 3
    service = subprocess.Popen(
        oauth_bot.command("run", "--no-schedule"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=oauth_bot.env,
    )
    try:
        oauth_bot.append(officer_request(1), officer_request(2))
        assert wait_until(lambda: len(smtp_xoauth2_server.messages) == 2, 30)
        time.sleep(4)  # the token has expired
        oauth_imap.kill_connections(oauth_bot.user)  # the next login needs a token again
        smtp_xoauth2_server.stop()
        smtp_xoauth2_server.start()
        oauth_bot.append(officer_request(3), officer_request(4))
        assert wait_until(lambda: len(smtp_xoauth2_server.messages) == 4, 30)
    finally:
        code, err = stop_service(service)
    assert code == 0, err[-3000:]
    assert len(token_endpoint.issued) >= 2, "a fresh token was fetched"
    recipients = sorted(m.rcpt_tos[0] for m in smtp_xoauth2_server.messages)
    assert recipients == [f"officer{i}@lancashire.police.uk" for i in range(1, 5)]
