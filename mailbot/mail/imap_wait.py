"""Wait on an open IMAP connection for the server to announce new mail: IDLE (RFC 2177)
where the server has it, else NOOP now and then."""

from __future__ import annotations

import ssl
import time
from typing import Any

from mailbot.mail.imap_layout import announces_mail

# Without IDLE, how often the server is asked for news.
POLL_INTERVAL = 5.0


def idle_until(client: Any, deadline: float, timeout: float) -> bool:
    """IDLE until the server announces mail or `deadline` (time.monotonic()) passes.

    On any exception the connection is left mid-IDLE: the caller must drop it.
    """
    client.idle()
    # Measured with Dovecot: mail that arrived just before IDLE is announced in the same
    # packet as "+ idling", so imaplib has already buffered it and idle_check(), which polls
    # the socket, would wait out the whole timeout. idle_done() reads it.
    if _has_buffered_input(client, timeout):
        return _end_idle(client)
    announced = False
    while not announced:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        responses = client.idle_check(timeout=remaining)
        announced = announces_mail(responses)
        if not responses and deadline - time.monotonic() > 0.05:
            # Readable but nothing parsed before the deadline: the server probably closed
            # the connection. idle_done() below will tell.
            break
    return _end_idle(client) or announced


def noop_until(client: Any, deadline: float) -> bool:
    """Ask with NOOP every POLL_INTERVAL seconds until mail is announced or `deadline`."""
    while True:
        _text, responses = client.noop()
        if announces_mail(responses):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(POLL_INTERVAL, remaining))


def _end_idle(client: Any) -> bool:
    # Raises if the server has gone away; the caller's guard drops the connection.
    _text, responses = client.idle_done()
    return announces_mail(responses)


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
