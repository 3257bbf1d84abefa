"""Which of mailbot's own filed copies (in Processed or Quarantine) to remove: the choice the
IMAP and Maildir mailboxes both make, from what each copy says of itself."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mailbot.domain import RawMessage
from mailbot.inbound.parse import parse


class FiledFolder(StrEnum):
    """The folders mailbot files the mail it has read in. The inbox is not one of them."""

    PROCESSED = "processed"
    QUARANTINE = "quarantine"


@dataclass(frozen=True)
class FiledCopy:
    """One message in a filing folder: its key there, the Message-ID the ledger would have
    recorded for it (None when it has none), and when the mailbox says it arrived."""

    key: str
    message_id: str | None
    arrived: datetime | None


@dataclass(frozen=True)
class FiledRemoval:
    """What removing filed copies did. `flagged`: marked \\Deleted but left for an expunge,
    on a server without UIDPLUS, where expunging would take others' flagged mail too."""

    removed: int = 0
    flagged: int = 0

    def __add__(self, other: FiledRemoval) -> FiledRemoval:
        return FiledRemoval(self.removed + other.removed, self.flagged + other.flagged)


def recorded_message_id(data: bytes) -> str | None:
    """The Message-ID of a message (or of its header alone, From included) as the ledger
    recorded it when the message was handled: read by the same parser, so that matching
    is exact. None for mail without one, which therefore never matches."""
    return parse(RawMessage("filed", data)).message_id


def chosen(
    copies: Iterable[FiledCopy],
    message_ids: Collection[str],
    arrived_before: datetime | None = None,
) -> list[str]:
    """The keys of the copies to remove: those whose Message-ID is among `message_ids`,
    and, given `arrived_before`, those that arrived before it. A copy whose arrival is
    unknown is never removed for its age."""
    return [
        copy.key
        for copy in copies
        if (copy.message_id is not None and copy.message_id in message_ids)
        or (
            arrived_before is not None
            and copy.arrived is not None
            and copy.arrived < arrived_before
        )
    ]
