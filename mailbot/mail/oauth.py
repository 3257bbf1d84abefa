"""Obtain and cache OAuth2 access tokens from a token endpoint, for SASL XOAUTH2 logins."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import requests

from mailbot.errors import OperationalError, causes
from mailbot.text import one_line

__all__ = ["Grant", "OAuth2Settings", "TokenSource"]

log = logging.getLogger("mailbot.oauth")

Grant = Literal["client_credentials", "refresh_token"]

# A token is renewed this long before the endpoint said it expires, so that a token
# handed out is still good by the time the mail server checks it.
_EXPIRY_MARGIN = 60.0

# RFC 6749 only recommends `expires_in`; without it, assume a short life.
_DEFAULT_LIFETIME = 300.0

# Provider error descriptions can run to several lines (Microsoft adds trace and
# correlation ids); they are folded onto one line and cut at this length.
_MAX_DETAIL = 400


@dataclass(frozen=True)
class OAuth2Settings:
    """Where and as whom to ask for tokens; the secrets are left out of the repr."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str
    grant: Grant
    refresh_token: str | None = field(default=None, repr=False)


def _reason(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    # requests wraps urllib3 wraps the socket error; the innermost one says what happened.
    *_, innermost = causes(exc)
    if isinstance(innermost, OSError) and innermost.strerror:
        return innermost.strerror
    return str(innermost) or type(innermost).__name__


def _lifetime(value: object) -> float:
    # Some endpoints (Azure AD v1) send the number as a string.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return _DEFAULT_LIFETIME
    try:
        seconds = float(value)
    except ValueError:
        return _DEFAULT_LIFETIME
    return seconds if seconds > 0 else _DEFAULT_LIFETIME


class TokenSource:
    """Hands out a valid access token, asking the token endpoint only when needed.

    A token is reused until `_EXPIRY_MARGIN` seconds before it expires (half its life if
    that is shorter). A caller whose token the server rejected calls `invalidate()` and
    asks once more. Safe to share between threads. No message, log line or repr made
    here carries the client secret, the refresh token or an access token.
    """

    def __init__(
        self,
        settings: OAuth2Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 30.0,
        post: Callable[..., requests.Response] | None = None,
    ) -> None:
        if settings.grant == "refresh_token" and not settings.refresh_token:
            raise ValueError("the refresh_token grant needs a refresh token")
        self._settings = settings
        self._clock = clock
        self._timeout = timeout
        self._post: Callable[..., requests.Response] = post or requests.post
        self._refresh_token = settings.refresh_token
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenSource({self._settings.token_url!r}, client_id={self._settings.client_id!r})"

    def token(self) -> str:
        """A current access token, from the cache or freshly from the endpoint.

        Raises OperationalError if the endpoint cannot be reached or refuses.
        """
        with self._lock:
            if self._token is not None and self._clock() < self._renew_at:
                return self._token
            asked_at = self._clock()
            token, lifetime = self._fetch()
            margin = min(_EXPIRY_MARGIN, lifetime / 2)
            self._token = token
            self._renew_at = asked_at + lifetime - margin
            log.info(
                "obtained an OAuth2 access token from %s (valid for %d s)",
                self._settings.token_url,
                lifetime,
            )
            return token

    def invalidate(self) -> None:
        """Forget the cached token: the next `token()` asks the endpoint again."""
        with self._lock:
            self._token = None

    # -- one request to the endpoint -----------------------------------------------------

    def _form(self) -> dict[str, str]:
        settings = self._settings
        form = {
            "grant_type": settings.grant,
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "scope": settings.scope,
        }
        if settings.grant == "refresh_token":
            assert self._refresh_token is not None
            form["refresh_token"] = self._refresh_token
        return form

    def _redact(self, text: str) -> str:
        # A provider could echo what it was sent; secrets must not reach a log or a screen.
        for secret in (self._settings.client_secret, self._refresh_token):
            if secret:
                text = text.replace(secret, "<secret>")
        return text

    def _fail(self, problem: str) -> OperationalError:
        return OperationalError(self._redact(problem))

    def _fetch(self) -> tuple[str, float]:
        url = self._settings.token_url
        try:
            response = self._post(
                url,
                data=self._form(),
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            # `from None`: the request exception holds the form, secret included.
            raise self._fail(
                f"cannot reach the token endpoint {url}: {_reason(exc, self._timeout)}"
            ) from None
        body = self._json(response)
        if not response.ok or (body is not None and "error" in body):
            raise self._fail(f"token endpoint {url} refused: {self._refusal(response, body)}")
        if body is None:
            content_type = response.headers.get("Content-Type", "no content type")
            raise self._fail(
                f"token endpoint {url} answered HTTP {response.status_code} "
                f"with no JSON object ({content_type})"
            )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            fields = ", ".join(sorted(body)) or "none"
            raise self._fail(
                f"token endpoint {url} answered without an access_token (fields: {fields})"
            )
        renewed = body.get("refresh_token")
        if self._settings.grant == "refresh_token" and isinstance(renewed, str) and renewed:
            # Providers may rotate refresh tokens; the old one may already be dead.
            self._refresh_token = renewed
        return token, _lifetime(body.get("expires_in"))

    @staticmethod
    def _json(response: requests.Response) -> Mapping[str, Any] | None:
        try:
            body = response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    @staticmethod
    def _refusal(response: requests.Response, body: Mapping[str, Any] | None) -> str:
        if body is not None and "error" in body:
            parts = [str(body["error"])]
            description = body.get("error_description")
            if description:
                parts.append(str(description))
            return one_line(": ".join(parts), _MAX_DETAIL)
        return one_line(f"HTTP {response.status_code} {response.reason or ''}", _MAX_DETAIL)
