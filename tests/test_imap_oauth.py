"""ImapSource logging in with OAuth2 access tokens (XOAUTH2) against a real, private Dovecot.

Dovecot asks a loopback introspection endpoint about each token, so a token is accepted
exactly while the test has granted it to that user.
"""

from __future__ import annotations

import logging
import secrets
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mailbot.errors import OperationalError
from mailbot.mail.imap import ImapSource
from tests.servers.dovecot_oauth import OAuthDovecot

MakeSource = Callable[..., ImapSource]


class ListTokenSource:
    """Hands out tokens from a list: the current one until invalidated, then the next."""

    def __init__(self, tokens: list[str]) -> None:
        self._tokens = tokens
        self._current = 0
        self.handed_out: list[str] = []
        self.invalidations = 0

    def token(self) -> str:
        if self._current >= len(self._tokens):
            raise LookupError("the test gave this token source no more tokens")
        token = self._tokens[self._current]
        self.handed_out.append(token)
        return token

    def invalidate(self) -> None:
        self.invalidations += 1
        self._current += 1


def new_token() -> str:
    return f"ya29.test-{secrets.token_urlsafe(24)}"


def request(n: int) -> bytes:
    return (
        "From: Priya Natarajan <priya.natarajan@example.ac.uk>\r\n"
        "To: Training Bookings <bookings@example.org>\r\n"
        f"Subject: Place on the course, request {n}\r\n"
        f"Message-ID: <oauth-request-{n}@example.ac.uk>\r\n"
        "\r\n"
        f"Please book me a place. This is request {n}.\r\n"
    ).encode()


def append(server: OAuthDovecot, user: str, messages: list[bytes]) -> None:
    # Test-side mail arrives over a password login, which the server still takes.
    with server.client(user) as client:
        for data in messages:
            client.append("INBOX", data)


@pytest.fixture
def oauth_user(oauth_dovecot: OAuthDovecot) -> str:
    return oauth_dovecot.new_user()


@pytest.fixture
def make_source(oauth_dovecot: OAuthDovecot, oauth_user: str) -> Iterator[MakeSource]:
    made: list[ImapSource] = []

    def make(tokens: ListTokenSource, **overrides: Any) -> ImapSource:
        settings: dict[str, Any] = {
            "host": oauth_dovecot.host,
            "port": oauth_dovecot.port,
            "tls": False,
            "username": oauth_user,
            # Unused with a token source; empty, so a password login could not succeed.
            "password": "",
            "timeout": 10.0,
            "token_source": tokens,
        }
        settings.update(overrides)
        source = ImapSource(**settings)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


@pytest.fixture
def mailbot_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="mailbot")
    return caplog


def handle_new(source: ImapSource) -> list[bytes]:
    """Fetch new mail and mark it handled, as the bot does (moved out of INBOX)."""
    bodies = []
    for message in source.fetch_new():
        source.mark_handled(message.source_key)
        bodies.append(message.data)
    return bodies


def assert_nowhere(tokens: list[str], *texts: str) -> None:
    for token in tokens:
        for text in texts:
            assert token not in text


def test_a_valid_token_logs_in_and_fetches(
    oauth_dovecot: OAuthDovecot,
    oauth_user: str,
    make_source: MakeSource,
    mailbot_logs: pytest.LogCaptureFixture,
) -> None:
    token = new_token()
    oauth_dovecot.grant(token, oauth_user)
    append(oauth_dovecot, oauth_user, [request(1), request(2)])
    tokens = ListTokenSource([token])
    source = make_source(tokens)

    assert [m.data for m in source.fetch_new()] == [request(1), request(2)]
    assert source.check() == "INBOX: 2 messages"
    assert tokens.handed_out == [token]
    assert tokens.invalidations == 0
    assert_nowhere([token], mailbot_logs.text)


def test_a_refused_token_is_renewed_once_and_the_fetch_succeeds(
    oauth_dovecot: OAuthDovecot,
    oauth_user: str,
    make_source: MakeSource,
    mailbot_logs: pytest.LogCaptureFixture,
) -> None:
    expired, fresh = new_token(), new_token()
    oauth_dovecot.grant(expired, oauth_user)
    oauth_dovecot.revoke(expired)  # expired since the token source cached it
    oauth_dovecot.grant(fresh, oauth_user)
    append(oauth_dovecot, oauth_user, [request(1)])
    tokens = ListTokenSource([expired, fresh])
    source = make_source(tokens)

    assert [m.data for m in source.fetch_new()] == [request(1)]
    assert tokens.handed_out == [expired, fresh]
    assert tokens.invalidations == 1
    assert "refused the access token" in mailbot_logs.text
    assert_nowhere([expired, fresh], mailbot_logs.text)


def test_tokens_that_are_never_accepted_are_an_operational_error_without_the_tokens(
    oauth_dovecot: OAuthDovecot,
    oauth_user: str,
    make_source: MakeSource,
    mailbot_logs: pytest.LogCaptureFixture,
) -> None:
    # The first is active but for another mailbox; the second was never issued.
    for_someone_else, unknown, spare = new_token(), new_token(), new_token()
    oauth_dovecot.grant(for_someone_else, oauth_dovecot.new_user())
    oauth_dovecot.grant(spare, oauth_user)  # would work, but only one renewal is allowed
    tokens = ListTokenSource([for_someone_else, unknown, spare])
    source = make_source(tokens)

    with pytest.raises(OperationalError) as failure:
        list(source.fetch_new())

    message = str(failure.value)
    assert f"{oauth_dovecot.host}:{oauth_dovecot.port}" in message
    assert oauth_user in message
    assert "refused the OAuth2 access token" in message
    assert tokens.handed_out == [for_someone_else, unknown]
    # Neither refused token is kept: the next connection starts from a fresh one.
    assert tokens.invalidations == 2
    every_word = "".join(traceback.format_exception(failure.value))
    assert_nowhere([for_someone_else, unknown], message, every_word, mailbot_logs.text)

    # The next attempt (the bot's next poll) starts over, with the next token.
    assert source.check() == "INBOX: 0 messages"
    assert tokens.handed_out[-1] == spare


def test_a_token_revoked_mid_session_is_replaced_at_the_next_reconnect(
    oauth_dovecot: OAuthDovecot,
    oauth_user: str,
    make_source: MakeSource,
    mailbot_logs: pytest.LogCaptureFixture,
) -> None:
    first, second = new_token(), new_token()
    oauth_dovecot.grant(first, oauth_user)
    tokens = ListTokenSource([first, second])
    source = make_source(tokens)
    append(oauth_dovecot, oauth_user, [request(1)])
    assert handle_new(source) == [request(1)]

    # The server checks a token only at login: the open connection outlives its token.
    oauth_dovecot.revoke(first)
    oauth_dovecot.grant(second, oauth_user)
    append(oauth_dovecot, oauth_user, [request(2)])
    assert handle_new(source) == [request(2)]
    assert tokens.handed_out == [first]

    assert oauth_dovecot.kill_connections(oauth_user)
    append(oauth_dovecot, oauth_user, [request(3)])
    with pytest.raises(OperationalError):
        handle_new(source)  # notices the cut connection, as with passwords

    assert handle_new(source) == [request(3)]
    assert tokens.handed_out == [first, first, second]
    assert tokens.invalidations == 1
    assert_nowhere([first, second], mailbot_logs.text)
