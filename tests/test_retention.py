"""Retention of mailbot's own filed mail ([retention] remove_filed_mail): once the database
has erased a mail's sender, its copies in Processed and Quarantine go too, and mail in
Quarantine, tied to no booking, goes `days` after it arrived. Off unless set; never the inbox
or any other folder. Against Maildir here, and against the private Dovecot (with and without
an "INBOX." namespace, and without UIDPLUS, where copies can only be flagged)."""

from __future__ import annotations

import email
import mailbox
import os
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbot.mail.filed import FiledCopy, FiledRemoval, chosen
from mailbot.pipeline.retention import RetentionSummary, apply_retention
from mailbot.runtime.jobs import run_retention
from tests.harness import FIXED_NOW, Workspace, compose
from tests.processes import run_mailbot
from tests.servers.dovecot import PrivateDovecot
from tests.servers.imap import PrivateImapServer, personal
from tests.servers.process import free_port

# Bookings for the past event are made while it is still to come.
BEFORE_THE_PAST_EVENT = datetime(2025, 1, 5, tzinfo=UTC)
PAST_EVENT = """
[[events]]
slug = "old-forum"
title = "Last year's forum"
starts_at = 2025-01-10T11:00:00
ends_at = 2025-01-10T15:00:00
venue = "Preston"
capacity = 5
"""
REMOVE_FILED = "\n[retention]\nremove_filed_mail = true\n"
OLD_ID, CURRENT_ID = "<o@w>", "<n@l>"
# Mail without a sender cannot be read as a request: it is quarantined.
UNREADABLE_OLD = b"Subject: an old message from nobody\r\n\r\nHello\r\n"
UNREADABLE_RECENT = b"Subject: a recent message from nobody\r\n\r\nHello\r\n"
OLD_LINE, RECENT_LINE = (
    data.decode().splitlines()[0] for data in (UNREADABLE_OLD, UNREADABLE_RECENT)
)


def old_forum_request() -> bytes:
    """A booking for the past event: its sender is erased 90 days after it."""
    return compose(
        "Jane Smith <jane.smith@westmidlands.police.uk>",
        "Book me for old-forum.\n\nJane Smith",
        message_id=OLD_ID,
    )


def current_request() -> bytes:
    return compose(
        "Tom Reid <tom.reid@lancashire.police.uk>",
        "Book me for cse-forum-preston.\n\nTom Reid",
        message_id=CURRENT_ID,
    )


def without_message_id() -> bytes:
    """A booking for the past event from a client that wrote no Message-ID."""
    message = EmailMessage()
    message["Authentication-Results"] = "mx.example.ac.uk; dmarc=pass header.from=cumbria.police.uk"
    message["From"] = "Bea Quinn <bea.quinn@cumbria.police.uk>"
    message["To"] = "bookings@example.ac.uk"
    message["Subject"] = "Booking"
    message.set_content("Book me for old-forum.\n\nBea Quinn")
    return message.as_bytes()


def workspace(root: Path, *, extra: str = "") -> Workspace:
    ws = Workspace(root, capacity=5)
    ws.config.write_text(ws.config.read_text() + PAST_EVENT + extra)
    return ws


def retain(ws: Workspace, *, remove_filed: bool = True) -> RetentionSummary:
    with ws.bot() as bot:
        return apply_retention(
            bot.store,
            bot.source,
            bot.settings.events,
            days=90,
            remove_filed=remove_filed,
            now=FIXED_NOW,
        )


# -- the choice, pure ------------------------------------------------------------------------


def test_the_choice_matches_message_ids_exactly_and_age_only_when_asked() -> None:
    cutoff = FIXED_NOW - timedelta(days=90)
    copies = [
        FiledCopy("erased", OLD_ID, FIXED_NOW),
        FiledCopy("kept", CURRENT_ID, cutoff - timedelta(days=1)),
        FiledCopy("no id", None, FIXED_NOW),
        FiledCopy("old", None, cutoff - timedelta(seconds=1)),
        FiledCopy("on the cutoff", None, cutoff),
        FiledCopy("arrival unknown", None, None),
    ]
    assert chosen(copies, {OLD_ID, ""}) == ["erased"]
    assert chosen(copies, {OLD_ID}, arrived_before=cutoff) == ["erased", "kept", "old"]
    assert chosen(copies, set()) == []


# -- Maildir ---------------------------------------------------------------------------------


def date_quarantined(ws: Workspace) -> None:
    """Give the quarantined copies the arrival times the test needs (a Maildir copy's is its
    file's time): the first unreadable mail long past the horizon, the other within it."""
    for path in (ws.root / "inbox" / ".Quarantine").glob("*/*"):
        age = timedelta(days=120 if OLD_LINE.encode() in path.read_bytes() else 10)
        moment = (FIXED_NOW - age).timestamp()
        os.utime(path, (moment, moment))


def first_lines(box: mailbox.Maildir) -> list[str]:
    """Mail without headers, by its first line (the harness's delivery put a blank line
    before it)."""
    return sorted(box.get_bytes(key).decode().strip().splitlines()[0] for key in box.iterkeys())


