"""Search, fetch and move messages in a selected IMAP folder that other instances on the same
inbox may be moving too: when the server says some are gone, look again and carry on with
the rest. Several instances on one inbox are normal, so this is no error."""

from __future__ import annotations

import imaplib
import logging
from collections.abc import Callable
from typing import Any

from mailbot.mail.imap_layout import is_gone

log = logging.getLogger("mailbot.imap")

# A message someone flagged \Deleted is on its way out: never handled, never moved.
_UNDELETED = "UNDELETED"
# How often a command is tried again after another instance expunged some of its messages.
_GONE_RETRIES = 10


def search_new(client: Any, last_uid: int | None) -> list[int]:
    """The UIDs above `last_uid` (all of them when None), lowest first."""
    if last_uid is None:
        return sorted(int(uid) for uid in client.search([_UNDELETED]))
    first = last_uid + 1
    # `UID n:*` also matches the highest existing UID when it is below n.
    found = client.search(["UID", f"{first}:*", _UNDELETED])
    return sorted(uid for uid in (int(u) for u in found) if uid >= first)


def fetch_bodies(client: Any, uids: list[int], folder: str) -> dict[int, Any]:
    """The bodies of those of `uids` still here; another instance may be moving them."""
    for _attempt in range(_GONE_RETRIES):
        try:
            return dict(client.fetch(uids, ["BODY.PEEK[]"]))
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


def _still_here(client: Any, wanted: str) -> list[int]:
    """Which of the UIDs are still in the folder and not flagged \\Deleted by anyone."""
    return sorted(int(uid) for uid in client.search(["UID", wanted, _UNDELETED]))


def _remove_copied(
    client: Any, uids: list[int], folder: str, supports: Callable[[str], bool]
) -> None:
    try:
        client.add_flags(uids, [b"\\Deleted"], silent=True)
        if supports("UIDPLUS"):
            client.uid_expunge(uids)
        else:
            # A plain EXPUNGE would also destroy messages that other clients flagged.
            # Ours stay flagged, and every search here passes over flagged mail.
            log.debug("no UIDPLUS: %d handled message(s) left flagged \\Deleted", len(uids))
    except imaplib.IMAP4.error as exc:
        if not is_gone(exc):
            raise
        # Copied already: what another client removed meanwhile needs nothing more.
        log.debug("%s: some copied messages were already removed by another client", folder)


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
