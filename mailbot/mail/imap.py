"""Read inbound mail from an IMAP folder and move handled mail out of it (a MailSource)."""

from __future__ import annotations

import imaplib
import logging
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from imapclient import IMAPClient

from mailbot.domain import RawMessage
from mailbot.errors import OperationalError
from mailbot.mail.base import TokenSource

log = logging.getLogger("mailbot.imap")

_BODY = b"BODY[]"
_ANNOUNCEMENTS = frozenset({b"EXISTS", b"RECENT"})
# Without IDLE, how often wait_for_new asks the server for news.
_POLL_INTERVAL = 5.0
_MOVE_BATCH = 50
# Everything imapclient, imaplib and the socket layer raise when a server misbehaves, refuses
# us or goes away (ssl.SSLError and socket.timeout are OSErrors; imapclient's errors are
# imaplib's). EOFError covers a connection closed in the middle of a reply.
_IMAP_FAILURES = (imaplib.IMAP4.error, OSError, EOFError)


class _TokenRefusedError(Exception):
    """The server refused an access token; the text is the server's answer, token removed."""


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
        # Moves wait here and go as one command per folder: a round trip per message was
        # the slowest step of a burst. Losing them in a crash only means the message is
        # seen again, and the ledger knows it.
        self._pending_moves: dict[str, list[int]] = {}
        self._pending_uidvalidity: int | None = None

    def __repr__(self) -> str:
        return f"ImapSource({self.username}@{self.host}:{self.port}/{self.folder})"

    # -- MailSource --------------------------------------------------------------------------

    def fetch_new(self) -> Iterator[RawMessage]:
        """Yield the folder's messages not yet yielded this session, oldest UID first.

        Bodies are read with BODY.PEEK[], so nothing is marked \\Seen.
        """
        with self._guard("searching for new mail"):
            was_open = self._client is not None
            client = self._connection()
            epoch = self._epoch
            if was_open:
                self._refresh(client)
            uids = self._search_new(client)
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
                bodies = self._client.fetch(batch, ["BODY.PEEK[]"])
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
        with self._guard("moving handled messages"):
            client = self._connection()
            if self._pending_uidvalidity != self._uidvalidity:
                log.debug("%s changed since the moves were queued; none made", self.folder)
                return
            for destination, uids in pending.items():
                self._move(client, uids, destination)

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
        with self._guard("waiting for new mail"):
            client = self._connection()
            if self._server_supports("IDLE"):
                return self._idle(client, deadline)
            return self._poll(client, deadline)

    # -- connection --------------------------------------------------------------------------

    def _connection(self) -> Any:
        if self._client is not None:
            return self._client
        client = self._logged_in()
        try:
            self._epoch += 1
            self._known_folders = set()
            self._last_uid = None
            self._select(client)
        except BaseException:
            _shutdown_quietly(client)
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

    def _logged_in(self) -> Any:
        """A new, logged-in connection.

        A refused access token may have expired or been revoked since the token source got
        it: drop it and try once more, on a new connection, with a fresh one.
        """
        try:
            return self._open_and_login()
        except _TokenRefusedError:
            assert self._token_source is not None
            self._token_source.invalidate()
            log.info("the server refused the access token; trying once more with a fresh one")
        try:
            return self._open_and_login()
        except _TokenRefusedError as refused:
            # Not kept either: the next connection starts from another fresh token.
            self._token_source.invalidate()
            message = (
                f"IMAP {self.host}:{self.port} ({self.username}): the server refused the "
                f"OAuth2 access token, and a fresh one after it: {refused}"
            )
            log.warning("%s", message)
            raise OperationalError(message) from None

    def _open_and_login(self) -> Any:
        client = self._open()
        try:
            self._login(client)
        except BaseException:
            _shutdown_quietly(client)
            raise
        return client

    def _login(self, client: Any) -> None:
        if self._token_source is None:
            client.login(self.username, self._password)
            return
        token = self._token_source.token()
        try:
            client.oauth2_login(self.username, token)
        except imaplib.IMAP4.error as exc:
            # imapclient turns any failure of AUTHENTICATE into LoginError (an IMAP4.error).
            detail = str(exc) or type(exc).__name__
            if token:
                detail = detail.replace(token, "***")
            raise _TokenRefusedError(detail) from None

    def _select(self, client: Any) -> int:
        """Select the folder, forget the search position if UIDVALIDITY moved; return EXISTS."""
        response = client.select_folder(self.folder)
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
            _shutdown_quietly(client)

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn library and socket errors into OperationalError and drop the connection."""
        try:
            yield
        except _IMAP_FAILURES as exc:
            self._drop()
            detail = str(exc) or type(exc).__name__
            if self._password:
                detail = detail.replace(self._password, "***")
            message = f"IMAP {self.host}:{self.port} ({self.username}): {action} failed: {detail}"
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

    def _search_new(self, client: Any) -> list[int]:
        if self._last_uid is None:
            return sorted(int(uid) for uid in client.search(["ALL"]))
        first = self._last_uid + 1
        # `UID n:*` also matches the highest existing UID when it is below n.
        found = client.search(["UID", f"{first}:*"])
        return sorted(uid for uid in (int(u) for u in found) if uid >= first)

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

    def _move(self, client: Any, uids: list[int], destination: str) -> None:
        wanted = ",".join(str(uid) for uid in sorted(set(uids)))
        present = sorted(int(uid) for uid in client.search(["UID", wanted]))
        if not present:
            log.debug("none of %d message(s) is still in %s", len(uids), self.folder)
            return
        self._ensure_folder(client, destination)
        if self._server_supports("MOVE"):
            client.move(present, destination)
        else:
            self._copy_then_expunge(client, present, destination)
        log.debug("moved %d message(s) to %s", len(present), destination)

    def _copy_then_expunge(self, client: Any, uids: list[int], destination: str) -> None:
        # COPY raises if it fails, so a message is only ever flagged after it has been copied.
        client.copy(uids, destination)
        client.add_flags(uids, [b"\\Deleted"], silent=True)
        if self._server_supports("UIDPLUS"):
            client.uid_expunge(uids)
        else:
            # Without UIDPLUS only a plain EXPUNGE exists; it also removes messages someone
            # else flagged \Deleted in this folder, which is what that flag asks for.
            client.expunge()

    def _ensure_folder(self, client: Any, name: str) -> None:
        if name in self._known_folders:
            return
        if not client.folder_exists(name):
            log.info("creating folder %s", name)
            try:
                client.create_folder(name)
            except imaplib.IMAP4.error:
                # Another client may have created it in the meantime; that is fine.
                if not client.folder_exists(name):
                    raise
        self._known_folders.add(name)

    # -- waiting -----------------------------------------------------------------------------

    def _idle(self, client: Any, deadline: float) -> bool:
        announced = False
        client.idle()
        try:
            # Measured with Dovecot: mail that arrived just before IDLE is announced in the
            # same packet as "+ idling", so imaplib has already buffered it and idle_check(),
            # which polls the socket, would wait out the whole timeout. idle_done() reads it.
            if _has_buffered_input(client, self.timeout):
                return self._end_idle(client)
            while not announced:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                responses = client.idle_check(timeout=remaining)
                announced = _announces_mail(responses)
                if not responses and deadline - time.monotonic() > 0.05:
                    # Readable but nothing parsed before the deadline: the server probably
                    # closed the connection. idle_done() below will tell.
                    break
        except BaseException:
            self._drop()
            raise
        return self._end_idle(client) or announced

    def _end_idle(self, client: Any) -> bool:
        # Raises, and the guard drops the connection, if the server has gone away.
        _text, responses = client.idle_done()
        return _announces_mail(responses)

    def _poll(self, client: Any, deadline: float) -> bool:
        while True:
            _text, responses = client.noop()
            if _announces_mail(responses):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(_POLL_INTERVAL, remaining))


def _announces_mail(responses: list[Any]) -> bool:
    return any(
        isinstance(response, tuple) and len(response) >= 2 and response[1] in _ANNOUNCEMENTS
        for response in responses
    )


def _has_buffered_input(client: Any, timeout: float) -> bool:
    """Whether imaplib holds unread server data that polling the socket cannot see."""
    reader = getattr(getattr(client, "_imap", None), "file", None)
    peek = getattr(reader, "peek", None)
    if peek is None:
        return False
    sock = client.socket()
    sock.setblocking(False)
    try:
        return bool(peek(1))
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.settimeout(timeout)


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


def _shutdown_quietly(client: Any) -> None:
    try:
        client.shutdown()
    except (OSError, imaplib.IMAP4.error):
        log.debug("socket was already closed", exc_info=True)
