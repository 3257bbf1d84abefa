"""OAuth2 tokens from a loopback token endpoint, and SMTP delivery logged in with XOAUTH2."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from aiosmtplib.auth import auth_xoauth2_encode

from mailbot.errors import OperationalError, PermanentDeliveryError, TransientDeliveryError
from mailbot.mail.oauth import Grant, OAuth2Settings, TokenSource
from mailbot.mail.smtp import SmtpSink
from tests.servers.oauth import SCOPE, TokenEndpoint, parse_xoauth2
from tests.servers.smtp import LoopbackSmtpServer, free_port

SENDER = "bookings@example.org"
RECIPIENT = "ada.lovelace@example.com"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settings_for(endpoint: TokenEndpoint, **changes: str | None) -> OAuth2Settings:
    values: dict[str, str | None] = {
        "token_url": endpoint.url,
        "client_id": endpoint.client_id,
        "client_secret": endpoint.client_secret,
        "scope": SCOPE,
    }
    values.update(changes)
    grant: Grant = "refresh_token" if values.get("refresh_token") else "client_credentials"
    return OAuth2Settings(
        token_url=str(values["token_url"]),
        client_id=str(values["client_id"]),
        client_secret=str(values["client_secret"]),
        scope=str(values["scope"]),
        grant=grant,
        refresh_token=values.get("refresh_token"),
    )


def message(number: int = 1) -> bytes:
    return (
        f"From: Bookings <{SENDER}>\r\n"
        f"To: {RECIPIENT}\r\n"
        f"Subject: Your place at the workshop ({number})\r\n"
        f"Message-ID: <booking-{number}.oauth@bookings.example.org>\r\n"
        "\r\n"
        "Your place is confirmed.\r\n"
    ).encode()


def assert_secrets_absent(error: BaseException, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in str(error)
        assert secret not in repr(error.args)


# -- TokenSource ------------------------------------------------------------------------


def test_token_is_fetched_once_and_then_cached(token_endpoint: TokenEndpoint) -> None:
    source = TokenSource(settings_for(token_endpoint))

    first = source.token()
    second = source.token()

    assert first == second
    assert token_endpoint.issued == [first]
    assert token_endpoint.valid(first)
    assert token_endpoint.grants == ["client_credentials"]


def test_token_is_renewed_a_minute_before_it_expires(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.lifetime_seconds = 600
    clock = FakeClock()
    source = TokenSource(settings_for(token_endpoint), clock=clock)

    first = source.token()
    clock.now += 539
    assert source.token() == first
    clock.now += 2
    renewed = source.token()

    assert renewed != first
    assert token_endpoint.issued == [first, renewed]
    clock.now += 539
    assert source.token() == renewed


def test_a_short_lived_token_is_still_reused_for_a_while(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.lifetime_seconds = 40
    clock = FakeClock()
    source = TokenSource(settings_for(token_endpoint), clock=clock)

    first = source.token()
    clock.now += 19
    assert source.token() == first
    clock.now += 2
    assert source.token() != first


def test_invalidate_forces_a_new_token(token_endpoint: TokenEndpoint) -> None:
    source = TokenSource(settings_for(token_endpoint))
    first = source.token()

    source.invalidate()
    second = source.token()

    assert second != first
    assert token_endpoint.issued == [first, second]
    assert source.token() == second


def test_refresh_token_grant(token_endpoint: TokenEndpoint) -> None:
    source = TokenSource(settings_for(token_endpoint, refresh_token=token_endpoint.refresh_token))

    token = source.token()

    assert token_endpoint.valid(token)
    assert token_endpoint.grants == ["refresh_token"]


def test_a_rotated_refresh_token_is_used_from_then_on(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.rotate_refresh_tokens = True
    original = token_endpoint.refresh_token
    source = TokenSource(settings_for(token_endpoint, refresh_token=original))

    source.token()
    assert token_endpoint.refresh_token != original
    for _ in range(2):
        source.invalidate()
        source.token()  # the endpoint accepts only the newest refresh token

    assert token_endpoint.grants == ["refresh_token"] * 3


def test_a_refused_refresh_token_names_the_provider_error(token_endpoint: TokenEndpoint) -> None:
    stale = "stale-refresh-token-0123456789"
    source = TokenSource(settings_for(token_endpoint, refresh_token=stale))

    with pytest.raises(OperationalError, match="invalid_grant: AADSTS70000") as caught:
        source.token()

    assert_secrets_absent(caught.value, stale, token_endpoint.client_secret)


def test_refresh_token_grant_without_a_refresh_token_is_a_programming_error(
    token_endpoint: TokenEndpoint,
) -> None:
    settings = OAuth2Settings(
        token_url=token_endpoint.url,
        client_id=token_endpoint.client_id,
        client_secret=token_endpoint.client_secret,
        scope=SCOPE,
        grant="refresh_token",
    )
    with pytest.raises(ValueError, match="refresh token"):
        TokenSource(settings)


def test_wrong_secret_passes_the_provider_error_on_without_the_secret(
    token_endpoint: TokenEndpoint,
) -> None:
    wrong = "Wr0ng-Client-Secret-Value"
    source = TokenSource(settings_for(token_endpoint, client_secret=wrong))

    with pytest.raises(OperationalError) as caught:
        source.token()

    text = str(caught.value)
    assert text == (
        f"token endpoint {token_endpoint.url} refused: "
        "invalid_client: AADSTS7000215: Invalid client secret provided."
    )
    assert not isinstance(caught.value, TransientDeliveryError)
    assert_secrets_absent(caught.value, wrong, token_endpoint.client_secret)
    assert token_endpoint.issued == []


def test_a_multi_line_provider_error_becomes_one_line(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.fail_next(
        400,
        {
            "error": "invalid_scope",
            "error_description": "AADSTS70011: The provided value for scope is not valid.\r\n"
            "Trace ID: 0f1e\r\nCorrelation ID: 9a8b",
        },
    )
    source = TokenSource(settings_for(token_endpoint))

    with pytest.raises(OperationalError) as caught:
        source.token()

    assert str(caught.value) == (
        f"token endpoint {token_endpoint.url} refused: invalid_scope: AADSTS70011: "
        "The provided value for scope is not valid. Trace ID: 0f1e Correlation ID: 9a8b"
    )


def test_control_characters_in_a_provider_error_never_reach_the_terminal(
    token_endpoint: TokenEndpoint,
) -> None:
    # `mailbot check` and the logs print this message; an escape sequence from the endpoint
    # could clear or rewrite the administrator's terminal.
    token_endpoint.fail_next(
        400,
        {
            "error": "invalid_client",
            "error_description": "Bad secret\u001b[2J\u0000\u0007 (AADSTS7000215)",
        },
    )
    source = TokenSource(settings_for(token_endpoint))

    with pytest.raises(OperationalError) as caught:
        source.token()

    assert str(caught.value).endswith("refused: invalid_client: Bad secret [2J (AADSTS7000215)")


def test_an_error_without_json_names_the_http_status(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.fail_next(503, {})
    source = TokenSource(settings_for(token_endpoint))

    with pytest.raises(OperationalError, match="refused: HTTP 503 Service Unavailable"):
        source.token()


def test_unreachable_endpoint_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/token"
    secret = "S3cret-That-Must-Not-Show"
    source = TokenSource(
        OAuth2Settings(
            token_url=url,
            client_id="mailbot",
            client_secret=secret,
            scope=SCOPE,
            grant="client_credentials",
        ),
        timeout=5,
    )

    with pytest.raises(OperationalError) as caught:
        source.token()

    assert str(caught.value) == f"cannot reach the token endpoint {url}: Connection refused"
    assert caught.value.__suppress_context__
    assert_secrets_absent(caught.value, secret)


def test_response_without_access_token_is_a_clear_error(token_endpoint: TokenEndpoint) -> None:
    token_endpoint.fail_next(200, {"token_type": "Bearer", "expires_in": 3599})
    source = TokenSource(settings_for(token_endpoint))

    with pytest.raises(OperationalError) as caught:
        source.token()

    assert str(caught.value) == (
        f"token endpoint {token_endpoint.url} answered without an access_token "
        "(fields: expires_in, token_type)"
    )
    # The next request is answered properly, and the source recovers.
    assert token_endpoint.valid(source.token())


def test_reprs_hold_no_secret(token_endpoint: TokenEndpoint) -> None:
    settings = settings_for(token_endpoint, refresh_token=token_endpoint.refresh_token)
    source = TokenSource(settings)
    token = source.token()

    for text in (repr(settings), repr(source)):
        assert token_endpoint.client_secret not in text
        assert token_endpoint.refresh_token not in text
        assert token not in text
    assert token_endpoint.url in repr(source)


def test_the_test_servers_read_xoauth2_as_aiosmtplib_writes_it() -> None:
    # The SASL XOAUTH2 initial response, which the loopback servers check logins against.
    encoded = auth_xoauth2_encode("bookings@example.org", "ya29.token")
    raw = base64.b64decode(encoded)

    assert raw == b"user=bookings@example.org\x01auth=Bearer ya29.token\x01\x01"
    assert parse_xoauth2(raw) == ("bookings@example.org", "ya29.token")


def test_introspection_reports_valid_tokens_and_their_user(token_endpoint: TokenEndpoint) -> None:
    import requests

    token = TokenSource(settings_for(token_endpoint)).token()

    def introspect(value: str) -> object:
        return requests.post(
            token_endpoint.introspection_url, data={"token": value}, timeout=5
        ).json()

    assert introspect(token) == {"active": True, "username": token_endpoint.default_username}
    assert introspect("not-a-token") == {"active": False}
    token_endpoint.revoke_all()
    assert introspect(token) == {"active": False}


# -- SmtpSink with XOAUTH2 --------------------------------------------------------------


@pytest.fixture
def oauth_sink(
    smtp_xoauth2_server: LoopbackSmtpServer, token_endpoint: TokenEndpoint
) -> Iterator[SmtpSink]:
    sink = xoauth2_sink(smtp_xoauth2_server, TokenSource(settings_for(token_endpoint)))
    yield sink
    sink.close()


def xoauth2_sink(
    server: LoopbackSmtpServer, source: TokenSource, *, username: str | None = None
) -> SmtpSink:
    return SmtpSink(
        host=server.host,
        port=server.port,
        security="starttls",
        username=username or server.username,
        password=None,
        ssl_context=server.client_ssl_context,
        token_source=source,
    )


def test_delivery_logged_in_with_xoauth2(
    smtp_xoauth2_server: LoopbackSmtpServer, token_endpoint: TokenEndpoint, oauth_sink: SmtpSink
) -> None:
    server = smtp_xoauth2_server

    assert oauth_sink.check() == f"127.0.0.1:{server.port} STARTTLS, logged in as bookings"
    oauth_sink.deliver(SENDER, [RECIPIENT], message(1))
    oauth_sink.deliver(SENDER, [RECIPIENT], message(2))

    assert [m.content for m in server.messages] == [message(1), message(2)]
    assert all(m.tls and m.login == "bookings" for m in server.messages)
    assert server.handler.logins == [("bookings", "XOAUTH2", True)]
    assert len(token_endpoint.issued) == 1


def test_the_server_insists_on_a_login(smtp_xoauth2_server: LoopbackSmtpServer) -> None:
    server = smtp_xoauth2_server
    sink = SmtpSink(
        host=server.host,
        port=server.port,
        security="starttls",
        username=None,
        password=None,
        ssl_context=server.client_ssl_context,
    )
    try:
        with pytest.raises(PermanentDeliveryError, match="530"):
            sink.deliver(SENDER, [RECIPIENT], message())
    finally:
        sink.close()

    assert server.messages == []


def test_a_revoked_token_is_renewed_once_and_delivery_succeeds(
    smtp_xoauth2_server: LoopbackSmtpServer, token_endpoint: TokenEndpoint, oauth_sink: SmtpSink
) -> None:
    server = smtp_xoauth2_server
    oauth_sink.deliver(SENDER, [RECIPIENT], message(1))
    token_endpoint.revoke_all()
    # The connection drops, so the next delivery has to log in again.
    server.stop()
    server.start()

    oauth_sink.deliver(SENDER, [RECIPIENT], message(2))

    assert [m.content for m in server.messages] == [message(1), message(2)]
    assert server.handler.logins == [
        ("bookings", "XOAUTH2", True),
        ("bookings", "XOAUTH2", False),
        ("bookings", "XOAUTH2", True),
    ]
    first, second = token_endpoint.issued
    assert not token_endpoint.valid(first)
    assert token_endpoint.valid(second)


def test_a_token_the_server_keeps_refusing_is_retried_only_once(
    smtp_xoauth2_server: LoopbackSmtpServer, token_endpoint: TokenEndpoint
) -> None:
    server = smtp_xoauth2_server
    # The tokens are good, but they belong to "bookings", not to this mailbox.
    sink = xoauth2_sink(
        server, TokenSource(settings_for(token_endpoint)), username="someone-else@example.org"
    )
    try:
        with pytest.raises(OperationalError) as caught:
            sink.deliver(SENDER, [RECIPIENT], message())
    finally:
        sink.close()

    assert "535" in str(caught.value)
    assert "someone-else@example.org" in str(caught.value)
    assert not isinstance(caught.value, TransientDeliveryError)
    assert len(token_endpoint.issued) == 2
    assert [ok for _, _, ok in server.handler.logins] == [False, False]
    assert_secrets_absent(caught.value, *token_endpoint.issued)
    assert server.messages == []


def test_a_wrong_secret_is_an_operational_error_and_nothing_is_sent(
    smtp_xoauth2_server: LoopbackSmtpServer, token_endpoint: TokenEndpoint
) -> None:
    server = smtp_xoauth2_server
    wrong = "Wr0ng-Client-Secret-Value"
    sink = xoauth2_sink(server, TokenSource(settings_for(token_endpoint, client_secret=wrong)))
    try:
        with pytest.raises(OperationalError) as delivering:
            sink.deliver(SENDER, [RECIPIENT], message())
        with pytest.raises(OperationalError) as checking:
            sink.check()
    finally:
        sink.close()

    for error in (delivering.value, checking.value):
        assert "AADSTS7000215" in str(error)
        assert not isinstance(error, TransientDeliveryError)
        assert_secrets_absent(error, wrong, token_endpoint.client_secret)
    assert server.messages == []
    assert server.handler.logins == []


def test_a_secret_that_stops_working_fails_after_the_token_is_refused(
    smtp_xoauth2_server: LoopbackSmtpServer, token_endpoint: TokenEndpoint, oauth_sink: SmtpSink
) -> None:
    server = smtp_xoauth2_server
    oauth_sink.deliver(SENDER, [RECIPIENT], message(1))
    old_secret = token_endpoint.client_secret
    # The secret expired at the provider, which also revoked the tokens it had issued.
    token_endpoint.client_secret = "rotated-secret-the-sink-does-not-know"
    token_endpoint.revoke_all()
    server.stop()
    server.start()

    for number in (2, 3):
        with pytest.raises(OperationalError, match="AADSTS7000215") as caught:
            oauth_sink.deliver(SENDER, [RECIPIENT], message(number))
        assert not isinstance(caught.value, TransientDeliveryError)
        assert_secrets_absent(caught.value, old_secret, *token_endpoint.issued)

    assert [m.content for m in server.messages] == [message(1)]
    assert len(token_endpoint.issued) == 1
