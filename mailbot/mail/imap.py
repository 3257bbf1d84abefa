"""Read inbound mail from an IMAP folder and move handled mail out of it (a MailSource)."""

from __future__ import annotations

import imaplib
import logging
import ssl
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from imapclient import IMAPClient

from mailbot.domain import RawMessage
from mailbot.errors import InboxFilingError, OperationalError
from mailbot.mail.base import TokenSource
from mailbot.mail.filed import FiledFolder, FiledRemoval, chosen
from mailbot.mail.imap_layout import (
    FolderLayout,
    layout_from_list,
    layout_from_namespace,
    take_announcements,
)
from mailbot.mail.imap_login import logged_in, shutdown_quietly
from mailbot.mail.imap_messages import (
    delete_messages,
    fetch_bodies,
    filed_copies,
    move_messages,
    search_new,
)
from mailbot.mail.imap_wait import idle_until, noop_until

log = logging.getLogger("mailbot.imap")

_BODY = b"BODY[]"
_MOVE_BATCH = 50
# Everything imapclient, imaplib and the socket layer raise when a server misbehaves, refuses
# us or goes away (ssl.SSLError and socket.timeout are OSErrors; imapclient's errors are
# imaplib's). EOFError covers a connection closed in the middle of a reply.
_IMAP_FAILURES = (imaplib.IMAP4.error, OSError, EOFError)


