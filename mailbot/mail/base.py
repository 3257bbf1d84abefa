"""The two interfaces the pipeline needs from mail servers or folders."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Protocol

from mailbot.domain import RawMessage
from mailbot.mail.filed import FiledFolder, FiledRemoval


class MailSource(Protocol):
    """Where inbound mail is read. The database, not the source, knows what was handled."""

    def fetch_new(self) -> Iterator[RawMessage]:
        """Every message in the inbox not yet moved away, oldest first, without marking it read.

        Raises InboxFilingError after the last message when handled mail could not be moved.
        """
        ...

    def mark_handled(self, source_key: str) -> None:
        """Move a handled message out of the inbox (never delete it)."""
        ...

    def set_aside(self, source_key: str) -> None:
        """Move a message that cannot be handled to the quarantine folder."""
        ...

    def remove_filed(
        self,
        folder: FiledFolder,
        message_ids: Collection[str],
        *,
        arrived_before: datetime | None = None,
    ) -> FiledRemoval:
        """Delete from one of mailbot's filing folders (never the inbox, never another
        folder) the copies whose Message-ID, read as the ledger records it, is among
        `message_ids`, and, given `arrived_before`, those that arrived before it. Doing it
        again removes nothing more; OperationalError when the mailbox cannot be reached."""
        ...

    def check(self) -> str:
        """Connect and look at the inbox; a short description, or OperationalError."""
        ...

    def wait_for_new(self, timeout: float) -> bool:
        """Block up to `timeout` seconds for new mail; True if some may have arrived.
        Callers fetch afterwards whatever it says."""
        ...

    def close(self) -> None: ...


class MailSink(Protocol):
    """Where outgoing mail is delivered.

    `deliver` raises TransientDeliveryError for failures worth retrying and
    PermanentDeliveryError for mail the server refused for good.
    """

    def deliver(self, sender: str, recipients: list[str], data: bytes) -> None: ...

    def check(self) -> str:
        """Connect (and log in); a short description, or OperationalError."""
        ...

    def close(self) -> None: ...


class TokenSource(Protocol):
    """Where the IMAP source and the SMTP sink get OAuth2 access tokens for XOAUTH2 logins.

    `token()` returns the current access token (a cached one while it lasts);
    `invalidate()` forgets it, so the next `token()` obtains a fresh one.
    """

    def token(self) -> str: ...

    def invalidate(self) -> None: ...
