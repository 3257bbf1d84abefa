"""The real IMAP servers the suite runs mailbot against do what tests/servers/ says they do.

Each configuration in IMAP_SERVER_IDS is checked with a real client (imapclient): its
namespace and hierarchy delimiter, what it advertises, that messages round-trip byte for byte,
and the behaviours the bot's IMAP code has to cope with.
"""

from __future__ import annotations

import imaplib
import threading
import time
from dataclasses import dataclass

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from tests.servers.imap import IMAP_SERVER_IDS, PrivateImapServer


@dataclass(frozen=True)
class Expected:
    prefix: str  # the personal namespace's prefix
    delimiter: str
    advertised: frozenset[str]
    not_advertised: frozenset[str]
    # The start of the server's answer to CREATE Processed, or None if it creates it.
    top_level_create_refused: str | None = None
    # Whether a SEARCH finds mail that arrived since the last command. Dovecot answers from
    # the view before it, and announces the new mail (EXISTS) in the same reply; Cyrus finds it.
    search_finds_new_mail: bool = False


_ALL = frozenset({"MOVE", "UIDPLUS", "IDLE", "NAMESPACE"})
EXPECTED = {
    "dovecot": Expected("", ".", _ALL, frozenset()),
    "dovecot-prefixed": Expected(
        "INBOX.",
        ".",
        _ALL,
        frozenset(),
        top_level_create_refused=(
            "create failed: Client tried to access nonexistent namespace. "
            "(Mailbox name should probably be prefixed with: INBOX.)"
        ),
    ),
    "dovecot-slash": Expected("", "/", _ALL, frozenset()),
    "dovecot-no-move-uidplus": Expected(
        "", ".", frozenset({"IDLE", "NAMESPACE"}), frozenset({"MOVE", "UIDPLUS"})
    ),
    "dovecot-no-idle": Expected(
        "", ".", frozenset({"MOVE", "UIDPLUS", "NAMESPACE"}), frozenset({"IDLE"})
    ),
    "cyrus": Expected(
        "INBOX.",
        ".",
        _ALL,
        frozenset(),
        top_level_create_refused="create failed: Permission denied",
        search_finds_new_mail=True,
    ),
}


def test_every_configuration_has_expectations() -> None:
    assert set(EXPECTED) == set(IMAP_SERVER_IDS)


def message(number: int) -> bytes:
    """A booking request as a person writes it: CRLF line ends, 8-bit UTF-8 in the body."""
    return (
        "From: Priya Raman <priya.raman@example.org>\r\n"
        "To: Riverside Pottery Bookings <bookings@example.net>\r\n"
        f"Subject: Two places on the Saturday workshop ({number})\r\n"
        f"Message-ID: <request-{number}@example.org>\r\n"
        "Date: Sat, 01 Mar 2025 09:30:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Hello,\r\n"
        "\r\n"
        "Could I book two places, for me and for Zoë Müller?\r\n"
        "  (indented line, trailing spaces)   \r\n"
        "\r\n"
        "Thanks,\r\n"
        "Priya\r\n"
    ).encode()


def raw_capabilities(client: IMAPClient) -> set[str]:
    """The server's answer to a CAPABILITY command sent now, not imapclient's cached list."""
    typ, data = client._imap.capability()
    assert typ == "OK"
    return {word.upper() for item in data for word in item.decode().split()}


def uid_command(client: IMAPClient, command: str, *args: str) -> str:
    """Send `UID <command> <args>` whatever the server advertises; its OK, NO or BAD."""
    try:
        typ, _ = client._imap.uid(command, *args)
    except imaplib.IMAP4.error:
        return "BAD"
    return str(typ)


def expected_of(server: PrivateImapServer) -> Expected:
    return EXPECTED[server.name]


def test_new_user_logs_in_to_an_empty_inbox(
    imap_server: PrivateImapServer, imap_server_user: str
) -> None:
    with imap_server.client(imap_server_user) as client:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    assert imap_server.new_user() != imap_server_user


def test_namespace_and_delimiter(imap_server: PrivateImapServer, imap_server_user: str) -> None:
    expected = expected_of(imap_server)
    with imap_server.client(imap_server_user) as client:
        personal = client.namespace().personal
        assert personal[0] == (expected.prefix, expected.delimiter)
        (_, delimiter, name) = client.list_folders()[0]
        assert (delimiter.decode(), name) == (expected.delimiter, "INBOX")
        # A folder made under the personal prefix lists with the same delimiter.
        folder = f"{expected.prefix}Processed"
        client.create_folder(folder)
        listed = {name: delimiter.decode() for _, delimiter, name in client.list_folders()}
        assert listed == {"INBOX": expected.delimiter, folder: expected.delimiter}


def test_create_at_the_top_level(imap_server: PrivateImapServer, imap_server_user: str) -> None:
    expected = expected_of(imap_server)
    with imap_server.client(imap_server_user) as client:
        if expected.top_level_create_refused is None:
            client.create_folder("Processed")
            assert "Processed" in [name for _, _, name in client.list_folders()]
        else:
            with pytest.raises(IMAPClientError) as refused:
                client.create_folder("Processed")
            assert str(refused.value).startswith(expected.top_level_create_refused)


def test_capabilities(imap_server: PrivateImapServer, imap_server_user: str) -> None:
    expected = expected_of(imap_server)
    with imap_server.client(imap_server_user) as client:
        # What imapclient reports after login (the LOGIN reply's list) and a CAPABILITY now.
        cached = {word.decode() for word in client.capabilities()}
        for advertised in (cached, raw_capabilities(client)):
            assert expected.advertised <= advertised
            assert not expected.not_advertised & advertised


