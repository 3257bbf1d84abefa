"""Search, fetch, move and delete messages in a selected IMAP folder that other instances on
the same inbox may be moving too: when the server says some are gone, look again and carry
on with the rest. Several instances on one inbox are normal, so this is no error."""

from __future__ import annotations

import imaplib
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from mailbot.mail.filed import FiledCopy, recorded_message_id
from mailbot.mail.imap_layout import is_gone

log = logging.getLogger("mailbot.imap")

# A message someone flagged \Deleted is on its way out: never handled, never moved.
_UNDELETED = "UNDELETED"
# How often a command is tried again after another instance expunged some of its messages.
_GONE_RETRIES = 10
# What identifies a filed copy: its Message-ID, and From because the parser reads nothing
# from mail without one (and so the ledger recorded no Message-ID for it either).
_FILED_HEADER = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID FROM)]"
_FILED_HEADER_REPLY = b"BODY[HEADER.FIELDS"  # servers differ in how they echo the field list
_FILED_BATCH = 1000


def search_new(client: Any, last_uid: int | None) -> list[int]:
    """The UIDs above `last_uid` (all of them when None), lowest first."""
    if last_uid is None:
        return sorted(int(uid) for uid in client.search([_UNDELETED]))
    first = last_uid + 1
    # `UID n:*` also matches the highest existing UID when it is below n.
    found = client.search(["UID", f"{first}:*", _UNDELETED])
    return sorted(uid for uid in (int(u) for u in found) if uid >= first)


def fetch_bodies(
    client: Any, uids: list[int], folder: str, items: Sequence[str] = ("BODY.PEEK[]",)
) -> dict[int, Any]:
    """The bodies (or other `items`) of those of `uids` still here; another instance may be
    moving them."""
    for _attempt in range(_GONE_RETRIES):
        try:
            return dict(client.fetch(uids, list(items)))
        except imaplib.IMAP4.error as exc:
            if not is_gone(exc):
                raise
        client.noop()  # hear the expunges, so the search below no longer finds them
        uids = _still_here(client, ",".join(str(uid) for uid in uids))
        if not uids:
            break
    log.info("%s: messages moved by another client are left to it", folder)
    return {}


def move_messages(
    client: Any,
    uids: list[int],
    path: str,
    *,
    folder: str,
    known_folders: set[str],
    supports: Callable[[str], bool],
) -> None:
    """Move those of `uids` still in `folder` to the folder at `path`, creating it unless it
    is among `known_folders` (which it then joins). `supports` says whether the server has
    a capability. Each time the server says another instance moved some first, look again
    and move the rest. Every such answer means fewer are left, so this ends."""
    wanted = ",".join(str(uid) for uid in sorted(set(uids)))
    for attempt in range(_GONE_RETRIES):
        if attempt:
            client.noop()  # hear the expunges, so the search below no longer finds them
        present = _still_here(client, wanted)
        if not present:
            log.debug("none of %d message(s) is still in %s", len(uids), folder)
            return
        _ensure_folder(client, path, known_folders)
        try:
            if supports("MOVE"):
                client.move(present, path)
            else:
                # COPY is all or nothing (RFC 3501), so a refused one can be tried again.
                client.copy(present, path)
                _remove_copied(client, present, folder, supports)
        except imaplib.IMAP4.error as exc:
            if not is_gone(exc):
                raise
            log.info("%s: another client moved some of these messages", folder)
            continue
        log.debug("moved %d message(s) to %s", len(present), path)
        return
    log.info("%s: messages moved by another client are left to it", folder)


def filed_copies(client: Any, folder: str, *, with_arrival: bool) -> Iterator[FiledCopy]:
    """Every message in the selected `folder`, flagged \\Deleted or not (one left flagged
    by an earlier removal is still there), keyed by UID; its arrival is its INTERNALDATE,
    which COPY and MOVE keep, when asked for."""
    uids = sorted(int(uid) for uid in client.search(["ALL"]))
    items = [_FILED_HEADER, "INTERNALDATE"] if with_arrival else [_FILED_HEADER]
    for start in range(0, len(uids), _FILED_BATCH):
        fetched = fetch_bodies(client, uids[start : start + _FILED_BATCH], folder, items)
        for uid in sorted(fetched):
            item = fetched[uid]
            header = next(
                (value for name, value in item.items() if name.startswith(_FILED_HEADER_REPLY)),
                None,
            )
            arrived = item.get(b"INTERNALDATE")
            yield FiledCopy(
                key=str(uid),
                message_id=recorded_message_id(bytes(header)) if header else None,
                # imapclient gives local time without a zone, which astimezone reads as such.
                arrived=arrived.astimezone(UTC) if isinstance(arrived, datetime) else None,
            )


def delete_messages(
    client: Any, uids: list[int], folder: str, supports: Callable[[str], bool]
) -> bool:
    """Flag exactly these messages \\Deleted and, where the server has UIDPLUS, expunge
    exactly them. False when they were left flagged instead: without UID EXPUNGE only a
    plain EXPUNGE removes them, and that would also destroy what other clients flagged."""
    if not uids:
        return True
    expunge = supports("UIDPLUS")
    try:
        client.add_flags(uids, [b"\\Deleted"], silent=True)
        if expunge:
            client.uid_expunge(uids)
    except imaplib.IMAP4.error as exc:
        if not is_gone(exc):
            raise
        # What another client removed meanwhile needs nothing more.
        log.debug("%s: some of these messages were already removed by another client", folder)
    return expunge


def _still_here(client: Any, wanted: str) -> list[int]:
    """Which of the UIDs are still in the folder and not flagged \\Deleted by anyone."""
    return sorted(int(uid) for uid in client.search(["UID", wanted, _UNDELETED]))


def _remove_copied(
    client: Any, uids: list[int], folder: str, supports: Callable[[str], bool]
) -> None:
    if not delete_messages(client, uids, folder, supports):
        # Ours stay flagged, and every search here passes over flagged mail.
        log.debug("no UIDPLUS: %d handled message(s) left flagged \\Deleted", len(uids))


def _ensure_folder(client: Any, name: str, known_folders: set[str]) -> None:
    if name in known_folders:
        return
    if not client.folder_exists(name):
        log.info("creating folder %s", name)
        try:
            client.create_folder(name)
        except imaplib.IMAP4.error:
            # Another client may have created it in the meantime; that is fine.
            if not client.folder_exists(name):
                raise
    known_folders.add(name)
