"""What aiosmtplib's and the socket's failures mean to mailbot: each becomes an error that says
whether to retry the message, give it up, or fix the configuration. No connection needed."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import aiosmtplib

from mailbot.errors import (
    OperationalError,
    PermanentDeliveryError,
    ServerUnavailableError,
    TransientDeliveryError,
    causes,
)

__all__ = ["SERVICE_CLOSING", "Redact", "refused_failure", "reply_failure", "setup_failure"]

# Applied to every text that may echo what the server was sent, to keep the password out.
Redact = Callable[[str], str]

# RFC 5321: the server is closing the channel; the connection is gone after this reply.
SERVICE_CLOSING = 421


def _is_temporary(code: int) -> bool:
    return 400 <= code < 500


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(cause, kind) for cause in causes(exc))


def setup_failure(
    exc: aiosmtplib.SMTPException | OSError,
    *,
    where: str,
    username: str | None,
    redact: Redact,
) -> OperationalError:
    """The error for a failed connect, greeting, TLS set-up or login with `where`."""
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return OperationalError(
            redact(f"{where} rejected the login for {username!r}: {exc.code} {exc.message}")
        )
    if _caused_by(exc, ssl.SSLCertVerificationError):
        return OperationalError(redact(f"TLS with {where} failed, certificate not trusted: {exc}"))
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        text = redact(f"{exc.code} {exc.message}")
        if _is_temporary(exc.code):
            return ServerUnavailableError(f"{where} is not accepting mail now: {text}")
        return OperationalError(f"{where} refused the SMTP session: {text}")
    if isinstance(exc, OSError):
        return ServerUnavailableError(redact(f"cannot talk to {where}: {exc}"))
    return OperationalError(redact(f"SMTP set-up with {where} failed: {exc}"))


def reply_failure(
    exc: aiosmtplib.SMTPResponseException, what: str, *, where: str, redact: Redact
) -> TransientDeliveryError | PermanentDeliveryError:
    """The error for a reply refusing part of a mail transaction; `what` says which part."""
    text = redact(f"{where} {what}: {exc.code} {exc.message}")
    if exc.code >= 500:
        return PermanentDeliveryError(text)
    if exc.code == SERVICE_CLOSING:
        return ServerUnavailableError(text)
    # 4xx, and anything that is not a proper reply code, may well work later.
    return TransientDeliveryError(text)


def refused_failure(
    refused: dict[str, tuple[int, str]],
    *,
    all_refused: bool,
    where: str,
    redact: Redact,
) -> TransientDeliveryError | PermanentDeliveryError:
    """The error for recipients refused at RCPT TO, given as address -> (code, message)."""
    listing = ", ".join(
        f"{address} ({code} {message})" for address, (code, message) in refused.items()
    )
    if all_refused:
        text = redact(f"{where} refused every recipient: {listing}")
        if all(_is_temporary(code) for code, _ in refused.values()):
            return TransientDeliveryError(text)
        return PermanentDeliveryError(text)
    return PermanentDeliveryError(
        redact(f"{where} refused some recipients (the others were sent the message): {listing}")
    )
