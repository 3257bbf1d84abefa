"""What an IMAP server's replies mean, read without a connection: where personal folders
live (RFC 2342 NAMESPACE, or LIST's delimiter), whether mail was announced, and whether a
refusal only says that a message is already gone."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_ANNOUNCEMENTS = frozenset({b"EXISTS", b"RECENT"})
# How servers say that a message named in a command was expunged by another session:
# Dovecot's [EXPUNGEISSUED], RFC 5530's [NONEXISTENT], and older servers' plain words.
_GONE = re.compile(
    rb"\[(?:EXPUNGEISSUED|NONEXISTENT)\]|no\s+such\s+message|message(?:s)?\s+(?:has\s+been|were|was)"
    rb"\s+(?:expunged|deleted)|no\s+longer\s+exist",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FolderLayout:
    """Where this account's folders live: a personal prefix ("INBOX." on Courier and
    Debian's Cyrus, "" on a default Dovecot) and the hierarchy delimiter."""

    prefix: str = ""
    delimiter: str = "."

    def path(self, name: str) -> str:
        """The server's name for a configured folder. INBOX is INBOX everywhere; a name that
        already carries the prefix is left as the administrator wrote it."""
        if name.upper() == "INBOX" or not self.prefix:
            return name
        if name.upper().startswith(self.prefix.upper()):
            return name
        return self.prefix + name


def layout_from_namespace(personal: Sequence[tuple[str, str | None]] | None) -> FolderLayout:
    """The layout from NAMESPACE's personal namespaces (the first is the default one)."""
    if not personal:
        return FolderLayout()
    prefix, delimiter = personal[0]
    return FolderLayout(prefix=prefix or "", delimiter=delimiter or ".")


def layout_from_list(listing: Iterable[tuple[Any, Any, Any]]) -> FolderLayout:
    """The layout from `LIST "" ""`, for a server without NAMESPACE: the delimiter only."""
    for _flags, delimiter, _name in listing:
        if delimiter:
            text = delimiter.decode() if isinstance(delimiter, bytes) else str(delimiter)
            return FolderLayout(delimiter=text)
    return FolderLayout()


def announces_mail(responses: Iterable[Any]) -> bool:
    """Whether parsed untagged responses (as imapclient's NOOP and IDLE return them)
    include EXISTS or RECENT."""
    return any(
        isinstance(response, tuple) and len(response) >= 2 and response[1] in _ANNOUNCEMENTS
        for response in responses
    )


def take_announcements(untagged: dict[str, list[bytes]]) -> bool:
    """Remove what imaplib kept of untagged EXISTS, RECENT and EXPUNGE responses after a
    command, and say whether mail was announced.

    Cyrus announces mail that arrives during a command (SEARCH, MOVE, ...) in that
    command's reply and never again, so an announcement there must not be lost. EXPUNGE
    responses (one per moved message) are dropped too: imaplib would keep them for the
    life of the connection.
    """
    exists = untagged.pop("EXISTS", [])
    recent = untagged.pop("RECENT", [])
    untagged.pop("EXPUNGE", None)
    untagged.pop("FETCH", None)
    return bool(exists) or any(_number(value) > 0 for value in recent)


def is_gone(error: BaseException) -> bool:
    """Whether a refused command only says that its messages were expunged meanwhile,
    by another instance or another client: not a failure of ours."""
    text = str(error).encode(errors="replace")
    return bool(_GONE.search(text))


def _number(value: bytes) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
