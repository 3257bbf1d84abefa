"""parse(): bytes in, a frozen InboundMail out; bad mail never raises."""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.domain import RawMessage
from mailbot.inbound.parse import html_to_text, parse
from mailbot.text import one_line


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


# parse() reads Message-ID, Subject, Date, In-Reply-To and References from the raw header
# when that gives what the stdlib's header registry would; these check it against the stdlib.
HEADER_FRAGMENTS = (
    *("<", ">", "@", ".", "..", " ", "\t", "(", ")", "(c)", '"', "\\", ",", ";", ":", "[", "]"),
    *("=?utf-8?q?", "=?utf-8?b?", "?=", "=3C", "=40", "=3E", "=?utf-8?q?=3Cx=40y=3E?=", "=", "?"),
    *("=?iso-8859-1?q?caf=E9?=", "=?x-unknown?q?a?=", "abc", "a.b", "x-y_z", "!#$%&'*+/^`{|}~"),
    *("Tue,", "24", "Nov", "2026", "99", "0005", "09:15:00", "23:59:60", "99999999999999999999"),
    *("+0000", "-0000", "+2359", "-0130", "+9999", "GMT", "EST", "\r\n ", "\r\n\t", "é", "–"),
    *("\x00", "\x0b", "\x7f"),
)
header_values = st.lists(st.sampled_from(HEADER_FRAGMENTS), max_size=12).map("".join)
SIMPLE_HEADERS = ("Message-ID", "Subject", "Date", "In-Reply-To", "References")


def stdlib_reading(data: bytes) -> tuple[object, ...]:
    """The simple fields as the stdlib's header registry reads them (a failure reads None)."""
    message = email.message_from_bytes(data, policy=email.policy.default)

    def text(name: str) -> str | None:
        try:
            value = message.get(name)
        except Exception:
            return None
        return None if value is None else str(value)

    def first_msgid(value: str | None) -> str | None:
        found = re.search(r"<[^<>\s]+>", value or "")
        return found.group(0) if found else None

    try:
        date = email.utils.parsedate_to_datetime(text("Date") or "")
    except Exception:
        date = None
    return (
        first_msgid(text("Message-ID")),
        one_line(text("Subject") or ""),  # the subject is kept to one printable line
        date,
        first_msgid(text("In-Reply-To")),
        tuple(re.findall(r"<[^<>\s]+>", text("References") or "")),
    )


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SIMPLE_HEADERS), header_values), max_size=6))
def test_simple_headers_read_as_the_stdlib_reads_them(fields: list[tuple[str, str]]) -> None:
    lines = [f"{name}: {value}" for name, value in fields]
    data = ("\r\n".join(["From: a@met.police.uk", *lines]) + "\r\n\r\nhi").encode()
    mail = parse(raw(data))
    assert mail.unreadable is None
    found = (mail.message_id, mail.subject, mail.date, mail.in_reply_to, mail.references)
    assert found == stdlib_reading(data)


@pytest.mark.parametrize(
    "header",
    [
        b"Date: Tue, 24 Nov 99999999999999999999 09:15:00 +0000",  # OverflowError in the stdlib
        b"Date: Tue, 24 Nov 2026 09:15:00 +099999999999999999999",
        b"Message-Id: <a05001902b7f1c33773e9@[134.84.183.138>",  # AttributeError in the stdlib
    ],
)
def test_headers_the_stdlib_cannot_parse_are_left_out(header: bytes) -> None:
    mail = parse(raw(b"From: a@met.police.uk\r\n" + header + b"\r\nSubject: s\r\n\r\nhi"))
    assert mail.unreadable is None
    assert mail.date is None and mail.message_id is None
    assert mail.subject == "s"


def outlook_mail(with_plain: bool) -> bytes:
    """The shape of an Outlook meeting reply: alternative bodies, an inline image,
    attachments and a text/calendar part."""
    message = EmailMessage()
    message["From"] = '"Smith, Jane (PC 4471)" <Jane.Smith@lancashire.police.uk>'
    message["Subject"] = "Accepted: CSE forum"
    html = "<html><head><style>p{margin:0}</style></head><body><p>Yes please.</p></body></html>"
    image = (b"\x89PNG" * 500, "image", "png")
    if with_plain:
        message.set_content("Yes please, book me.\n")
        message.add_alternative(html, subtype="html")
        html_part = list(message.iter_parts())[1]
        html_part.add_related(*image, cid="<image001.png@01D9>")
    else:
        message.set_content(html, subtype="html")
        message.add_related(*image, cid="<image001.png@01D9>")
    message.add_attachment(b"%PDF" * 2000, "application", "pdf", filename="Joining.pdf")
    message.add_attachment("BEGIN:VCALENDAR\nMETHOD:REPLY\nEND:VCALENDAR\n", subtype="calendar")
    return message.as_bytes()


@pytest.mark.parametrize(
    ("with_plain", "text"), [(True, "Yes please, book me.\n"), (False, "Yes please.")]
)
def test_outlook_multipart_body_and_calendar(with_plain: bool, text: str) -> None:
    mail = parse(raw(outlook_mail(with_plain)))
    assert mail.content_type == "multipart/mixed"
    assert mail.text == text
    assert mail.calendar == "BEGIN:VCALENDAR\nMETHOD:REPLY\nEND:VCALENDAR\n"


def test_each_message_is_decoded_with_its_own_content_headers() -> None:
    """Parsed MIME headers are reused between messages: same header, same reading only."""
    head = b"From: a@met.police.uk\r\nSubject: s\r\nContent-Transfer-Encoding: 8bit\r\n"
    latin = parse(raw(head + b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9"))
    utf8 = parse(raw(head + b"Content-Type: text/plain; charset=utf-8\r\n\r\ncaf\xc3\xa9"))
    again = parse(raw(head + b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9"))
    assert latin.text == utf8.text == again.text == "café"
