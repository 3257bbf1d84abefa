"""Open a logged-in IMAP connection: a password, or an OAuth2 access token (XOAUTH2) that is
fetched afresh once when the server refuses it."""

from __future__ import annotations

import imaplib
import logging
from collections.abc import Callable
from typing import Any

from mailbot.errors import OperationalError
from mailbot.mail.base import TokenSource

log = logging.getLogger("mailbot.imap")


class _TokenRefusedError(Exception):
    """The server refused an access token; the text is the server's answer, token removed."""


def logged_in(
    open_client: Callable[[], Any],
    *,
    username: str,
    password: str,
    token_source: TokenSource | None,
    where: str,
) -> Any:
    """A new, logged-in connection from `open_client`; `where` names it in errors.

    A refused access token may have expired or been revoked since the token source got it:
    drop it and try once more, on a new connection, with a fresh one.
    """
    try:
        return _open_and_login(open_client, username, password, token_source)
    except _TokenRefusedError:
        assert token_source is not None
        token_source.invalidate()
        log.info("the server refused the access token; trying once more with a fresh one")
    try:
        return _open_and_login(open_client, username, password, token_source)
    except _TokenRefusedError as refused:
        # Not kept either: the next connection starts from another fresh token.
        token_source.invalidate()
        message = (
            f"{where}: the server refused the OAuth2 access token, and a fresh one after it: "
            f"{refused}"
        )
        log.warning("%s", message)
        raise OperationalError(message) from None


def shutdown_quietly(client: Any) -> None:
    try:
        client.shutdown()
    except (OSError, imaplib.IMAP4.error):
        log.debug("socket was already closed", exc_info=True)


def _open_and_login(
    open_client: Callable[[], Any],
    username: str,
    password: str,
    token_source: TokenSource | None,
) -> Any:
    client = open_client()
    try:
        _login(client, username, password, token_source)
    except BaseException:
        shutdown_quietly(client)
        raise
    return client


def _login(client: Any, username: str, password: str, token_source: TokenSource | None) -> None:
    if token_source is None:
        client.login(username, password)
        return
    token = token_source.token()
    try:
        client.oauth2_login(username, token)
    except imaplib.IMAP4.error as exc:
        # imapclient turns any failure of AUTHENTICATE into LoginError (an IMAP4.error).
        detail = str(exc) or type(exc).__name__
        if token:
            detail = detail.replace(token, "***")
        raise _TokenRefusedError(detail) from None
