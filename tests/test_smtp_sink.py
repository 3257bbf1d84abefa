"""SmtpSink against real aiosmtpd servers on loopback: delivery, reuse, errors, TLS and login."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mailbot.errors import OperationalError, PermanentDeliveryError, TransientDeliveryError
from mailbot.mail.smtp import SmtpSink
from tests.servers.smtp import LoopbackSmtpServer

SENDER = "bookings@example.org"
RECIPIENT = "ada.lovelace@example.com"


def message(number: int = 1, *, to: str = RECIPIENT) -> bytes:
    return (
        f"From: Bookings <{SENDER}>\r\n"
        f"To: {to}\r\n"
        f"Subject: Your place at the workshop ({number})\r\n"
        f"Message-ID: <booking-{number}.7f3a@bookings.example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Your place is confirmed. Caf\u00e9 opens at nine.\r\n"
        ".A line starting with a dot survives.\r\n"
    ).encode()


def plain_sink(server: LoopbackSmtpServer) -> SmtpSink:
    return SmtpSink(
        host=server.host, port=server.port, security="none", username=None, password=None
    )


@pytest.fixture
def sink(smtp_server: LoopbackSmtpServer) -> Iterator[SmtpSink]:
    s = plain_sink(smtp_server)
    yield s
    s.close()


def test_delivers_the_exact_bytes_for_the_given_envelope(
    smtp_server: LoopbackSmtpServer, sink: SmtpSink
) -> None:
    data = message()

    sink.deliver(SENDER, [RECIPIENT, "grace.hopper@example.net"], data)

    [received] = smtp_server.messages
    assert received.content == data
    assert b"Message-ID: <booking-1.7f3a@bookings.example.org>\r\n" in received.content
    assert received.mail_from == SENDER
    assert received.rcpt_tos == (RECIPIENT, "grace.hopper@example.net")


def test_many_deliveries_share_one_connection(
    smtp_server: LoopbackSmtpServer, sink: SmtpSink
) -> None:
    for number in range(25):
        sink.deliver(SENDER, [RECIPIENT], message(number))

    assert len(smtp_server.messages) == 25
    assert smtp_server.handler.connections == 1


@pytest.mark.parametrize("code", [421, 451])
def test_temporary_refusal_is_transient_and_next_delivery_works(
    smtp_server: LoopbackSmtpServer, sink: SmtpSink, code: int
) -> None:
    sink.deliver(SENDER, [RECIPIENT], message(1))
    smtp_server.handler.fail_with(code, times=1)

    with pytest.raises(TransientDeliveryError, match=str(code)):
        sink.deliver(SENDER, [RECIPIENT], message(2))

    sink.deliver(SENDER, [RECIPIENT], message(3))
    assert [m.content for m in smtp_server.messages] == [message(1), message(3)]


def test_permanent_refusal_is_permanent(smtp_server: LoopbackSmtpServer, sink: SmtpSink) -> None:
    smtp_server.handler.fail_with(550)

    with pytest.raises(PermanentDeliveryError, match="550"):
        sink.deliver(SENDER, [RECIPIENT], message())

    assert smtp_server.messages == []


def test_one_refused_recipient_is_named(smtp_server: LoopbackSmtpServer, sink: SmtpSink) -> None:
    smtp_server.handler.refuse("nobody@example.com")

    with pytest.raises(PermanentDeliveryError) as caught:
        sink.deliver(SENDER, [RECIPIENT, "nobody@example.com"], message())

    assert "nobody@example.com" in str(caught.value)
    assert "550" in str(caught.value)
    assert RECIPIENT not in str(caught.value)
    [received] = smtp_server.messages
    assert received.rcpt_tos == (RECIPIENT,)


def test_every_recipient_refused_temporarily_is_transient(
    smtp_server: LoopbackSmtpServer, sink: SmtpSink
) -> None:
    smtp_server.handler.refuse(RECIPIENT, code=452)

    with pytest.raises(TransientDeliveryError, match=RECIPIENT):
        sink.deliver(SENDER, [RECIPIENT], message())

    smtp_server.handler.reset()
    sink.deliver(SENDER, [RECIPIENT], message())
    assert len(smtp_server.messages) == 1


def test_dropped_connection_is_transient_and_the_sink_recovers(
    smtp_server: LoopbackSmtpServer, sink: SmtpSink
) -> None:
    sink.deliver(SENDER, [RECIPIENT], message(1))
    smtp_server.handler.drop_connection(times=1)

    with pytest.raises(TransientDeliveryError):
        sink.deliver(SENDER, [RECIPIENT], message(2))

    sink.deliver(SENDER, [RECIPIENT], message(3))
    assert [m.content for m in smtp_server.messages] == [message(1), message(3)]
    assert smtp_server.handler.connections == 2


def test_server_down_is_transient_and_delivery_resumes_when_it_is_back(
    smtp_server: LoopbackSmtpServer, sink: SmtpSink
) -> None:
    sink.deliver(SENDER, [RECIPIENT], message(1))
    smtp_server.stop()

    with pytest.raises(TransientDeliveryError, match=str(smtp_server.port)):
        sink.deliver(SENDER, [RECIPIENT], message(2))
    with pytest.raises(TransientDeliveryError):
        sink.deliver(SENDER, [RECIPIENT], message(2))

    smtp_server.start()
    sink.deliver(SENDER, [RECIPIENT], message(2))
    assert [m.content for m in smtp_server.messages] == [message(1), message(2)]


def test_connection_closed_by_server_while_idle_is_reopened_silently(
    smtp_server: LoopbackSmtpServer, sink: SmtpSink
) -> None:
    sink.deliver(SENDER, [RECIPIENT], message(1))
    smtp_server.stop()
    smtp_server.start()

    sink.deliver(SENDER, [RECIPIENT], message(2))

    assert [m.content for m in smtp_server.messages] == [message(1), message(2)]


def test_server_down_flipped_by_421_until_reset(
    smtp_server: LoopbackSmtpServer, sink: SmtpSink
) -> None:
    smtp_server.handler.fail_with(421)
    for number in range(3):
        with pytest.raises(TransientDeliveryError):
            sink.deliver(SENDER, [RECIPIENT], message(number))

    smtp_server.handler.reset()
    sink.deliver(SENDER, [RECIPIENT], message(9))
    assert [m.content for m in smtp_server.messages] == [message(9)]


def test_starttls_and_login(smtp_starttls_server: LoopbackSmtpServer, smtp_password: str) -> None:
    server = smtp_starttls_server
    sink = SmtpSink(
        host=server.host,
        port=server.port,
        security="starttls",
        username=server.username,
        password=smtp_password,
        ssl_context=server.client_ssl_context,
    )
    try:
        assert sink.check() == f"127.0.0.1:{server.port} STARTTLS, logged in as bookings"
        sink.deliver(SENDER, [RECIPIENT], message())
    finally:
        sink.close()

    [received] = server.messages
    assert received.content == message()
    assert received.tls
    assert received.login == "bookings"


def test_implicit_tls_and_login(smtp_tls_server: LoopbackSmtpServer, smtp_password: str) -> None:
    server = smtp_tls_server
    sink = SmtpSink(
        host=server.host,
        port=server.port,
        security="tls",
        username=server.username,
        password=smtp_password,
        ssl_context=server.client_ssl_context,
    )
    try:
        sink.deliver(SENDER, [RECIPIENT], message(1))
        sink.deliver(SENDER, [RECIPIENT], message(2))
    finally:
        sink.close()

    assert [m.content for m in server.messages] == [message(1), message(2)]
    assert all(m.tls and m.login == "bookings" for m in server.messages)
    assert server.handler.connections == 1


def test_wrong_password_is_an_operational_error_without_the_password(
    smtp_starttls_server: LoopbackSmtpServer,
) -> None:
    server = smtp_starttls_server
    wrong = "Wr0ng-Secret-Passphrase"
    sink = SmtpSink(
        host=server.host,
        port=server.port,
        security="starttls",
        username=server.username,
        password=wrong,
        ssl_context=server.client_ssl_context,
    )
    try:
        with pytest.raises(OperationalError) as caught:
            sink.deliver(SENDER, [RECIPIENT], message())
        with pytest.raises(OperationalError) as checked:
            sink.check()
    finally:
        sink.close()

    for error in (caught.value, checked.value):
        assert not isinstance(error, TransientDeliveryError | PermanentDeliveryError)
        assert "535" in str(error)
        assert wrong not in str(error)
        assert wrong not in repr(error.args)
    assert server.messages == []
    assert server.handler.logins
    assert not any(ok for _, _, ok in server.handler.logins)


def test_untrusted_certificate_is_refused(smtp_tls_server: LoopbackSmtpServer) -> None:
    server = smtp_tls_server
    sink = SmtpSink(
        host=server.host,
        port=server.port,
        security="tls",
        username=server.username,
        password=server.password,
    )
    try:
        with pytest.raises(OperationalError, match="not trusted"):
            sink.deliver(SENDER, [RECIPIENT], message())
    finally:
        sink.close()

    assert server.messages == []


def test_starttls_required_but_not_offered_refuses_to_send_in_clear(
    smtp_server: LoopbackSmtpServer,
) -> None:
    sink = SmtpSink(
        host=smtp_server.host,
        port=smtp_server.port,
        security="starttls",
        username=None,
        password=None,
    )
    try:
        with pytest.raises(OperationalError, match="STARTTLS") as caught:
            sink.deliver(SENDER, [RECIPIENT], message())
    finally:
        sink.close()

    assert not isinstance(caught.value, TransientDeliveryError)
    assert smtp_server.messages == []


def test_check_reports_an_unreachable_server(smtp_server: LoopbackSmtpServer) -> None:
    smtp_server.stop()
    sink = plain_sink(smtp_server)
    try:
        with pytest.raises(OperationalError, match=f"127.0.0.1:{smtp_server.port}"):
            sink.check()
    finally:
        sink.close()


def test_close_is_safe_to_repeat_and_the_sink_can_be_used_again(
    smtp_server: LoopbackSmtpServer,
) -> None:
    sink = plain_sink(smtp_server)
    sink.close()
    sink.deliver(SENDER, [RECIPIENT], message(1))
    sink.close()
    sink.close()
    sink.deliver(SENDER, [RECIPIENT], message(2))
    sink.close()

    assert len(smtp_server.messages) == 2