def filed_ids(ws: Workspace, folder: str) -> list[str]:
    box = ws.inbox.get_folder(folder)
    return sorted(str(box.get_message(key)["Message-ID"]) for key in box.iterkeys())


def test_filed_copies_of_erased_mail_go_the_rest_stay_and_again_removes_nothing(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path, extra=REMOVE_FILED)
    ws.deliver(old_forum_request(), current_request(), without_message_id())
    ws.deliver(UNREADABLE_OLD, UNREADABLE_RECENT)
    with ws.bot(clock=lambda: BEFORE_THE_PAST_EVENT) as bot:
        bot.poll()
    assert ws.folder_count("Processed") == 3 and ws.folder_count("Quarantine") == 2
    date_quarantined(ws)

    summary = retain(ws)

    assert summary == RetentionSummary(erased=2, filed=FiledRemoval(removed=2))
    # Bea's mail has no Message-ID, so nothing ties the copy to her erased record: it stays.
    assert filed_ids(ws, "Processed") == [CURRENT_ID, "None"]
    assert first_lines(ws.inbox.get_folder("Quarantine")) == [RECENT_LINE]
    assert retain(ws) == RetentionSummary(erased=0, filed=FiledRemoval())
    assert ws.folder_count("Processed") == 2 and ws.folder_count("Quarantine") == 1


def test_off_unless_set_the_database_is_erased_and_every_filed_copy_stays(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path)
    assert ws.settings.retention.remove_filed_mail is False
    ws.deliver(old_forum_request(), current_request(), UNREADABLE_OLD)
    with ws.bot(clock=lambda: BEFORE_THE_PAST_EVENT) as bot:
        bot.poll()

    run_retention(str(ws.config))

    with ws.bot() as bot:
        erased = [b for b in bot.store.bookings() if b.view.email.endswith("@erased.invalid")]
        assert len(erased) == 1
        assert bot.store.job_runs()["retention"].last_result == "1 booking(s) erased"
    assert filed_ids(ws, "Processed") == [CURRENT_ID, OLD_ID]
    assert ws.folder_count("Quarantine") == 1


def test_the_nightly_job_removes_them_when_set_and_never_touches_the_inbox(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path, extra=REMOVE_FILED)
    ws.deliver(old_forum_request(), current_request())
    with ws.bot(clock=lambda: BEFORE_THE_PAST_EVENT) as bot:
        bot.poll()
    # The same mail, sent again and not yet read: the inbox is the organiser's, not ours.
    ws.deliver(old_forum_request())

    run_retention(str(ws.config))

    assert filed_ids(ws, "Processed") == [CURRENT_ID]
    (waiting,) = list(ws.inbox)
    assert waiting["Message-ID"] == OLD_ID
    with ws.bot() as bot:
        result = bot.store.job_runs()["retention"].last_result
    assert result == "1 booking(s) erased, 1 filed message(s) removed"


@pytest.mark.integration
def test_mailbot_retention_runs_it_now_and_its_dry_run_only_says_what_it_would_do(
    tmp_path: Path,
) -> None:
    """For an administrator whose cron runs `mailbot poll`, not the service: retention by
    hand, with a preview first."""
    ws = workspace(tmp_path, extra=REMOVE_FILED)
    ws.deliver(old_forum_request(), current_request())
    with ws.bot(clock=lambda: BEFORE_THE_PAST_EVENT) as bot:
        bot.poll()

    preview = run_mailbot("retention", "--dry-run", "--config", str(ws.config))
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.splitlines() == [
        "would erase 1 booking(s) of old-forum (ended 2025-01-10, kept 90 days)",
        "would then remove the filed copies of erased mail from Processed and Quarantine",
    ]
    with ws.bot() as bot:
        assert not [b for b in bot.store.bookings() if b.view.email.endswith("@erased.invalid")]
        assert "retention" not in bot.store.job_runs()
    assert filed_ids(ws, "Processed") == [CURRENT_ID, OLD_ID]

    done = run_mailbot("retention", "--config", str(ws.config))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1 booking(s) erased, 1 filed message(s) removed"
    assert filed_ids(ws, "Processed") == [CURRENT_ID]
    with ws.bot() as bot:
        assert bot.store.job_runs()["retention"].last_result == done.stdout.strip()


# -- IMAP ------------------------------------------------------------------------------------


def imap_workspace(root: Path, server: PrivateImapServer, user: str) -> Workspace:
    ws = workspace(root, extra=REMOVE_FILED)
    text = ws.config.read_text()
    mailbox_lines = (
        f'host = "{server.host}"\nport = {server.port}\ntls = false\n'
        f'username = "{user}"\npassword = "{server.password}"\ntimeout_seconds = 10\n'
    )
    ws.config.write_text(text.replace('maildir = "inbox"\n', mailbox_lines, 1))
    return ws


