"""Tests for the MIME writer: its output parsed back as a mail client would, line by line."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator, Sequence
from email import policy
from email.header import decode_header
from email.message import EmailMessage
from email.utils import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.outbound import mime
from mailbot.outbound.mime import Attachment, TextPart, write_message
from mailbot.outbound.mime_headers import HeaderValue, Mailbox
from mailbot.text import one_line

FROM = Mailbox("bookings@example.ac.uk", "CSE Forum bookings")
TO = Mailbox("jane.smith@example.police.uk", "Jane Smith")
OUTLOOK_ID = "<DB9PR07MB1234567890ABCDEF1234567890ABCDEF@DB9PR07MB1234.eurprd07.prod.outlook.com>"
BODY = (
    TextPart("Your place is confirmed.\n"),
    TextPart("<p>Your place is confirmed.</p>\n", "html"),
)


def write(
    *extra: tuple[str, HeaderValue],
    body: Sequence[TextPart] = BODY,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    headers: list[tuple[str, HeaderValue]] = [("From", FROM), ("To", TO), *extra]
    return write_message(headers, body, attachments)


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def head(data: bytes) -> list[bytes]:
    return data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def unfolded(data: bytes, name: str) -> str:
    """The raw value of one header, unfolded: what a reader sees before decoding."""
    raw = data.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").decode("ascii")
    (value,) = [line[len(name) + 2 :] for line in raw.split("\r\n") if line.startswith(f"{name}: ")]
    return value


_ENCODED_WORD = re.compile(r"=\?utf-8\?[qb]\?[^?]*\?=")
_RAW_WORD = re.compile(r'"(?:[^"\\]|\\.)*"|[^ "]+')


def display_names(data: bytes, field: str = "To") -> tuple[str, str]:
    """The display name in `field` as RFC 2047 reads it, and as policy.default reads it.

    They differ only where two encoded-words are adjacent: RFC 2047 (6.2) ignores the space
    between them, CPython's address parser kept it until gh-128110. The writer puts such a
    pair only inside one run of encoded text, so an RFC reader sees the name exactly.
    """
    phrase = unfolded(data, field).rpartition(" <")[0]
    rfc = stdlib = ""
    previous_encoded = False
    for index, word in enumerate(_RAW_WORD.findall(phrase)):
        encoded = _ENCODED_WORD.fullmatch(word) is not None
        if encoded:
            ((payload, charset),) = decode_header(word)
            assert isinstance(payload, bytes) and charset == "utf-8"
            text = payload.decode(charset)
        elif word.startswith('"'):
            text = re.sub(r"\\(.)", r"\1", word[1:-1])
        else:
            text = word
        if index:
            stdlib += " "
            rfc += "" if encoded and previous_encoded else " "
        rfc += text
        stdlib += text
        previous_encoded = encoded
    parsed = parse(data)[field].addresses[0].display_name
    assert parsed in (rfc, stdlib)  # the latter only before gh-128110
    return rfc, parsed


def assert_well_formed(data: bytes) -> None:
    """7-bit, CRLF only, no line over 998, no stray CR or LF, and no defect the stdlib sees."""
    assert all(byte < 128 for byte in data)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in lines(data))
    message = parse(data)
    for part in message.walk():
        assert not part.defects, part.defects
        for name, value in part.items():
            assert not getattr(value, "defects", ()), (name, value.defects)


def test_headers_and_parts_read_back() -> None:
    data = write(
        ("Reply-To", Mailbox("bookings@example.ac.uk")),
        ("Date", "Tue, 12 Jan 2027 09:30:00 +0000"),
        ("Message-ID", "<mailbot.t0k3n@example.ac.uk>"),
        ("Subject", "Re: Booking request"),
        ("X-Mailbot-Outcome", "confirmed"),
    )
    assert_well_formed(data)
    assert all(len(line) <= 78 for line in lines(data))
    message = parse(data)
    assert list(message.keys()) == [
        "From",
        "To",
        "Reply-To",
        "Date",
        "Message-ID",
        "Subject",
        "X-Mailbot-Outcome",
        "MIME-Version",
        "Content-Type",
    ]
    assert str(message["From"]) == "CSE Forum bookings <bookings@example.ac.uk>"
    assert str(message["Reply-To"]) == "bookings@example.ac.uk"
    assert b"\r\nReply-To: bookings@example.ac.uk\r\n" in data
    assert message["Message-ID"] == "<mailbot.t0k3n@example.ac.uk>"
    assert message["Subject"] == "Re: Booking request"
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    assert text.get_content_type() == "text/plain"
    assert text.get_content_charset() == "utf-8"
    assert text.get_content() == "Your place is confirmed.\r\n"
    assert html.get_content() == "<p>Your place is confirmed.</p>\r\n"
    assert text["Content-Transfer-Encoding"] == "7bit"


def test_a_single_part_is_the_whole_body() -> None:
    data = write(body=(TextPart("Hello"),))
    message = parse(data)
    assert message.get_content_type() == "text/plain"
    assert message["Content-Transfer-Encoding"] == "7bit"
    assert message.get_content() == "Hello\r\n"
    assert data.endswith(b"\r\n\r\nHello\r\n")


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("Jane Smith", b"To: Jane Smith <to@example.org>"),
        ("Llewelyn-Jones, Sian", b'To: "Llewelyn-Jones, Sian" <to@example.org>'),
        ('O"Brien \\ (Co)', b'To: "O\\"Brien \\\\ (Co)" <to@example.org>'),
        ("Dr. J. Smith", b'To: "Dr. J. Smith" <to@example.org>'),
        ("Llewelyn-Jones, Siân", b'To: "Llewelyn-Jones," =?utf-8?q?Si=C3=A2n?= <to@example.org>'),
        ("Siân Llewelyn-Jones", b"To: =?utf-8?q?Si=C3=A2n?= Llewelyn-Jones <to@example.org>"),
        ("José Müller", b"To: =?utf-8?q?Jos=C3=A9_M=C3=BCller?= <to@example.org>"),
        ("=?utf-8?q?not_a_word?=", None),
        ("José Müller <evil@example.com>, x", None),
        ("渡辺 太郎 — 警察庁の長い名前" * 3, None),
        ("A, " + "very long name with a comma " * 4 + "end", None),
        ("Jane " + "Smith " * 30 + "Jones", None),
        ("", b"To: to@example.org"),
    ],
)
def test_display_names_read_back_exactly(name: str, raw: bytes | None) -> None:
    data = write_message([("To", Mailbox("to@example.org", name))], BODY)
    assert_well_formed(data)
    assert all(len(line) <= 78 for line in lines(data))
    (address,) = parse(data)["To"].addresses
    assert address.addr_spec == "to@example.org"
    assert display_names(data)[0] == name
    if "?= =?" not in unfolded(data, "To"):  # no pair of encoded-words readers differ on
        assert address.display_name == name
    if raw is not None:
        assert head(data)[0] == raw


def test_encoded_words_stay_within_the_rfc_2047_limit() -> None:
    data = write(("Subject", "Réservation " * 20), ("X-Name", "ж" * 200))
    words = re.findall(rb"=\?utf-8\?[qb]\?[^?]*\?=", data)
    assert len(words) > 4
    assert all(len(word) <= 75 for word in words)
    assert all(len(line) <= 78 for line in lines(data))
    assert parse(data)["Subject"] == "Réservation " * 20


def test_long_ascii_subject_is_folded_between_words_only() -> None:
    subject = "Re: Working together to enhance police responses to child sexual exploitation " * 3
    subject = subject.strip()
    data = write(("Subject", subject))
    assert head(data)[2].startswith(b"Subject: Re: Working")
    assert unfolded(data, "Subject") == subject  # no encoded-word, no word split
    assert all(len(line) <= 78 for line in lines(data))
    assert parse(data)["Subject"] == subject


def test_a_word_longer_than_a_line_stays_whole() -> None:
    word = "x" * 120
    data = write(("Subject", f"Re: {word} end"))
    assert [b"Subject: Re:", f" {word}".encode(), b" end"] == head(data)[2:5]
    assert parse(data)["Subject"] == f"Re: {word} end"


def test_a_word_no_line_can_hold_is_encoded() -> None:
    word = "y" * 1200
    data = write(("Subject", f"Re: {word}"))
    assert_well_formed(data)
    assert all(len(line) <= 78 for line in lines(data))
    assert parse(data)["Subject"] == f"Re: {word}"


@pytest.mark.parametrize(
    "subject",
    [
        "Réservation – CSE forum",
        "=?utf-8?q?looks_encoded?=",
        "two  spaces",
        " leading",
        "trailing ",
    ],
)
def test_subjects_that_would_not_read_back_as_written_are_encoded(subject: str) -> None:
    data = write(("Subject", subject))
    assert unfolded(data, "Subject").startswith("=?utf-8?")
    assert parse(data)["Subject"] == subject


def test_empty_subject() -> None:
    data = write(("Subject", ""))
    assert b"\r\nSubject:\r\n" in data
    assert parse(data)["Subject"] == ""


def test_long_message_ids_are_never_split_or_encoded() -> None:
    references = " ".join(f"<{'r' * 60}.{i}@example.org>" for i in range(12)) + " " + OUTLOOK_ID
    data = write(
        ("Message-ID", OUTLOOK_ID),
        ("In-Reply-To", OUTLOOK_ID),
        ("References", references),
    )
    assert_well_formed(data)
    assert f"Message-ID: {OUTLOOK_ID}".encode() in lines(data)
    assert f"In-Reply-To: {OUTLOOK_ID}".encode() in lines(data)
    assert f" {OUTLOOK_ID}".encode() in lines(data)
    message = parse(data)
    assert message["In-Reply-To"] == OUTLOOK_ID
    assert message["References"].split() == references.split()
    assert unfolded(data, "References") == references


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Message-ID", "<réservation@example.org>"),
        ("In-Reply-To", ""),
        ("References", "<a@example.org>  <b@example.org>"),
        ("References", f"<{'z' * 1000}@example.org>"),
    ],
)
def test_message_ids_that_cannot_be_written_are_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        write((name, value))


@pytest.mark.parametrize(
    "value",
    ["Booking\r\nBcc: victim@example.com", "Booking\nBcc: x", "Booking\rBcc: x", "a\x00b", "a\tb"],
)
def test_control_characters_are_refused_rather_than_written(value: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        write(("Subject", value))
    with pytest.raises(ValueError, match="control character"):
        write(("In-Reply-To", value))
    with pytest.raises(ValueError, match="control character"):
        write_message([("To", Mailbox("to@example.org", value))], BODY)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([("Bad Name", "x")], "not a header field name"),
        ([("X-Colon:", "x")], "not a header field name"),
        ([("Content-Type", "text/plain")], "written from the parts"),
        ([("mime-version", "1.0")], "written from the parts"),
        ([("Subject", "a"), ("subject", "b")], "given twice"),
        ([("To", TO), ("To", TO)], "given twice"),
    ],
)
def test_headers_the_writer_cannot_honour_are_refused(
    headers: list[tuple[str, HeaderValue]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        write_message(headers, BODY)


def test_repeatable_headers_may_repeat() -> None:
    data = write_message([("Received", "by a"), ("Received", "by b"), ("Comments", "x")], BODY)
    assert parse(data).get_all("Received") == ["by a", "by b"]


def test_a_message_needs_a_body() -> None:
    with pytest.raises(ValueError, match="body part"):
        write_message([("To", TO)], ())


@pytest.mark.parametrize(
    ("address", "written"),
    [
        ("jane.smith@example.police.uk", "jane.smith@example.police.uk"),
        ("  jane@example.org ", "jane@example.org"),
        ("JANE+tag@Example.ORG", "JANE+tag@Example.ORG"),
        ('"jane smith"@example.org', '"jane smith"@example.org'),
        ("jane@[192.0.2.1]", "jane@[192.0.2.1]"),
        # A non-ASCII domain travels in its IDNA form (the stdlib wrote an encoded-word
        # into the domain, which no client can answer).
        ("jane@exämple.org", "jane@xn--exmple-cua.org"),
        ("jane@bücher.example", "jane@xn--bcher-kva.example"),
    ],
)
def test_addresses_are_written_as_addr_specs(address: str, written: str) -> None:
    data = write_message([("To", Mailbox(address, "Jane"))], BODY)
    assert head(data)[0] == f"To: Jane <{written}>".encode()
    assert parse(data)["To"].addresses[0].addr_spec == written


@pytest.mark.parametrize(
    "address",
    [
        "jöhn@example.org",  # a non-ASCII local part needs SMTPUTF8 (the stdlib refused it too)
        "john",
        "a b@example.org",
        "john..doe@example.org",
        ".john@example.org",
        "<john@example.org>",
        "john@example.org, eve@example.org",
        "john@example.org>",
        "john@ex..org",
        "john@exa\r\nmple.org",
        "john\r\nBcc: eve@example.org",
        "@example.org",
        "john@",
    ],
)
def test_addresses_that_are_not_addr_specs_are_refused(address: str) -> None:
    with pytest.raises(ValueError, match="address"):
        write_message([("To", Mailbox(address, "John"))], BODY)


def test_short_ascii_text_is_7bit_and_other_text_quoted_printable() -> None:
    long_line = "word " * 30 + "end"
    data = write(
        body=(
            TextPart("short\nlines\n"),
            TextPart(long_line),
            TextPart("Siân\n", "html"),
            TextPart("trailing space \nand tab\t\nend"),
        )
    )
    assert_well_formed(data)
    assert all(len(line) <= 78 for line in lines(data))
    parts = list(parse(data).iter_parts())
    assert [str(p["Content-Transfer-Encoding"]) for p in parts] == [
        "7bit",
        "quoted-printable",
        "quoted-printable",
        "quoted-printable",
    ]
    contents = [p.get_content() for p in parts if isinstance(p, EmailMessage)]
    assert contents == [
        "short\r\nlines\r\n",
        long_line + "\r\n",
        "Siân\r\n",
        "trailing space \r\nand tab\t\r\nend\r\n",
    ]
    assert b"trailing space=20\r\n" in data
    assert b"and tab=09\r\n" in data


@pytest.mark.parametrize("text", ["a\nb\n", "a\r\nb\r\n", "a\rb\r", "a\nb"])
def test_every_line_break_becomes_crlf(text: str) -> None:
    data = write(body=(TextPart(text),))
    assert data.endswith(b"\r\n\r\na\r\nb\r\n")


def test_attachments_follow_the_alternative_in_a_mixed_message() -> None:
    invite = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nSUMMARY:Caf\xc3\xa9\r\nEND:VCALENDAR\r\n"
    binary = bytes(range(256)) * 5
    data = write(
        attachments=(
            Attachment(
                "invite.ics",
                "text/calendar",
                invite,
                (("charset", "utf-8"), ("method", "REQUEST")),
            ),
            Attachment("attendees.xlsx", "application/octet-stream", binary),
            Attachment("empty.txt", "text/plain", b""),
        )
    )
    assert_well_formed(data)
    assert all(len(line) <= 78 for line in lines(data))
    message = parse(data)
    assert message.get_content_type() == "multipart/mixed"
    first, *attached = message.iter_parts()
    assert first.get_content_type() == "multipart/alternative"
    body = message.get_body(("plain",))
    assert body is not None and body.get_content() == "Your place is confirmed.\r\n"
    calendar, sheet, empty = attached
    assert isinstance(calendar, EmailMessage) and isinstance(sheet, EmailMessage)
    assert isinstance(empty, EmailMessage)
    assert list(message.iter_attachments()) == attached
    assert (
        b'Content-Type: text/calendar; charset="utf-8"; method="REQUEST"\r\n'
        b'Content-Disposition: attachment; filename="invite.ics"\r\n'
        b"Content-Transfer-Encoding: base64\r\n" in data
    )
    assert calendar.get_param("method") == "REQUEST"
    assert calendar.get_content_charset() == "utf-8"
    assert calendar.get_filename() == "invite.ics"
    assert calendar.get_payload(decode=True) == invite
    assert sheet.get_content() == binary
    assert sheet.get_filename() == "attendees.xlsx"
    assert empty.get_payload(decode=True) == b""


@pytest.mark.parametrize(
    "filename",
    [
        "réservations.csv",
        "Teilnehmer – Übersicht für das Forum in Preston, März 2027 (alle Plätze).csv",
        "参加者リスト" * 8 + ".xlsx",
        'a "quoted" \\ name.csv',
        "x" * 120 + ".csv",
    ],
)
def test_file_names_read_back_exactly(filename: str) -> None:
    data = write(attachments=(Attachment(filename, "text/csv", b"a,b\r\n"),))
    assert_well_formed(data)
    assert all(len(line) <= 78 for line in lines(data))
    (attachment,) = parse(data).iter_attachments()
    assert attachment.get_filename() == filename
    if not filename.isascii():
        assert b"filename*" in data and b"utf-8''" in data  # RFC 2231, not an encoded-word
        assert b"=?utf-8?" not in data


def test_a_short_non_ascii_file_name_is_one_rfc_2231_parameter() -> None:
    data = write(attachments=(Attachment("réservations.csv", "text/csv", b""),))
    assert b"Content-Disposition: attachment; filename*=utf-8''r%C3%A9servations.csv\r\n" in data


def test_rfc_2231_sections_never_split_a_character() -> None:
    filename = "é" * 40
    data = write(attachments=(Attachment(filename, "text/csv", b""),))
    sections = re.findall(rb"filename\*\d+\*=([^;\r]*)", data)
    assert len(sections) > 1
    for section in sections[1:]:
        assert section.startswith(b"%C3%A9")
    (attachment,) = parse(data).iter_attachments()
    assert attachment.get_filename() == filename


@pytest.mark.parametrize(
    ("content_type", "params"),
    [("text", ()), ("text/", ()), ("text/csv; charset=utf-8", ()), ("text/csv", (("a b", "x"),))],
)
def test_malformed_attachment_types_are_refused(
    content_type: str, params: tuple[tuple[str, str], ...]
) -> None:
    with pytest.raises(ValueError, match="MIME"):
        write(attachments=(Attachment("a.csv", content_type, b"", params),))


def test_a_boundary_found_in_a_part_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = "===============1111111111111111111=="
    candidates: Iterator[str] = iter([taken, "===============2222222222222222222=="])
    monkeypatch.setattr(mime, "_new_boundary", lambda: next(candidates))
    data = write(body=(TextPart(f"--{taken}\n"), TextPart("<p>x</p>", "html")))
    assert b'boundary="===============2222222222222222222=="' in data
    text, _ = parse(data).iter_parts()
    assert isinstance(text, EmailMessage)
    assert text.get_content() == f"--{taken}\r\n"


def test_boundaries_differ_between_messages_and_between_levels() -> None:
    attachment = Attachment("a.txt", "text/plain", b"x")
    first = write(attachments=(attachment,))
    second = write(attachments=(attachment,))
    boundaries = re.findall(rb'boundary="([^"]+)"', first) + re.findall(
        rb'boundary="([^"]+)"', second
    )
    assert len(boundaries) == len(set(boundaries)) == 4


# Arbitrary text, and text made of what makes header writing hard: specials, quotes, things
# that look like encoded-words, spaces, line breaks and controls, long words.
_FRAGMENTS = [
    *" ,;:\"\\()<>[]@.=?_-'aZ9",
    *("=?", "?=", "  ", "x" * 90, "é", "ж", "渡", "😀"),
    *("\t", "\r", "\n", "\r\n", "\x00", "\x7f", "\x85", "\u2028", "\u00a0"),
]
_TRICKY = st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join)
_NAMES = st.one_of(st.text(max_size=150), _TRICKY)
_SUBJECTS = st.one_of(st.text(max_size=300), _TRICKY)
_BODIES = st.one_of(st.text(max_size=1500), _TRICKY)


# Whatever a sender puts in their name or subject, and whatever a template renders, the mail
# reads back exactly (after one_line, which turns line breaks into spaces) and
# carries no header of its own.
@settings(max_examples=400, deadline=None)
@given(name=_NAMES, subject=_SUBJECTS, text=_BODIES, html=_BODIES)
def test_arbitrary_names_subjects_and_bodies_round_trip(
    name: str, subject: str, text: str, html: str
) -> None:
    name, subject = one_line(name), one_line(subject)
    data = write_message(
        [
            ("From", FROM),
            ("To", Mailbox("to@example.org", name)),
            ("Subject", subject),
            ("In-Reply-To", OUTLOOK_ID),
        ],
        (TextPart(text), TextPart(html, "html")),
    )
    assert_well_formed(data)
    for line in head(data):
        assert line.startswith((b" ", b"From: ", b"To: ", b"Subject:", b"In-Reply-To: ")) or (
            line.startswith((b"MIME-Version: ", b"Content-Type: "))
        ), line
    message = parse(data)
    assert list(message.keys()) == [
        "From",
        "To",
        "Subject",
        "In-Reply-To",
        "MIME-Version",
        "Content-Type",
    ]
    (address,) = message["To"].addresses
    assert address.addr_spec == "to@example.org"
    assert display_names(data)[0] == name
    assert message["Subject"] == subject
    assert message["In-Reply-To"] == OUTLOOK_ID
    plain, rich = message.iter_parts()
    for part, written in ((plain, text), (rich, html)):
        assert isinstance(part, EmailMessage)
        expected = written.replace("\r\n", "\n").replace("\r", "\n")
        if not expected.endswith("\n"):
            expected += "\n"
        assert part.get_content().replace("\r\n", "\n") == expected


@settings(max_examples=200, deadline=None)
@given(filename=st.one_of(st.text(min_size=1, max_size=200), _TRICKY), data=st.binary())
def test_arbitrary_file_names_and_contents_round_trip(filename: str, data: bytes) -> None:
    message_bytes = write(attachments=(Attachment(filename, "application/octet-stream", data),))
    assert_well_formed(message_bytes)
    (attachment,) = parse(message_bytes).iter_attachments()
    # get_filename() strips whitespace, and a pair of quotes or angle brackets, from around
    # the name (it unquotes the unquoted value once more), whatever the mail says.
    assert (attachment.get_filename() or "") == unquote(filename).strip()
    assert attachment.get_payload(decode=True) == data
