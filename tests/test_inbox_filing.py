"""A server that will not let handled mail be filed never holds back the replies."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.processes import stop_service, wait_until
from tests.realmail import RealMailbot, officer_request
from tests.servers.dovecot import PrivateDovecot
from tests.servers.smtp import LoopbackSmtpServer

# Every test here starts processes or servers of its own.
pytestmark = pytest.mark.integration

# Dovecot refuses to create a folder whose name begins with "~" ([CANNOT]), as a server with
# a full quota or a stricter namespace refuses a move: a real refusal, after the commit.
REFUSED_FOLDER = 'processed_folder = "~Processed"\n'


def test_poll_sends_every_reply_when_the_move_is_refused_and_says_why(
    tmp_path: Path, dovecot: PrivateDovecot, imap_user: str, smtp_server: LoopbackSmtpServer
) -> None:
    bot = RealMailbot(tmp_path, dovecot, imap_user, smtp_server, mailbox_extra=REFUSED_FOLDER)
    bot.append(officer_request(1), officer_request(2))

    first = bot.run("poll")

    assert len(bot.replies_by_request()) == 2, first.stderr
    assert first.returncode == 1, "an administrator's monitoring must see the refusal"
    assert "could not move 2 handled messages to ~Processed" in first.stderr
    assert "handled 2" in first.stdout and "sent 2" in first.stdout
    assert bot.folder_count("INBOX") == 2, "nothing is lost: the mail stays in the inbox"

    again = bot.run("poll")
    assert "handled 0" in again.stdout, "the ledger knows they were handled"
    assert len(smtp_server.messages) == 2, "and nobody is answered twice"
    assert again.returncode == 1


def test_the_service_answers_new_mail_while_moves_are_refused(
    tmp_path: Path, dovecot: PrivateDovecot, imap_user: str, smtp_server: LoopbackSmtpServer
) -> None:
    bot = RealMailbot(
        tmp_path,
        dovecot,
        imap_user,
        smtp_server,
        poll_seconds=300,
        mailbox_extra=REFUSED_FOLDER,
    )
    bot.append(officer_request(1))
    service = bot.start("run")
    try:
        assert wait_until(lambda: len(smtp_server.messages) == 1, 30), "first reply"
        time.sleep(1.0)
        bot.append(officer_request(2))
        # IDLE, not a backoff after a failure, decides when the second is answered.
        answered = wait_until(lambda: len(smtp_server.messages) == 2, 10)
    finally:
        code, err = stop_service(service)
    assert answered, err[-3000:]
    assert code == 0
    assert "could not move 1 handled message to ~Processed" in err
    assert len(bot.replies_by_request()) == 2
