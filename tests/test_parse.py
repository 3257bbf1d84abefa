"""parse(): bytes in, a frozen InboundMail out; bad mail never raises."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.domain import RawMessage
from mailbot.parse import html_to_text, parse


def raw(data: bytes) -> RawMessage:
    return RawMessage("test:1", data)


PLAIN = (
    b'From: "Smith, Jane (DC 4471)" <Jane.Smith@WestMidlands.Police.uk>\r\n'
    b"To: bookings@example.ac.uk\r\n"
    b"Subject: =?utf-8?q?Booking_=E2=80=93_forum?=\r\n"
    b"Message-ID: <abc.123@westmidlands.police.uk>\r\n"
    b"In-Reply-To: <mailbot.1@example.ac.uk>\r\n"
    b"References: <root@x.example> <mailbot.1@example.ac.uk>\r\n"
    b"Date: Tue, 24 Nov 2026 09:15:00 +0000\r\n"
    b"\r\n"
    b"Please book me a place.\r\n"
)


def test_plain_message_fields() -> None:
    mail = parse(raw(PLAIN))
    assert mail.unreadable is None
    assert mail.sender is not None
    assert mail.sender.email == "jane.smith@westmidlands.police.uk"
    assert mail.sender.name == "Smith, Jane (DC 4471)"
    assert mail.sender_problem is None
    assert mail.subject == "Booking – forum"
    assert mail.message_id == "<abc.123@westmidlands.police.uk>"
    assert mail.in_reply_to == "<mailbot.1@example.ac.uk>"
    assert mail.references == ("<root@x.example>", "<mailbot.1@example.ac.uk>")
    assert mail.date is not None and mail.date.hour == 9
    assert mail.text.strip() == "Please book me a place."


def test_html_only_outlook_body_becomes_text() -> None:
    data = (
        b"From: A Person <a.person@durham.police.uk>\r\nSubject: x\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p{color:red}</style></head><body><p>Please book&nbsp;me.</p>"
        b"<p>Kind regards<br>A Person<br>Durham Constabulary</p></body></html>"
    )
    mail = parse(raw(data))
    assert "color" not in mail.text
    assert mail.text.splitlines() == [
        "Please book me.",
        "",
        "Kind regards",
        "A Person",
        "Durham Constabulary",
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"just some words with no header at all\r\n", "no headers"),
        (b"Subject: no sender\r\n\r\nbody", "no From header"),
    ],
)
def test_unreadable_messages_have_a_reason(data: bytes, reason: str) -> None:
    mail = parse(raw(data))
    assert mail.unreadable is not None and reason in mail.unreadable


@pytest.mark.parametrize(
    ("from_header", "problem"),
    [
        (b"officer@met.police.uk <attacker@evil.example>", "malformed"),
        (b"a@met.police.uk, b@met.police.uk", "exactly one mailbox"),
        (b"=?utf-8?q?x=0D=0AFrom:_a@met.police.uk?= <b@evil.example>", None),
        (b"Undisclosed", None),
    ],
)
def test_untrustworthy_from_headers_are_flagged(from_header: bytes, problem: str | None) -> None:
    mail = parse(raw(b"From: " + from_header + b"\r\nSubject: s\r\n\r\nhi"))
    assert mail.sender_problem is not None
    if problem:
        assert problem in mail.sender_problem


def test_two_from_headers_are_not_trusted() -> None:
    data = b"From: a@met.police.uk\r\nFrom: b@evil.example\r\nSubject: s\r\n\r\nx"
    assert parse(raw(data)).sender_problem == "the message has more than one From header"


def test_unknown_charset_body_is_decoded_leniently() -> None:
    data = (
        b"From: a@met.police.uk\r\nSubject: s\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nPlease book me\r\n"
    )
    mail = parse(raw(data))
    assert mail.unreadable is None
    assert "Please book me" in mail.text


def test_truncated_multipart_still_parses() -> None:
    data = (
        b"From: a@met.police.uk\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nPlease book"
    )
    mail = parse(raw(data))
    assert mail.sender is not None and mail.sender.email == "a@met.police.uk"
    assert "Please book" in mail.text


def test_html_to_text_survives_broken_markup_and_drops_scripts() -> None:
    text = html_to_text("<p>one<p>two</div></table><<script>x</script>three")
    assert text == "one\ntwo\n\n<three"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_parse_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    mail = parse(raw(data))
    assert mail.source_key == "test:1"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(PLAIN)), st.binary(min_size=1, max_size=20))
def test_parse_never_raises_on_mutated_real_mail(position: int, noise: bytes) -> None:
    mail = parse(raw(PLAIN[:position] + noise + PLAIN[position:]))
    assert mail.source_key == "test:1"
