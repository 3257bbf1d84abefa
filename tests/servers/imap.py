"""One IMAP test interface over every real server configuration the suite runs.

`imap_server` is parametrized over `IMAP_SERVER_IDS`; each id names a session-scoped fixture
(in tests/servers/dovecot.py and tests/servers/cyrus.py) that starts its server the first time
a test asks for it, so a test run selecting only `[cyrus]` starts only Cyrus. To run a test
against some of the servers only:

    @pytest.mark.parametrize("imap_server", ["dovecot", "cyrus"], indirect=True)
"""

from __future__ import annotations

from typing import Protocol

import pytest
from imapclient import IMAPClient


class PrivateImapServer(Protocol):
    """What PrivateDovecot (every variant) and PrivateCyrus share."""

    name: str  # the configuration's id in IMAP_SERVER_IDS
    host: str
    port: int
    password: str  # every user's password

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def new_user(self) -> str:
        """A user never used before: logs in with `password`, has an empty INBOX."""
        ...

    def client(self, user: str) -> IMAPClient:
        """A logged-in connection, for a test to APPEND to or inspect a mailbox."""
        ...

    def log_tail(self, lines: int = 30) -> str: ...


def personal(server: PrivateImapServer, user: str, name: str) -> str:
    """Where `name` lives among the user's personal folders, as the server itself says."""
    with server.client(user) as client:
        prefix = client.namespace().personal[0][0]
    return name if name == "INBOX" else prefix + name


# Configuration id -> the session fixture that runs it.
IMAP_SERVER_FIXTURES = {
    # Dovecot as Debian configures it: no prefix, "." between levels, MOVE, UIDPLUS, IDLE.
    "dovecot": "dovecot",
    # Personal namespace "INBOX." with "." (as Courier and Debian's Cyrus lay folders out).
    "dovecot-prefixed": "dovecot_prefixed",
    # LAYOUT=fs: "/" between levels.
    "dovecot-slash": "dovecot_slash",
    # Neither MOVE nor UIDPLUS advertised; IDLE is.
    "dovecot-no-move-uidplus": "dovecot_no_move_uidplus",
    # IDLE not advertised.
    "dovecot-no-idle": "dovecot_no_idle",
    # Debian 12's Cyrus 3.6: "INBOX." with ".", MOVE, UIDPLUS, IDLE (with idled).
    "cyrus": "cyrus",
}
IMAP_SERVER_IDS = tuple(IMAP_SERVER_FIXTURES)


@pytest.fixture(params=IMAP_SERVER_IDS)
def imap_server(request: pytest.FixtureRequest) -> PrivateImapServer:
    server: PrivateImapServer = request.getfixturevalue(IMAP_SERVER_FIXTURES[request.param])
    return server


@pytest.fixture
def imap_server_user(imap_server: PrivateImapServer) -> str:
    """A fresh user, with an empty INBOX, on this test's `imap_server`."""
    return imap_server.new_user()
