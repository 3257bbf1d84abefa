"""Deliver outgoing mail over one reused SMTP connection (what its failures mean: smtp_errors)."""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import threading
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

import aiosmtplib

from mailbot.errors import (
    MailbotError,
    OperationalError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from mailbot.mail.base import TokenSource
from mailbot.mail.smtp_errors import (
    SERVICE_CLOSING,
    refused_failure,
    reply_failure,
    setup_failure,
)

__all__ = ["Security", "SmtpSink"]

log = logging.getLogger("mailbot.smtp")

Security = Literal["none", "starttls", "tls"]

_T = TypeVar("_T")

_SECURITY_LABELS: dict[str, str] = {
    "none": "plain SMTP (no TLS)",
    "starttls": "STARTTLS",
    "tls": "implicit TLS",
}

# RFC 4954: the credentials were not accepted (for XOAUTH2: the token, perhaps expired).
_AUTH_INVALID = 535

# QUIT is a courtesy: a server that does not answer quickly must not hold up shutdown.
_QUIT_TIMEOUT = 5.0


_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


def _has_control_characters(address: str) -> bool:
    return _CONTROL_CHARACTER.search(address) is not None


class SmtpSink:
    """A `MailSink` that keeps one SMTP connection open across `deliver()` calls.

    The rest of mailbot is synchronous, so the sink owns a private event loop and runs
    aiosmtplib on it; a lock serialises callers from different threads.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: Security,
        username: str | None,
        password: str | None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        token_source: TokenSource | None = None,
    ) -> None:
        if security not in _SECURITY_LABELS:
            raise ValueError(f"security must be 'none', 'starttls' or 'tls', not {security!r}")
        self._host = host
        self._port = port
        self._security: Security = security
        self._username = username
        self._password = password
        self._timeout = timeout
        self._ssl_context = ssl_context
        # Given: log in with SASL XOAUTH2 and a token from it instead of the password.
        self._token_source = token_source
        self._runner: asyncio.Runner | None = None
        self._client: aiosmtplib.SMTP | None = None
        self._lock = threading.Lock()

    # -- public, synchronous -------------------------------------------------------------

    def deliver(self, sender: str, recipients: list[str], data: bytes) -> None:
        """Send `data` exactly as given to `recipients`.

        Raises TransientDeliveryError (worth retrying), PermanentDeliveryError (refused
        for good, including partly refused recipients) or OperationalError (the login or
        TLS set-up failed: a configuration problem that affects every message).
        """
        if not recipients:
            raise PermanentDeliveryError("no recipients given")
        for address in [sender, *recipients]:
            # Such an address could smuggle extra SMTP commands onto the wire.
            if _has_control_characters(address):
                raise PermanentDeliveryError(f"invalid address {address!r}")
        with self._lock:
            self._run(self._deliver(sender, recipients, data))

    def check(self) -> str:
        """Connect, do TLS and login as configured, NOOP, and describe the connection."""
        with self._lock:
            try:
                self._run(self._check())
            except TransientDeliveryError as exc:
                # `mailbot check` reports a problem with the server, not with a message.
                raise OperationalError(str(exc)) from exc
        login = f"logged in as {self._username}" if self._username else "no login"
        return f"{self._where} {_SECURITY_LABELS[self._security]}, {login}"

    def close(self) -> None:
        """Say QUIT if connected and release the event loop. Never raises."""
        with self._lock:
            runner, self._runner = self._runner, None
            client, self._client = self._client, None
            if runner is None:
                return
            try:
                if client is not None and client.is_connected:
                    runner.run(self._quit(client))
            except Exception:
                log.debug("error while closing the SMTP connection to %s", self._where)
            finally:
                try:
                    runner.close()
                except Exception:
                    log.debug("error while closing the SMTP event loop", exc_info=True)

    # -- event-loop plumbing -------------------------------------------------------------

    @property
    def _where(self) -> str:
        return f"{self._host}:{self._port}"

    def _run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        # Created lazily so that a closed sink can be used again.
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(coro)

    def _redact(self, text: str) -> str:
        # A server may echo what it was sent; the password must never reach a log or a screen.
        if self._password:
            return text.replace(self._password, "<password>")
        return text

    def _discard(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- connection set-up ---------------------------------------------------------------

    async def _open(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            timeout=self._timeout,
            use_tls=self._security == "tls",
            # aiosmtplib would otherwise upgrade opportunistically; "none" means plain.
            start_tls=False,
            tls_context=self._ssl_context,
        )
        try:
            await client.connect()
            await self._greet(client)
            if self._security == "starttls":
                if not client.supports_extension("starttls"):
                    raise OperationalError(
                        f"{self._where} does not offer STARTTLS; refusing to send mail in clear"
                    )
                await client.starttls()
                # RFC 3207: extensions learnt before TLS must be forgotten and asked again.
                await self._greet(client)
            if self._username is not None and self._token_source is not None:
                await self._login_xoauth2(client, self._username, self._token_source)
            elif self._username is not None:
                await client.login(self._username, self._password or "")
        except MailbotError:
            client.close()
            raise
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise setup_failure(
                exc, where=self._where, username=self._username, redact=self._redact
            ) from None
        log.info(
            "connected to %s (%s)%s",
            self._where,
            _SECURITY_LABELS[self._security],
            f" as {self._username}" if self._username else "",
        )
        self._client = client
        return client

    async def _login_xoauth2(
        self, client: aiosmtplib.SMTP, username: str, tokens: TokenSource
    ) -> None:
        try:
            await client.auth_xoauth2(username, tokens.token())
        except aiosmtplib.SMTPAuthenticationError as exc:
            if exc.code != _AUTH_INVALID:
                raise
            # The cached token may have expired early or been revoked: one fresh try.
            log.info("%s rejected the OAuth2 token; asking for a new one", self._where)
            tokens.invalidate()
            await client.auth_xoauth2(username, tokens.token())

    @staticmethod
    async def _greet(client: aiosmtplib.SMTP) -> None:
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:
            await client.helo()

    async def _check(self) -> None:
        client = self._client
        if client is None or not client.is_connected:
            client = await self._open()
        try:
            response = await client.noop()
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._discard()
            raise OperationalError(self._redact(f"{self._where} failed NOOP: {exc}")) from None
        if response.code != 250:
            raise OperationalError(
                self._redact(f"{self._where} answered NOOP with {response.code} {response.message}")
            )

    async def _quit(self, client: aiosmtplib.SMTP) -> None:
        try:
            await client.quit(timeout=min(self._timeout, _QUIT_TIMEOUT))
        except (aiosmtplib.SMTPException, OSError):
            pass
        finally:
            client.close()

    # -- one mail transaction ------------------------------------------------------------

    async def _deliver(self, sender: str, recipients: list[str], data: bytes) -> None:
        # A kept-open connection may have been closed by the server while idle; that only
        # shows when MAIL FROM fails. Nothing of the message has been sent at that point,
        # so one retry on a fresh connection cannot duplicate it.
        for attempt in (1, 2):
            client = self._client
            reused = client is not None and client.is_connected
            if client is None or not reused:
                client = await self._open()
            options, encoding = self._envelope_options(client, sender, recipients, data)
            try:
                await client.mail(sender, options=options, encoding=encoding)
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code == SERVICE_CLOSING:
                    self._discard()
                    if reused and attempt == 1:
                        log.info("%s closed the idle connection; reconnecting", self._where)
                        continue
                raise reply_failure(
                    exc, "refused the sender", where=self._where, redact=self._redact
                ) from None
            except ValueError as exc:
                raise PermanentDeliveryError(str(exc)) from None
            except (aiosmtplib.SMTPException, OSError) as exc:
                self._discard()
                if reused and attempt == 1:
                    log.info("connection to %s went stale; reconnecting", self._where)
                    continue
                raise TransientDeliveryError(
                    self._redact(f"connection to {self._where} lost: {exc}")
                ) from None
            await self._recipients_and_data(client, recipients, data, encoding)
            return

    def _envelope_options(
        self,
        client: aiosmtplib.SMTP,
        sender: str,
        recipients: list[str],
        data: bytes,
    ) -> tuple[list[str], str]:
        options: list[str] = []
        if client.supports_extension("size"):
            # RFC 1870 allows an estimate; dot-stuffing may add a few bytes.
            options.append(f"SIZE={len(data)}")
        if not data.isascii() and client.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
        if all(address.isascii() for address in [sender, *recipients]):
            return options, "ascii"
        if not client.supports_extension("smtputf8"):
            raise PermanentDeliveryError(
                f"{self._where} does not support SMTPUTF8, needed for a non-ASCII address"
            )
        options.append("SMTPUTF8")
        return options, "utf-8"

    async def _recipients_and_data(
        self,
        client: aiosmtplib.SMTP,
        recipients: list[str],
        data: bytes,
        encoding: str,
    ) -> None:
        refused: dict[str, tuple[int, str]] = {}
        try:
            for recipient in recipients:
                try:
                    await client.rcpt(recipient, encoding=encoding)
                except aiosmtplib.SMTPRecipientRefused as exc:
                    if exc.code == SERVICE_CLOSING:
                        raise
                    refused[recipient] = (exc.code, exc.message)
            if len(refused) == len(recipients):
                await self._reset(client)
                raise refused_failure(
                    refused, all_refused=True, where=self._where, redact=self._redact
                )
            response = await client.data(data)
        except MailbotError:
            raise
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == SERVICE_CLOSING:
                self._discard()
            else:
                await self._reset(client)
            raise reply_failure(
                exc, "refused the message", where=self._where, redact=self._redact
            ) from None
        except ValueError as exc:
            await self._reset(client)
            raise PermanentDeliveryError(str(exc)) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The message may or may not have arrived; the caller decides whether to resend.
            self._discard()
            raise TransientDeliveryError(
                self._redact(f"connection to {self._where} lost while sending: {exc}")
            ) from None
        if refused:
            # The others got the message already, so a retry would duplicate it for them.
            raise refused_failure(
                refused, all_refused=False, where=self._where, redact=self._redact
            )
        log.debug(
            "%s accepted a message for %d recipient(s): %s",
            self._where,
            len(recipients),
            response.message,
        )

    async def _reset(self, client: aiosmtplib.SMTP) -> None:
        # Leaves the connection usable for the next message; if even RSET fails, start over.
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError):
            self._discard()
