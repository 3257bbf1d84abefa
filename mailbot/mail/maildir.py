"""Maildir folders as an inbox and as an outbox, so mailbot runs with no mail server."""

from __future__ import annotations

import logging
import mailbox
import time
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from pathlib import Path

from mailbot.domain import RawMessage
from mailbot.errors import OperationalError
from mailbot.mail.filed import FiledCopy, FiledFolder, FiledRemoval, chosen, recorded_message_id

log = logging.getLogger("mailbot.maildir")
_KEY_PREFIX = "maildir:"
_WAIT_INTERVAL = 0.25


class MaildirSource:
    """Reads a Maildir inbox; handled mail moves to a Maildir++ sub-folder, never deleted."""

    def __init__(
        self,
        path: Path,
        *,
        processed_folder: str = "Processed",
        quarantine_folder: str = "Quarantine",
    ) -> None:
        self.path = path
        self.processed_folder = processed_folder
        self.quarantine_folder = quarantine_folder
        self._seen: set[str] = set()
        try:
            self._box = mailbox.Maildir(path, factory=None, create=True)
        except OSError as exc:
            raise OperationalError(f"cannot open the Maildir {path}: {exc}") from exc

    def fetch_new(self) -> Iterator[RawMessage]:
        """Messages oldest first (by delivery time, then name), as exact bytes."""
        try:
            keys = sorted(self._box.keys(), key=self._delivery_order)
        except OSError as exc:
            raise OperationalError(f"cannot read the Maildir {self.path}: {exc}") from exc
        self._seen = set(keys)
        for key in keys:
            try:
                data = self._box.get_bytes(key)
            except (KeyError, FileNotFoundError):
                continue  # another process moved it meanwhile
            yield RawMessage(_KEY_PREFIX + key, data)

    def wait_for_new(self, timeout: float) -> bool:
        """Look for files not seen by the last fetch, a few times a second."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if set(self._box.keys()) - self._seen:
                    return True
            except OSError as exc:
                raise OperationalError(f"cannot read the Maildir {self.path}: {exc}") from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(_WAIT_INTERVAL, remaining))

    def _delivery_order(self, key: str) -> tuple[float, str]:
        try:
            return (self._box.get_message(key).get_date(), key)
        except (KeyError, FileNotFoundError):
            return (0.0, key)

    def mark_handled(self, source_key: str) -> None:
        self._move(source_key, self.processed_folder)

    def set_aside(self, source_key: str) -> None:
        self._move(source_key, self.quarantine_folder)

    def _move(self, source_key: str, folder_name: str) -> None:
        key = source_key.removeprefix(_KEY_PREFIX)
        try:
            data = self._box.get_bytes(key)
        except (KeyError, FileNotFoundError):
            log.debug("%s is no longer in the inbox", source_key)
            return
        folder = self._folder(folder_name)
        # Copy before removing: a crash in between leaves a copy in both, never in neither.
        folder.add(data)
        self._box.discard(key)

    def _folder(self, name: str) -> mailbox.Maildir:
        if name in self._box.list_folders():
            return self._box.get_folder(name)
        return self._box.add_folder(name)

    def remove_filed(
        self,
        folder: FiledFolder,
        message_ids: Collection[str],
        *,
        arrived_before: datetime | None = None,
    ) -> FiledRemoval:
        """See MailSource. A copy's arrival is when it was filed (its file's time)."""
        name = self.processed_folder if folder is FiledFolder.PROCESSED else self.quarantine_folder
        try:
            if name not in self._box.list_folders():
                return FiledRemoval()
            box = self._box.get_folder(name)
            doomed = chosen(_copies(box), message_ids, arrived_before)
            for key in doomed:
                box.discard(key)
        except OSError as exc:
            raise OperationalError(f"cannot remove filed mail from {name}: {exc}") from exc
        if doomed:
            log.info("removed %d filed message(s) from %s", len(doomed), name)
        return FiledRemoval(removed=len(doomed))

    def check(self) -> str:
        return f"Maildir {self.path}: {len(self._box)} messages waiting"

    def close(self) -> None:
        self._box.close()


def _copies(box: mailbox.Maildir) -> Iterator[FiledCopy]:
    for key in box.iterkeys():
        try:
            # A Maildir message's date is its file's modification time.
            arrived = datetime.fromtimestamp(box.get_message(key).get_date(), UTC)
            data = box.get_bytes(key)
        except (KeyError, FileNotFoundError):
            continue  # removed meanwhile
        yield FiledCopy(key, recorded_message_id(data), arrived)


class MaildirSink:
    """Delivers outgoing mail by writing it, byte for byte, into a Maildir."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._box = mailbox.Maildir(path, factory=None, create=True)
        except OSError as exc:
            raise OperationalError(f"cannot open the Maildir {path}: {exc}") from exc

    def deliver(self, sender: str, recipients: list[str], data: bytes) -> None:
        try:
            self._box.add(data)
        except OSError as exc:
            raise OperationalError(f"cannot write to the Maildir {self.path}: {exc}") from exc

    def check(self) -> str:
        if not (self.path / "new").is_dir():
            raise OperationalError(f"the Maildir {self.path} has no new/ folder")
        return f"Maildir {self.path}"

    def close(self) -> None:
        self._box.close()