def folder_state(server: PrivateImapServer, user: str, name: str) -> list[tuple[str, bool]]:
    """Each message in a folder as (its Message-ID, or the first line of mail without
    headers; whether it is flagged \\Deleted), sorted."""
    with server.client(user) as client:
        path = personal(server, user, name)
        if not client.folder_exists(path):
            return []
        client.select_folder(path, readonly=True)
        fetched = client.fetch(client.search(["ALL"]), ["BODY.PEEK[]", "FLAGS"])
    found = []
    for item in fetched.values():
        data = bytes(item[b"BODY[]"])
        message_id = email.message_from_bytes(data)["Message-ID"]
        name_of = str(message_id) if message_id else data.decode().splitlines()[0]
        found.append((name_of, b"\\Deleted" in item[b"FLAGS"]))
    return sorted(found)


@pytest.mark.parametrize(
    "imap_server",
    ["dovecot", "dovecot-prefixed", "dovecot-no-move-uidplus", "cyrus"],
    indirect=True,
)
def test_imap_filed_copies_of_erased_mail_go_and_nothing_else_is_touched(
    tmp_path: Path, imap_server: PrivateImapServer, imap_server_user: str
) -> None:
    server, user = imap_server, imap_server_user
    ws = imap_workspace(tmp_path, server, user)
    with server.client(user) as client:
        client.append("INBOX", old_forum_request())
        client.append("INBOX", current_request())
        # Quarantined copies keep the arrival (INTERNALDATE) APPEND gave them.
        client.append("INBOX", UNREADABLE_OLD, msg_time=FIXED_NOW - timedelta(days=120))
        client.append("INBOX", UNREADABLE_RECENT, msg_time=FIXED_NOW - timedelta(days=10))
    with ws.bot(clock=lambda: BEFORE_THE_PAST_EVENT) as bot:
        bot.poll()
    with server.client(user) as client:
        # Someone else's mail marked for deletion in Processed, and copies of the erased
        # mail in the inbox (sent again, not yet read) and in another folder.
        someone_elses = current_request().replace(CURRENT_ID.encode(), b"<someone-else@x>")
        client.append(personal(server, user, "Processed"), someone_elses, flags=[b"\\Deleted"])
        client.append("INBOX", old_forum_request())
        archive = personal(server, user, "Archive")
        client.create_folder(archive)
        client.append(archive, old_forum_request())
    inbox_before = folder_state(server, user, "INBOX")
    expunges = server.name != "dovecot-no-move-uidplus"

    with ws.bot() as bot:
        summary = apply_retention(
            bot.store, bot.source, bot.settings.events, days=90, remove_filed=True, now=FIXED_NOW
        )
        # The inbox is selected again: reading carries on where it was.
        unread = [email.message_from_bytes(raw.data) for raw in bot.source.fetch_new()]
        assert [message["Message-ID"] for message in unread] == [OLD_ID]

    removal = FiledRemoval(removed=2) if expunges else FiledRemoval(flagged=2)
    assert summary == RetentionSummary(erased=1, filed=removal)
    assert folder_state(server, user, "INBOX") == inbox_before
    assert folder_state(server, user, "Archive") == [(OLD_ID, False)]
    processed = folder_state(server, user, "Processed")
    quarantine = folder_state(server, user, "Quarantine")
    if expunges:
        assert processed == [("<n@l>", False), ("<someone-else@x>", True)]
        assert quarantine == [(RECENT_LINE, False)]
    else:
        # Without UIDPLUS only a plain EXPUNGE would remove them, and it would take the
        # other client's flagged message too: ours are flagged and left for the server.
        assert processed == [("<n@l>", False), ("<o@w>", True), ("<someone-else@x>", True)]
        assert quarantine == [(RECENT_LINE, False), (OLD_LINE, True)]
    with ws.bot() as bot:
        again = apply_retention(
            bot.store, bot.source, bot.settings.events, days=90, remove_filed=True, now=FIXED_NOW
        )
    # Flagged copies are still there, and said so each time until the server expunges them.
    assert again == RetentionSummary(erased=0, filed=FiledRemoval() if expunges else removal)


def test_a_mailbox_out_of_reach_leaves_the_copies_to_the_next_run(
    tmp_path: Path, dovecot: PrivateDovecot, imap_user: str
) -> None:
    ws = imap_workspace(tmp_path, dovecot, imap_user)
    with dovecot.client(imap_user) as client:
        client.append("INBOX", old_forum_request())
    with ws.bot(clock=lambda: BEFORE_THE_PAST_EVENT) as bot:
        bot.poll()
    reachable = ws.config.read_text()
    ws.config.write_text(reachable.replace(f"port = {dovecot.port}\n", f"port = {free_port()}\n"))

    first = retain(ws)

    assert first.erased == 1 and first.filed is None
    assert first.filing_problem is not None and "IMAP" in first.filing_problem
    assert folder_state(dovecot, imap_user, "Processed") == [(OLD_ID, False)]
    ws.config.write_text(reachable)
    # The booking is erased already; the database still says which mail was its.
    assert retain(ws) == RetentionSummary(erased=0, filed=FiledRemoval(removed=1))
    assert folder_state(dovecot, imap_user, "Processed") == []
