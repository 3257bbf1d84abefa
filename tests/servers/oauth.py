"""A loopback OAuth2 token endpoint, and an SMTP server that checks XOAUTH2 tokens against it."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.servers.smtp import (
    HOST,
    USERNAME,
    LoopbackSmtpServer,
    RecordingHandler,
    SelfSignedCertificate,
)

CLIENT_ID = "mailbot-test-client"
SCOPE = "https://outlook.office365.com/.default"

WRONG_SECRET_ERROR = {
    "error": "invalid_client",
    "error_description": "AADSTS7000215: Invalid client secret provided.",
}
BAD_REFRESH_TOKEN_ERROR = {
    "error": "invalid_grant",
    "error_description": "AADSTS70000: The provided refresh token is not valid.",
}


class TokenEndpoint:
    """An OAuth2 token endpoint (`/token`) with token introspection (`/introspect`).

    Grants `client_credentials` and `refresh_token` to the one client it knows. Tokens
    live `lifetime_seconds` by the real monotonic clock. Every attribute may be changed
    from the test thread while clients are talking to it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.client_id = CLIENT_ID
        self.client_secret = secrets.token_urlsafe(24)
        self.refresh_token = secrets.token_urlsafe(24)
        self.lifetime_seconds = 3600
        self.default_username = USERNAME
        """Whom a token belongs to when its request named no `username`."""
        self.rotate_refresh_tokens = False
        """True: every refresh_token grant hands out a new refresh token, the old one dies."""
        self._issued: list[str] = []
        self._expires: dict[str, float] = {}
        self._owners: dict[str, str] = {}
        self._revoked: set[str] = set()
        self._failures: list[tuple[int, dict[str, Any]]] = []
        self._grants: list[str] = []
        self._server = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            # A short poll interval keeps shutdown(), and so each test's teardown, quick.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="oauth-token-endpoint",
            daemon=True,
        )

    # -- what tests use ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The token endpoint."""
        return f"{self.base_url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    @property
    def issued(self) -> list[str]:
        """Every access token handed out, oldest first."""
        with self._lock:
            return list(self._issued)

    @property
    def grants(self) -> list[str]:
        """The grant_type of every token request that got a token, in order."""
        with self._lock:
            return list(self._grants)

    def valid(self, token: str) -> bool:
        """Issued here, not revoked and not expired."""
        with self._lock:
            expires = self._expires.get(token)
            return expires is not None and token not in self._revoked and time.monotonic() < expires

    def owner(self, token: str) -> str | None:
        """The user name introspection reports for a valid token."""
        with self._lock:
            return self._owners.get(token)

    def revoke_all(self) -> None:
        """Make every token issued so far invalid (new ones are still handed out)."""
        with self._lock:
            self._revoked.update(self._issued)

    def fail_next(self, status: int, json_body: dict[str, Any]) -> None:
        """Answer the next token request with this status and JSON body, whatever it asks."""
        with self._lock:
            self._failures.append((status, json_body))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- what the HTTP handler calls -----------------------------------------------------------

    def answer_token_request(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self._failures:
                return self._failures.pop(0)
            if (
                form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                return HTTPStatus.UNAUTHORIZED, WRONG_SECRET_ERROR
            grant = form.get("grant_type")
            body: dict[str, Any] = {}
            if grant == "refresh_token":
                if form.get("refresh_token") != self.refresh_token:
                    return HTTPStatus.BAD_REQUEST, BAD_REFRESH_TOKEN_ERROR
                if self.rotate_refresh_tokens:
                    self.refresh_token = secrets.token_urlsafe(24)
                    body["refresh_token"] = self.refresh_token
            elif grant != "client_credentials":
                return HTTPStatus.BAD_REQUEST, {
                    "error": "unsupported_grant_type",
                    "error_description": f"grant_type {grant!r} is not supported",
                }
            if not form.get("scope"):
                return HTTPStatus.BAD_REQUEST, {
                    "error": "invalid_request",
                    "error_description": "The request body must contain 'scope'.",
                }
            token = secrets.token_urlsafe(32)
            self._issued.append(token)
            self._expires[token] = time.monotonic() + self.lifetime_seconds
            self._owners[token] = form.get("username") or self.default_username
            self._grants.append(grant)
            body.update(
                token_type="Bearer",
                expires_in=self.lifetime_seconds,
                access_token=token,
            )
            return HTTPStatus.OK, body

    def answer_introspection(self, token: str | None) -> dict[str, Any]:
        if token is None or not self.valid(token):
            return {"active": False}
        return {"active": True, "username": self.owner(token)}


def _handler_for(endpoint: TokenEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace")
            form = {key: values[0] for key, values in parse_qs(raw).items()}
            if path == "/token":
                status, body = endpoint.answer_token_request(form)
                self._send(status, body)
            elif path == "/introspect":
                self._send(HTTPStatus.OK, endpoint.answer_introspection(self._token(form)))
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": "not_found"})

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            if split.path == "/introspect":
                query = {key: values[0] for key, values in parse_qs(split.query).items()}
                self._send(HTTPStatus.OK, endpoint.answer_introspection(self._token(query)))
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": "not_found"})

        def _token(self, fields: dict[str, str]) -> str | None:
            # Dovecot can send the token as a form field, a query field or a Bearer header.
            if "token" in fields:
                return fields["token"]
            authorization = self.headers.get("Authorization", "")
            scheme, _, value = authorization.partition(" ")
            return value.strip() if scheme.lower() == "bearer" and value.strip() else None

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


def parse_xoauth2(blob: bytes) -> tuple[str, str] | None:
    """(user, bearer token) from a decoded XOAUTH2 client response, or None if malformed."""
    try:
        text = blob.decode()
    except UnicodeDecodeError:
        return None
    if not text.endswith("\x01\x01"):
        return None
    fields = dict(part.partition("=")[::2] for part in text[:-2].split("\x01"))
    user = fields.get("user")
    scheme, _, token = fields.get("auth", "").partition(" ")
    if not user or scheme != "Bearer" or not token:
        return None
    return user, token


class XOAuth2Handler(RecordingHandler):
    """A RecordingHandler that takes AUTH XOAUTH2 and checks the token with a TokenEndpoint.

    The token must be valid there and belong to the user named in the response. A refused
    token gets Google's answer: a 334 challenge carrying a base64 JSON error, then 535 once
    the client has sent an empty line. MAIL without a login is refused with 530.
    """

    def __init__(self, endpoint: TokenEndpoint) -> None:
        super().__init__()
        self.endpoint = endpoint

    # aiosmtpd offers a mechanism for every `auth_<NAME>` method of the handler.
    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False)
        else:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except binascii.Error:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False)
        assert isinstance(blob, bytes)
        parsed = parse_xoauth2(blob)
        if parsed is None:
            await server.push("501 5.5.2 Malformed XOAUTH2 response")
            return AuthResult(success=False)
        user, token = parsed
        ok = self.endpoint.valid(token) and self.endpoint.owner(token) == user
        with self._lock:
            self._logins.append((user, "XOAUTH2", ok))
        if ok:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        error = {"status": "401", "schemes": "Bearer", "scope": SCOPE}
        if await server.challenge_auth(json.dumps(error)) is MISSING:
            return AuthResult(success=False)  # the client aborted; aiosmtpd answered
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and token not accepted"
        )

    async def handle_MAIL(  # noqa: N802
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        # The server is built without `auth_required` (that needs a password); insist here.
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint()
    endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture
def smtp_xoauth2_server(
    smtp_certificate: SelfSignedCertificate, token_endpoint: TokenEndpoint
) -> Iterator[LoopbackSmtpServer]:
    """STARTTLS required, then AUTH XOAUTH2 with a token valid at `token_endpoint`."""
    server = LoopbackSmtpServer(
        tls="starttls", certificate=smtp_certificate, handler=XOAuth2Handler(token_endpoint)
    )
    server.username = token_endpoint.default_username
    server.start()
    try:
        yield server
    finally:
        server.stop()
