"""A private Dovecot that also takes OAuth2 access tokens (XOAUTH2, OAUTHBEARER) on loopback.

Dovecot's `oauth2` passdb asks an RFC 7662 introspection endpoint about every token it is
shown, and lets the login in only when the endpoint says the token is active and belongs to
the user logging in. Password logins (PLAIN, LOGIN) still work, so tests can APPEND with
`client(user)` as on PrivateDovecot.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.servers.dovecot import HOST, PrivateDovecot

INTROSPECT_PATH = "/introspect"

_MECHANISMS = "auth_mechanisms = plain login\n"
_OAUTH_MECHANISMS = "auth_mechanisms = plain login xoauth2 oauthbearer\n"
_STATIC_PASSDB = "passdb {\n  driver = static\n"
# The password passdb answers only password mechanisms, so a token is judged by the
# introspection endpoint alone (and a token equal to the test password means nothing).
_PASSWORD_ONLY_PASSDB = "passdb {\n  driver = static\n  mechanisms = plain login\n"

_OAUTH_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {args_path}
}}
"""

# No tokeninfo_url: every token goes straight to introspection, so `active` always counts.
_OAUTH_ARGS = """\
# Written by tests/servers/dovecot_oauth.py.
introspection_url = {url}
introspection_mode = post
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
"""


class IntrospectionServer:
    """A token introspection endpoint (RFC 7662) on loopback, with tokens the test grants.

    `POST /introspect` with the form field `token` answers `{"active": true, "username": ...}`
    for a granted token and `{"active": false}` for any other. Tokens are never logged.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}
        self._asked = 0
        self._httpd = ThreadingHTTPServer((HOST, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        port: int = self._httpd.server_address[1]
        return f"http://{HOST}:{port}{INTROSPECT_PATH}"

    @property
    def asked(self) -> int:
        """How many introspection requests have been answered so far."""
        with self._lock:
            return self._asked

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="introspection", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5.0)
            self._thread = None
        self._httpd.server_close()

    def grant(self, token: str, username: str) -> None:
        """From now on, `token` is active and belongs to `username`."""
        with self._lock:
            self._tokens[token] = username

    def revoke(self, token: str) -> None:
        """From now on, `token` is inactive (as if revoked or expired)."""
        with self._lock:
            self._tokens.pop(token, None)

    def _introspect(self, token: str | None) -> dict[str, Any]:
        with self._lock:
            self._asked += 1
            username = self._tokens.get(token) if token else None
        if username is None:
            return {"active": False}
        return {"active": True, "username": username, "token_type": "Bearer"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path.split("?", 1)[0] != INTROSPECT_PATH:
                    self._reply(HTTPStatus.NOT_FOUND, {"error": "not_found"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode("ascii", errors="replace"))
                tokens = form.get("token")
                self._reply(HTTPStatus.OK, endpoint._introspect(tokens[0] if tokens else None))

            def _reply(self, status: HTTPStatus, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                # The default writes request lines to stderr; keep tokens out of every log.
                pass

        return Handler


class OAuthDovecot(PrivateDovecot):
    """PrivateDovecot whose config also accepts OAuth2 tokens, judged by introspection.

    Without `introspection_url` it runs its own IntrospectionServer: tests then `grant` and
    `revoke` tokens here. With a URL (another endpoint, answering like IntrospectionServer),
    tokens are managed there instead.
    """

    def __init__(
        self,
        root: Path | None = None,
        password: str = "correct-horse-42",
        introspection_url: str | None = None,
    ) -> None:
        super().__init__(root=root, password=password)
        self.introspection = IntrospectionServer() if introspection_url is None else None
        self.introspection_url = (
            introspection_url if self.introspection is None else self.introspection.url
        )
        self.oauth_args_path = self.root / "dovecot-oauth2.conf.ext"

    def start(self) -> None:
        if self.introspection is not None:
            self.introspection.start()
        try:
            super().start()
        except BaseException:
            self._stop_introspection()
            raise

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            self._stop_introspection()

    def grant(self, token: str, username: str) -> None:
        self._own_introspection().grant(token, username)

    def revoke(self, token: str) -> None:
        self._own_introspection().revoke(token)

    def _own_introspection(self) -> IntrospectionServer:
        if self.introspection is None:
            raise RuntimeError(
                f"tokens are managed by the endpoint at {self.introspection_url}, not here"
            )
        return self.introspection

    def _stop_introspection(self) -> None:
        if self.introspection is not None:
            self.introspection.stop()

    def _write_config(self) -> None:
        super()._write_config()
        self.oauth_args_path.write_text(_OAUTH_ARGS.format(url=self.introspection_url))
        text = self.config_path.read_text()
        text = _replace_once(text, _MECHANISMS, _OAUTH_MECHANISMS)
        text = _replace_once(text, _STATIC_PASSDB, _PASSWORD_ONLY_PASSDB)
        text += _OAUTH_PASSDB.format(args_path=self.oauth_args_path)
        self.config_path.write_text(text)


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise RuntimeError(
            f"tests/servers/dovecot.py's config no longer holds {old!r} exactly once; "
            "update OAuthDovecot to match"
        )
    return text.replace(old, new)


@pytest.fixture(scope="session")
def oauth_dovecot() -> Iterator[OAuthDovecot]:
    server = OAuthDovecot()
    server.start()
    try:
        yield server
    finally:
        server.stop()
