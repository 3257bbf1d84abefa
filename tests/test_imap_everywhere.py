"""mailbot against every IMAP server configuration the suite runs (tests/servers/imap.py):
Dovecot as Debian ships it, with an "INBOX." namespace, with "/" between levels, without
MOVE and UIDPLUS, without IDLE, and Debian's Cyrus. Each request is answered exactly once,
handled mail is filed where that server keeps personal folders, and nobody else's mail is
touched."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailbot.mail.imap import ImapSource
from tests.harness import eml
from tests.processes import stop_service, wait_until
from tests.realmail import RealMailbot, officer_request
from tests.servers.imap import PrivateImapServer, personal
from tests.servers.postgres import create_database, drop_database
from tests.servers.smtp import LoopbackSmtpServer

# Every test here starts processes or servers of its own.
pytestmark = pytest.mark.integration


def uids_and_flags(server: PrivateImapServer, user: str, folder: str) -> list[tuple[bytes, ...]]:
    """The flags of each message in a folder (none at all if it does not exist)."""
    with server.client(user) as client:
        if not client.folder_exists(folder):
            return []
        client.select_folder(folder, readonly=True)
        found = client.fetch(client.search(["ALL"]), ["FLAGS"])
        return [tuple(found[uid][b"FLAGS"]) for uid in sorted(found)]


def open_source(server: PrivateImapServer, user: str) -> ImapSource:
    return ImapSource(
        host=server.host,
        port=server.port,
        tls=False,
        username=user,
        password=server.password,
        timeout=10.0,
    )


@pytest.fixture
def source(imap_server: PrivateImapServer, imap_server_user: str) -> Iterator[ImapSource]:
    made = open_source(imap_server, imap_server_user)
    yield made
    made.close()


def append(server: PrivateImapServer, user: str, *messages: bytes, deleted: bool = False) -> None:
    with server.client(user) as client:
        for data in messages:
            flags = [b"\\Deleted"] if deleted else []
            client.append("INBOX", data, flags=flags)


def waiting(server: PrivateImapServer, user: str) -> int:
    """Messages in INBOX not flagged \\Deleted: what is still waiting to be handled. (Without
    UIDPLUS mailbot's own handled copies stay behind, flagged; see the test below.)"""
    return sum(b"\\Deleted" not in flags for flags in uids_and_flags(server, user, "INBOX"))


def test_handled_mail_is_filed_among_the_personal_folders(
    imap_server: PrivateImapServer, imap_server_user: str, source: ImapSource
) -> None:
    append(imap_server, imap_server_user, officer_request(1), officer_request(2))
    first, second = list(source.fetch_new())
    source.mark_handled(first.source_key)
    source.set_aside(second.source_key)
    source.close()

    assert waiting(imap_server, imap_server_user) == 0
    processed = personal(imap_server, imap_server_user, "Processed")
    quarantine = personal(imap_server, imap_server_user, "Quarantine")
    assert len(uids_and_flags(imap_server, imap_server_user, processed)) == 1
    assert len(uids_and_flags(imap_server, imap_server_user, quarantine)) == 1


def test_mail_someone_flagged_deleted_is_never_handled_moved_or_expunged(
    imap_server: PrivateImapServer, imap_server_user: str, source: ImapSource
) -> None:
    append(imap_server, imap_server_user, officer_request(1), deleted=True)
    append(imap_server, imap_server_user, officer_request(2))

    (message,) = list(source.fetch_new())
    assert b"request-2@" in message.data
    source.mark_handled(message.source_key)
    source.close()

    processed = personal(imap_server, imap_server_user, "Processed")
    filed = uids_and_flags(imap_server, imap_server_user, processed)
    assert len(filed) == 1 and b"\\Deleted" not in filed[0], "the archived copy is kept"
    inbox = uids_and_flags(imap_server, imap_server_user, "INBOX")
    # The other client's message is still there for that client to expunge. Without
    # UIDPLUS ours stays too, flagged, because a plain EXPUNGE would take the other one.
    assert all(b"\\Deleted" in flags for flags in inbox)
    assert len(inbox) == (2 if imap_server.name == "dovecot-no-move-uidplus" else 1)

    again = open_source(imap_server, imap_server_user)
    try:
        assert list(again.fetch_new()) == [], "a new session finds nothing left to handle"
    finally:
        again.close()


def test_mail_announced_in_the_reply_to_a_command_is_fetched_without_waiting(
    imap_server: PrivateImapServer, imap_server_user: str, source: ImapSource
) -> None:
    append(imap_server, imap_server_user, officer_request(1))
    (first,) = list(source.fetch_new())
    append(imap_server, imap_server_user, officer_request(2))
    time.sleep(0.7)  # past Dovecot's half-second delay, so every server has news to tell
    source.mark_handled(first.source_key)
    source.flush()  # a command whose reply carries the announcement

    started = time.monotonic()
    announced = source.wait_for_new(timeout=8.0)
    waited = time.monotonic() - started

    assert announced and waited < 1.0, f"waited {waited:.2f} s for mail already announced"
    assert [b"request-2@" in m.data for m in source.fetch_new()] == [True]


def poll_bot(
    tmp_path: Path,
    server: PrivateImapServer,
    user: str,
    smtp: LoopbackSmtpServer,
    **kwargs: Any,
) -> RealMailbot:
    return RealMailbot(tmp_path, server, user, smtp, **kwargs)  # type: ignore[arg-type]


def test_poll_answers_each_request_once_and_files_it(
    tmp_path: Path,
    imap_server: PrivateImapServer,
    imap_server_user: str,
    smtp_server: LoopbackSmtpServer,
) -> None:
    bot = poll_bot(tmp_path, imap_server, imap_server_user, smtp_server)
    bot.append(*(officer_request(i) for i in range(20)), eml("04-out-of-office.eml"))
    # Unreadable to mailbot (no From), yet a message every server accepts.
    bot.append(b"To: bookings@example.ac.uk\r\nSubject: Forum\r\n\r\nWho wrote this?\r\n")

    first = bot.run("poll")

    assert first.returncode == 0, first.stderr[-3000:]
    replies = bot.replies_by_request()
    assert len(replies) == 20 and all(len(ids) == 1 for ids in replies.values())
    assert waiting(imap_server, imap_server_user) == 0
    assert bot.folder_count(personal(imap_server, imap_server_user, "Processed")) == 21
    assert bot.folder_count(personal(imap_server, imap_server_user, "Quarantine")) == 1
    again = bot.run("poll")
    assert again.returncode == 0 and "handled 0" in again.stdout, again.stderr[-3000:]
    assert len(smtp_server.messages) == 20


def test_the_service_answers_new_mail_at_once(
    tmp_path: Path,
    imap_server: PrivateImapServer,
    imap_server_user: str,
    smtp_server: LoopbackSmtpServer,
) -> None:
    # poll_seconds is long: only the server's announcement can explain a prompt answer.
    bot = poll_bot(tmp_path, imap_server, imap_server_user, smtp_server, poll_seconds=300)
    bot.append(officer_request(1))
    service = bot.start("run")
    try:
        assert wait_until(lambda: len(smtp_server.messages) == 1, 30), "first poll"
        for index in range(2, 5):
            bot.append(officer_request(index))
            # Without IDLE, mailbot asks the server for news every five seconds.
            assert wait_until(lambda n=index: len(smtp_server.messages) == n, 8), index
    finally:
        code, err = stop_service(service)
    assert code == 0, err[-3000:]
    replies = bot.replies_by_request()
    assert len(replies) == 4 and all(len(ids) == 1 for ids in replies.values())
    assert waiting(imap_server, imap_server_user) == 0


@pytest.mark.parametrize("imap_server", ["dovecot", "cyrus"], indirect=True)
def test_two_instances_on_one_inbox_both_succeed_and_answer_each_request_once(
    tmp_path: Path,
    imap_server: PrivateImapServer,
    imap_server_user: str,
    smtp_server: LoopbackSmtpServer,
) -> None:
    database = create_database()
    try:
        bot = poll_bot(tmp_path, imap_server, imap_server_user, smtp_server, database_url=database)
        # The schema is made once, before the two race for the inbox.
        made = bot.run("bookings")
        assert made.returncode == 0, made.stderr[-3000:]
        for batch in range(2):
            bot.append(*(officer_request(i) for i in range(batch * 150, (batch + 1) * 150)))
            both = [bot.start("poll"), bot.start("poll")]
            results = [process.communicate(timeout=300) for process in both]
            for process, (_out, err) in zip(both, results, strict=True):
                assert process.returncode == 0, err[-3000:]
        replies = bot.replies_by_request()
        assert len(replies) == 300 and all(len(ids) == 1 for ids in replies.values())
        assert waiting(imap_server, imap_server_user) == 0
    finally:
        drop_database(database)