def test_append_and_fetch_round_trip_exact_bytes(
    imap_server: PrivateImapServer, imap_server_user: str
) -> None:
    sent = [message(1), message(2), message(3)]
    with imap_server.client(imap_server_user) as writer:
        for raw in sent:
            writer.append("INBOX", raw)
    with imap_server.client(imap_server_user) as reader:
        assert reader.select_folder("INBOX", readonly=True)[b"EXISTS"] == 3
        uids = reader.search(["ALL"])
        assert len(uids) == 3
        fetched = reader.fetch(uids, ["BODY.PEEK[]", "FLAGS"])
        assert [fetched[uid][b"BODY[]"] for uid in sorted(uids)] == sent
        assert all(b"\\Seen" not in fetched[uid][b"FLAGS"] for uid in uids)


def test_uid_move_and_uid_expunge_where_advertised(
    imap_server: PrivateImapServer, imap_server_user: str
) -> None:
    expected = expected_of(imap_server)
    if {"MOVE", "UIDPLUS"} & expected.not_advertised:
        return  # see test_dovecot_runs_commands_it_does_not_advertise
    processed = f"{expected.prefix}Processed"
    with imap_server.client(imap_server_user) as client:
        client.create_folder(processed)
        for number in (1, 2, 3):
            client.append("INBOX", message(number))
        client.select_folder("INBOX")
        first, second, third = client.search(["ALL"])
        client.move([first], processed)
        client.add_flags([second, third], [b"\\Deleted"])
        client.uid_expunge([second])
        assert client.search(["ALL"]) == [third]
        assert client.folder_status(processed, [b"MESSAGES"])[b"MESSAGES"] == 1


@pytest.mark.parametrize(
    "imap_server", ["dovecot-no-move-uidplus", "dovecot-no-idle"], indirect=True
)
def test_dovecot_runs_commands_it_does_not_advertise(
    imap_server: PrivateImapServer, imap_server_user: str
) -> None:
    """imap_capability only changes what Dovecot advertises: UID MOVE, UID EXPUNGE and IDLE
    still work when sent. A test cannot rely on the server refusing them; the code under test
    must go by the advertisement."""
    with imap_server.client(imap_server_user) as client:
        client.create_folder("Processed")
        for number in (1, 2, 3):
            client.append("INBOX", message(number))
        client.select_folder("INBOX")
        first, second, third = client.search(["ALL"])
        assert uid_command(client, "MOVE", str(first), "Processed") == "OK"
        client.add_flags([second, third], [b"\\Deleted"])
        assert uid_command(client, "EXPUNGE", str(second)) == "OK"
        assert client.search(["ALL"]) == [third]
        assert client.folder_status("Processed", [b"MESSAGES"])[b"MESSAGES"] == 1
        client._imap.send(b"I1 IDLE\r\n")
        assert client._imap.readline().startswith(b"+ ")
        client._imap.send(b"DONE\r\n")
        assert client._imap.readline().startswith(b"I1 OK")


def test_new_mail_is_announced_in_the_reply_to_the_next_command(
    imap_server: PrivateImapServer, imap_server_user: str
) -> None:
    with (
        imap_server.client(imap_server_user) as busy,
        imap_server.client(imap_server_user) as other,
    ):
        busy.select_folder("INBOX")
        other.append("INBOX", message(1))
        _, untagged = busy.noop()
        assert (1, b"EXISTS") in untagged
        # imaplib keeps the untagged responses imapclient does not return (SELECT's too).
        busy._imap.untagged_responses.pop("EXISTS", None)
        other.append("INBOX", message(2))
        found = busy.search(["ALL"])
        assert busy._imap.untagged_responses.pop("EXISTS") == [b"2"]
        assert len(found) == (2 if expected_of(imap_server).search_finds_new_mail else 1)
        assert len(busy.search(["ALL"])) == 2


@pytest.mark.parametrize("imap_server", ["cyrus"], indirect=True)
def test_cyrus_does_not_repeat_an_announcement_after_idling(
    imap_server: PrivateImapServer, imap_server_user: str
) -> None:
    """Mail announced in the reply to a command is not announced again once IDLE starts."""
    with (
        imap_server.client(imap_server_user) as busy,
        imap_server.client(imap_server_user) as other,
    ):
        busy.select_folder("INBOX")
        other.append("INBOX", message(1))
        _, untagged = busy.noop()
        assert (1, b"EXISTS") in untagged
        busy.idle()
        try:
            assert busy.idle_check(timeout=1.0) == []
        finally:
            busy.idle_done()


def test_idle_announces_mail_from_another_connection(
    imap_server: PrivateImapServer, imap_server_user: str
) -> None:
    if "IDLE" not in expected_of(imap_server).advertised:
        return  # the no-IDLE configuration: see test_capabilities
    with (
        imap_server.client(imap_server_user) as idler,
        imap_server.client(imap_server_user) as other,
    ):
        idler.select_folder("INBOX")
        idler.idle()
        try:
            appending = threading.Timer(0.1, other.append, args=("INBOX", message(1)))
            appending.start()
            started = time.monotonic()
            responses: list[tuple[int, bytes]] = []
            while (1, b"EXISTS") not in responses and time.monotonic() - started < 3.0:
                responses += idler.idle_check(timeout=0.2)
            appending.join()
        finally:
            idler.idle_done()
        assert (1, b"EXISTS") in responses