class ImapSource:
    """One IMAP folder as a MailSource, over a single lazily opened connection.

    Any failure drops the connection and raises OperationalError; the next call reconnects.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        tls: bool,
        username: str,
        password: str,
        folder: str = "INBOX",
        processed_folder: str = "Processed",
        quarantine_folder: str = "Quarantine",
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        batch_size: int = 500,
        token_source: TokenSource | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.host = host
        self.port = port
        self.tls = tls
        self.username = username
        self._password = password
        self.folder = folder
        self.processed_folder = processed_folder
        self.quarantine_folder = quarantine_folder
        self.timeout = timeout
        self._ssl_context = ssl_context
        self.batch_size = batch_size
        # When set, logins use XOAUTH2 with its tokens and `password` is not used.
        self._token_source = token_source

        self._client: Any = None
        # Bumped on every new connection, so a fetch in progress notices it lost its own.
        self._epoch = 0
        self._uidvalidity: int | None = None
        self._last_uid: int | None = None  # None: the next fetch does a full search
        self._known_folders: set[str] = set()
        self._layout = FolderLayout()
        # The server announced mail (EXISTS or RECENT) in a reply since the last search.
        self._announced = False
        # Moves wait here and go as one command per folder: a round trip per message was
        # the slowest step of a burst. Losing them in a crash only means the message is
        # seen again, and the ledger knows it.
        self._pending_moves: dict[str, list[int]] = {}
        self._pending_uidvalidity: int | None = None
        # Moves the server refused (a folder it will not create, a full quota): tried again
        # on the next fetch, and reported at the end of this one.
        self._refused: dict[str, list[int]] = {}
        self._refusal: str | None = None

    @property
    def _where(self) -> str:
        """This account on this server, as every error and warning names it."""
        return f"IMAP {self.host}:{self.port} ({self.username})"

    def __repr__(self) -> str:
        return f"ImapSource({self.username}@{self.host}:{self.port}/{self.folder})"

    # -- MailSource --------------------------------------------------------------------------

    def fetch_new(self) -> Iterator[RawMessage]:
        """Yield the folder's messages not yet yielded this session, oldest UID first.

        Bodies are read with BODY.PEEK[], so nothing is marked \\Seen. Raises
        InboxFilingError at the end if the server refused to file handled mail.
        """
        self._retry_refused_moves()
        with self._guard("searching for new mail"):
            was_open = self._client is not None
            client = self._connection()
            epoch = self._epoch
            if was_open:
                self._refresh(client)
            self._announced = False
            uids = search_new(client, self._last_uid)
            uidvalidity = self._uidvalidity
        if uids:
            log.debug("%d new message(s) in %s", len(uids), self.folder)
        for start in range(0, len(uids), self.batch_size):
            batch = uids[start : start + self.batch_size]
            with self._guard("fetching messages"):
                if self._epoch != epoch or self._client is None:
                    raise OperationalError(
                        f"IMAP {self.host}:{self.port}: connection was reset during a fetch"
                    )
                bodies = fetch_bodies(self._client, batch, self.folder)
            if start:
                self.flush()
            for uid in batch:
                item = bodies.get(uid)
                if item is None or _BODY not in item:
                    # Moved or expunged by someone else since the search.
                    continue
                self._last_uid = max(uid, self._last_uid or 0)
                yield RawMessage(
                    source_key=f"imap:{self.folder}:{uidvalidity}:{uid}",
                    data=bytes(item[_BODY]),
                )
        self.flush()
        if self._refusal is not None:
            raise InboxFilingError(self._refusal)

    def mark_handled(self, source_key: str) -> None:
        """Move a handled message to the processed folder (batched; see `flush`)."""
        self._queue_move(source_key, self.processed_folder)

    def set_aside(self, source_key: str) -> None:
        """Move a message that cannot be handled to the quarantine folder (batched)."""
        self._queue_move(source_key, self.quarantine_folder)

    def flush(self) -> None:
        """Carry out the moves queued so far. Called after each fetched batch, before
        waiting and on close, and whenever enough have queued up."""
        pending, self._pending_moves = self._pending_moves, {}
        if not pending:
            return
        try:
            with self._guard("moving handled messages"):
                client = self._connection()
                if self._pending_uidvalidity != self._uidvalidity:
                    log.debug("%s changed since the moves were queued; none made", self.folder)
                    pending.clear()
                    return
                for destination in list(pending):
                    try:
                        move_messages(
                            client,
                            pending[destination],
                            self._layout.path(destination),
                            folder=self.folder,
                            known_folders=self._known_folders,
                            supports=self._server_supports,
                        )
                    except imaplib.IMAP4.abort:
                        raise
                    except imaplib.IMAP4.error as exc:
                        self._note_refusal(destination, pending[destination], exc)
                    del pending[destination]
        finally:
            # Moves cut off with the connection wait for the next one (close() makes one),
            # so handled mail does not sit in the inbox until the next full search.
            for destination, uids in pending.items():
                self._pending_moves.setdefault(destination, []).extend(uids)

    def _note_refusal(self, destination: str, uids: list[int], exc: Exception) -> None:
        self._refused.setdefault(destination, []).extend(uids)
        count = len(self._refused[destination])
        self._refusal = (
            f"{self._where}: could not move {count} handled "
            f"message{'' if count == 1 else 's'} to {self._layout.path(destination)}: {exc}; "
            f"they stay in {self.folder} and are moved on the next poll"
        )
        log.warning("%s", self._refusal)

    def _retry_refused_moves(self) -> None:
        refused, self._refused, self._refusal = self._refused, {}, None
        if refused and self._pending_uidvalidity == self._uidvalidity:
            for destination, uids in refused.items():
                self._pending_moves.setdefault(destination, []).extend(uids)

    def close(self) -> None:
        """Make the queued moves and log out. Never raises: the connection may be gone."""
        try:
            self.flush()
        except OperationalError:
            log.info("queued moves not made; the messages will be seen and moved again")
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            try:
                client.shutdown()
            except Exception:
                log.debug("could not close the IMAP connection cleanly", exc_info=True)

    # -- beyond MailSource -------------------------------------------------------------------

    def check(self) -> str:
        """Connect, log in and select the folder; describe it, e.g. "INBOX: 3 messages"."""
        with self._guard("selecting the folder"):
            client = self._connection()
            count = self._select(client)
        return f"{self.folder}: {count} message{'' if count == 1 else 's'}"

    def wait_for_new(self, timeout: float) -> bool:
        """Block up to `timeout` seconds for the server to announce mail in the folder.

        True means the server announced something. False does not mean nothing arrived: mail
        that lands just before IDLE starts can go unannounced, so always fetch_new afterwards.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        self.flush()
        if self._announced:
            # Announced in the reply to an earlier command: some servers (Cyrus) say it once.
            self._announced = False
            return True
        with self._guard("waiting for new mail"):
            client = self._connection()
            if not self._server_supports("IDLE"):
                return noop_until(client, deadline)
            try:
                return idle_until(client, deadline, self.timeout)
            except BaseException:
                self._drop()  # it is mid-IDLE, whatever stopped the wait
                raise

    def remove_filed(
        self,
        folder: FiledFolder,
        message_ids: Collection[str],
        *,
        arrived_before: datetime | None = None,
    ) -> FiledRemoval:
        """See MailSource. A copy's arrival is its INTERNALDATE: when it reached the inbox.

        Works on this connection: the queued moves go first, and the inbox is selected
        again afterwards, so fetching carries on where it was."""
        name = self.processed_folder if folder is FiledFolder.PROCESSED else self.quarantine_folder
        self.flush()
        with self._guard(f"removing filed mail from {name}"):
            client = self._connection()
            path = self._layout.path(name)
            if _same_folder(path, self._layout.path(self.folder)):
                raise OperationalError(
                    f"{self._where}: the {folder.value} folder {path} is the inbox itself; "
                    "nothing is removed from it"
                )
            if not client.folder_exists(path):
                return FiledRemoval()
            try:
                client.select_folder(path)
                take_announcements(client._imap.untagged_responses)  # about this folder only
                copies = filed_copies(client, path, with_arrival=arrived_before is not None)
                doomed = [int(key) for key in chosen(copies, message_ids, arrived_before)]
                expunged = delete_messages(client, doomed, path, self._server_supports)
            finally:
                self._select(client)
        if doomed:
            log.info(
                "%s %d filed message(s) in %s",
                "removed" if expunged else "flagged \\Deleted (no UIDPLUS to expunge)",
                len(doomed),
                path,
            )
        if expunged:
            return FiledRemoval(removed=len(doomed))
        return FiledRemoval(flagged=len(doomed))

    # -- connection --------------------------------------------------------------------------

    def _connection(self) -> Any:
        if self._client is not None:
            return self._client
        client = logged_in(
            self._open,
            username=self.username,
            password=self._password,
            token_source=self._token_source,
            where=self._where,
        )
        try:
            self._epoch += 1
            self._known_folders = set()
            self._last_uid = None
            # A full search on the new connection finds refused messages again.
            self._refused, self._refusal = {}, None
            self._layout = _layout_of(client)
            self._select(client)
        except BaseException:
            shutdown_quietly(client)
            raise
        self._client = client
        log.info("connected to %s:%d as %s", self.host, self.port, self.username)
        return client

    def _open(self) -> Any:
        log.debug("connecting to %s:%d (tls=%s)", self.host, self.port, self.tls)
        return IMAPClient(
            self.host,
            port=self.port,
            ssl=self.tls,
            ssl_context=self._ssl_context,
            timeout=self.timeout,
        )

    def _select(self, client: Any) -> int:
        """Select the folder, forget the search position if UIDVALIDITY moved; return EXISTS."""
        response = client.select_folder(self._layout.path(self.folder))
        # SELECT's EXISTS describes the folder; it announces nothing new.
        take_announcements(client._imap.untagged_responses)
        uidvalidity = int(response[b"UIDVALIDITY"])
        if uidvalidity != self._uidvalidity:
            if self._uidvalidity is not None:
                log.info(
                    "UIDVALIDITY of %s changed from %d to %d; reading it again from the start",
                    self.folder,
                    self._uidvalidity,
                    uidvalidity,
                )
            self._uidvalidity = uidvalidity
            self._last_uid = None
        return int(response[b"EXISTS"])

    def _server_supports(self, capability: str) -> bool:
        """Whether the connected server advertises a capability (tests narrow this down)."""
        return bool(self._connection().has_capability(capability))

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            shutdown_quietly(client)

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn library and socket errors into OperationalError and drop the connection."""
        try:
            yield
            client = self._client
            if client is not None and take_announcements(client._imap.untagged_responses):
                self._announced = True
        except _IMAP_FAILURES as exc:
            self._drop()
            detail = str(exc) or type(exc).__name__
            if self._password:
                detail = detail.replace(self._password, "***")
            message = f"{self._where}: {action} failed: {detail}"
            log.warning("%s", message)
            raise OperationalError(message) from exc

    # -- fetching ----------------------------------------------------------------------------

    def _refresh(self, client: Any) -> None:
        """Let an open connection hear of new mail, and notice a replaced folder."""
        _text, responses = client.noop()
        if any(_is_trouble(response) for response in responses):
            # Measured on Dovecot: when the selected folder is deleted and created again by
            # another client, NOOP answers "* NO Internal error" and searches go on finding
            # nothing in the old folder. Selecting it again finds the new UIDVALIDITY.
            log.info("server reported a change to %s; selecting it again", self.folder)
            self._select(client)

    # -- moving ------------------------------------------------------------------------------

    def _queue_move(self, source_key: str, destination: str) -> None:
        folder, uidvalidity, uid = _parse_key(source_key)
        if folder != self.folder or uidvalidity != self._uidvalidity:
            log.debug("%s is not from the current %s; nothing to move", source_key, self.folder)
            return
        if self._pending_moves and self._pending_uidvalidity != uidvalidity:
            self._pending_moves = {}
        self._pending_uidvalidity = uidvalidity
        self._pending_moves.setdefault(destination, []).append(uid)
        if sum(len(uids) for uids in self._pending_moves.values()) >= _MOVE_BATCH:
            self.flush()


def _layout_of(client: Any) -> FolderLayout:
    """Where this account's folders live: NAMESPACE's personal prefix where the server has
    it, else only LIST's delimiter."""
    if client.has_capability("NAMESPACE"):
        return layout_from_namespace(client.namespace().personal)
    return layout_from_list(client.list_folders("", ""))


def _same_folder(one: str, other: str) -> bool:
    """Whether two server folder names are one folder: INBOX in any case, else exactly."""
    return one == other or one.upper() == other.upper() == "INBOX"


def _is_trouble(response: Any) -> bool:
    if not isinstance(response, tuple) or not response:
        return False
    kind = response[0]
    if kind in (b"NO", b"BAD", b"BYE"):
        return True
    return kind == b"OK" and len(response) > 1 and b"[UIDVALIDITY" in bytes(response[1]).upper()


def _parse_key(source_key: str) -> tuple[str, int, int]:
    """Split "imap:<folder>:<uidvalidity>:<uid>"; the folder name may itself hold colons."""
    scheme, _, rest = source_key.partition(":")
    folder, _, numbers = rest.rpartition(":")
    folder, _, uidvalidity = folder.rpartition(":")
    if scheme != "imap" or not folder or not uidvalidity.isdigit() or not numbers.isdigit():
        raise ValueError(f"not an IMAP source key: {source_key!r}")
    return folder, int(uidvalidity), int(numbers)
