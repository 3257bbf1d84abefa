"""aiosmtpd SMTP servers on loopback, including misbehaving ones."""

from __future__ import annotations

import asyncio
import secrets
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
USERNAME = "bookings"

TlsMode = Literal["none", "starttls", "tls"]

_TEXTS = {
    421: "4.3.2 Service shutting down, try again later",
    451: "4.3.0 Temporary local problem, try again later",
    452: "4.2.2 Mailbox full",
    550: "5.7.1 Message rejected",
    554: "5.6.0 Transaction failed",
}

# A dropped connection cancels the server's session task; this only bounds the wait
# if, against expectation, nobody cancels it.
_DROP_GRACE = 30.0


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the server accepted with 250."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    connection: int
    """1-based number of the connection that carried it, in order of first EHLO/HELO."""
    tls: bool
    login: str | None


@dataclass
class _Failure:
    kind: Literal["code", "drop"]
    code: int
    remaining: int | None  # None: until reset()


class RecordingHandler:
    """Keeps every accepted envelope, and misbehaves on request.

    All switches may be flipped from the test thread while a client is talking to the
    server: `fail_with(421)` is "down", `reset()` is "up" again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[ReceivedMessage] = []
        self._connections: list[SMTP] = []
        self._failure: _Failure | None = None
        self._refused: dict[str, int] = {}
        self._logins: list[tuple[str, str, bool]] = []

    # -- what tests look at ---------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def connections(self) -> int:
        """How many client connections said EHLO/HELO (STARTTLS does not count twice)."""
        with self._lock:
            return len(self._connections)

    @property
    def logins(self) -> list[tuple[str, str, bool]]:
        """(user name, mechanism, success) for every AUTH attempt."""
        with self._lock:
            return list(self._logins)

    # -- switches -------------------------------------------------------------------------

    def fail_with(self, code: int, *, times: int | None = None) -> None:
        """Answer `code` at the end of DATA for the next `times` messages (None: until reset).

        421 behaves like a real server going away: the reply, then the connection closes.
        """
        with self._lock:
            self._failure = _Failure("code", code, times)

    def drop_connection(self, *, times: int | None = 1) -> None:
        """Close the connection without any reply once DATA's content has arrived."""
        with self._lock:
            self._failure = _Failure("drop", 0, times)

    def refuse(self, *addresses: str, code: int = 550) -> None:
        """Answer `code` to RCPT TO for these addresses until reset."""
        with self._lock:
            for address in addresses:
                self._refused[address.lower()] = code

    def reset(self) -> None:
        """Behave normally again (recorded messages are kept)."""
        with self._lock:
            self._failure = None
            self._refused.clear()

    def clear(self) -> None:
        """Forget recorded messages, connections and logins."""
        with self._lock:
            self._messages.clear()
            self._connections.clear()
            self._logins.clear()

    def close_connections(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close every open client connection; run from the server's thread-safe side."""

        async def close_all() -> None:
            with self._lock:
                servers = list(self._connections)
            for server in servers:
                if server.transport is not None:
                    server.transport.close()
            # Let connection_lost callbacks run before the loop is stopped.
            await asyncio.sleep(0.05)

        asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=5)

    # -- aiosmtpd hooks -------------------------------------------------------------------

    def _register(self, server: SMTP) -> int:
        with self._lock:
            for number, known in enumerate(self._connections, start=1):
                if known is server:
                    return number
            self._connections.append(server)
            return len(self._connections)

    def _take_failure(self) -> _Failure | None:
        with self._lock:
            failure = self._failure
            if failure is None:
                return None
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failure = None
            return failure

    # aiosmtpd finds its hooks by these exact names.
    async def handle_EHLO(  # noqa: N802
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self._register(server)
        # With this hook in place aiosmtpd leaves remembering the greeting to us.
        session.host_name = hostname
        return responses

    async def handle_HELO(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        self._register(server)
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_RCPT(  # noqa: N802
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        with self._lock:
            code = self._refused.get(address.lower())
        if code is not None:
            return f"{code} 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        failure = self._take_failure()
        if failure is not None and (failure.kind == "drop" or failure.code == 421):
            if failure.kind == "code":
                await server.push(f"421 {_TEXTS[421]}")
            assert server.transport is not None
            server.transport.close()
            await asyncio.sleep(_DROP_GRACE)
            return f"421 {_TEXTS[421]}"
        if failure is not None:
            return f"{failure.code} {_TEXTS.get(failure.code, 'Simulated failure')}"
        number = self._register(server)
        transport = server.transport
        tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        login: str | None = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode()
        content = envelope.content
        assert isinstance(content, bytes)
        with self._lock:
            self._messages.append(
                ReceivedMessage(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    content=content,
                    connection=number,
                    tls=tls,
                    login=login,
                )
            )
        return "250 2.0.0 OK: queued"

    def authenticator(self, password: str) -> Callable[..., AuthResult]:
        def check(
            server: SMTP,
            session: Session,
            envelope: Envelope,
            mechanism: str,
            auth_data: Any,
        ) -> AuthResult:
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login == USERNAME.encode()
                and auth_data.password == password.encode()
            )
            user = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?"
            with self._lock:
                self._logins.append((user, mechanism, ok))
            if ok:
                return AuthResult(success=True, auth_data=auth_data)
            return AuthResult(success=False, handled=False)

        return check


def pytest_configure(config: pytest.Config) -> None:
    # Implicit TLS needs auth_require_tls=False, and aiosmtpd warns on every connection.
    config.addinivalue_line(
        "filterwarnings", "ignore:Requiring AUTH while not requiring TLS:UserWarning"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class LoopbackSmtpServer:
    """An aiosmtpd server on 127.0.0.1 that can be stopped and started on the same port."""

    def __init__(
        self,
        *,
        tls: TlsMode = "none",
        certificate: SelfSignedCertificate | None = None,
        password: str | None = None,
        handler: RecordingHandler | None = None,
    ) -> None:
        if tls != "none" and certificate is None:
            raise ValueError("a TLS server needs a certificate")
        self.host = HOST
        self.port = free_port()
        self.handler = handler if handler is not None else RecordingHandler()
        self.tls: TlsMode = tls
        self.username: str | None = USERNAME if password is not None else None
        self.password = password
        self.certificate = certificate
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[ReceivedMessage]:
        return self.handler.messages

    @property
    def client_ssl_context(self) -> ssl.SSLContext | None:
        """A client context that trusts this server's certificate."""
        return self.certificate.client_context() if self.certificate else None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        kwargs: dict[str, Any] = {}
        if self.tls == "starttls":
            assert self.certificate is not None
            kwargs["tls_context"] = self.certificate.server_context()
            kwargs["require_starttls"] = True
        elif self.tls == "tls":
            assert self.certificate is not None
            kwargs["ssl_context"] = self.certificate.server_context()
            # aiosmtpd cannot tell it runs under implicit TLS and would refuse AUTH
            # (aio-libs/aiosmtpd#281).
            kwargs["auth_require_tls"] = False
        if self.password is not None:
            kwargs["authenticator"] = self.handler.authenticator(self.password)
            kwargs["auth_required"] = True
        # A fresh Controller each time: a stopped one has closed its event loop.
        controller = Controller(
            self.handler,
            hostname=HOST,
            port=self.port,
            server_hostname="smtp.example.org",
            **kwargs,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Close the listener and every open connection: clients then get refused."""
        controller, self._controller = self._controller, None
        if controller is None:
            return
        # Closing the client connections first makes the outage immediate and visible to a
        # connected client, instead of depending on how Controller.stop() unwinds its tasks.
        self.handler.close_connections(controller.loop)
        controller.stop()


class SelfSignedCertificate:
    """A throw-away certificate for 127.0.0.1 made with the openssl command-line tool."""

    def __init__(self, directory: Path) -> None:
        self.cert_path = directory / "cert.pem"
        self.key_path = directory / "key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(self.key_path),
                "-out",
                str(self.cert_path),
            ],
            check=True,
            capture_output=True,
        )

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert_path))


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory: pytest.TempPathFactory) -> SelfSignedCertificate:
    return SelfSignedCertificate(tmp_path_factory.mktemp("smtp-cert"))


@pytest.fixture(scope="session")
def smtp_password() -> str:
    return secrets.token_urlsafe(16)


def _running(server: LoopbackSmtpServer) -> Iterator[LoopbackSmtpServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server() -> Iterator[LoopbackSmtpServer]:
    """Plain SMTP, no TLS, no AUTH."""
    yield from _running(LoopbackSmtpServer())


@pytest.fixture
def smtp_starttls_server(
    smtp_certificate: SelfSignedCertificate, smtp_password: str
) -> Iterator[LoopbackSmtpServer]:
    """STARTTLS required before mail, then AUTH PLAIN/LOGIN required."""
    yield from _running(
        LoopbackSmtpServer(tls="starttls", certificate=smtp_certificate, password=smtp_password)
    )


@pytest.fixture
def smtp_tls_server(
    smtp_certificate: SelfSignedCertificate, smtp_password: str
) -> Iterator[LoopbackSmtpServer]:
    """Implicit TLS from the first byte, AUTH PLAIN/LOGIN required."""
    yield from _running(
        LoopbackSmtpServer(tls="tls", certificate=smtp_certificate, password=smtp_password)
    )
