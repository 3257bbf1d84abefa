"""Turn raw message bytes into a frozen InboundMail; never raises on bad mail."""

from __future__ import annotations

import email
import email.utils
import re
from collections.abc import Iterable
from datetime import datetime
from email.headerregistry import AddressHeader
from email.message import EmailMessage, Message
from html.parser import HTMLParser

from mailbot.domain import Address, InboundMail, RawMessage
from mailbot.inbound.mailpolicy import reading_policy
from mailbot.text import one_line

_MSGID = re.compile(r"<[^<>\s]+>")
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "blockquote", "hr"}
)
_SKIP_TAGS = frozenset({"style", "script", "head", "title"})
_MAX_HEADERS = 500

# The stdlib removes these from a header's raw value before parsing it (EmailPolicy).
_LINESEP = re.compile(r"[\r\n]")
# A Message-ID the stdlib's msg-id parser gives back character for character: one
# "<dot-atom@dot-atom>" between blanks. Anything else takes the stdlib's path.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
_PLAIN_MSGID = re.compile(rf"[ \t]*<{_DOT_ATOM}@{_DOT_ATOM}>[ \t]*")
# Headers read straight from the raw value when that gives what the stdlib would.
_SIMPLE_HEADERS = frozenset({"message-id", "subject", "date", "in-reply-to", "references"})


def parse(raw: RawMessage) -> InboundMail:
    """Parse one message. Anything that cannot be read becomes `unreadable` with a reason."""
    if not raw.data.strip():
        return _unreadable(raw, "the message is empty")
    try:
        message = email.message_from_bytes(raw.data, policy=reading_policy())
    except Exception as exc:  # the parser is meant to be lenient; anything else is a bug
        return _unreadable(raw, f"the message cannot be parsed: {type(exc).__name__}")
    if not isinstance(message, EmailMessage) or not message.keys():
        return _unreadable(raw, "the message has no headers")

    raw_headers = list(message.raw_items())
    headers = _headers(raw_headers)
    if not any(name == "from" for name, _ in headers):
        return _unreadable(raw, "the message has no From header", headers)

    first = _first_values(raw_headers)
    sender, sender_problem = _sender(message)
    return InboundMail(
        source_key=raw.source_key,
        message_id=_message_id(message, first.get("message-id")),
        sender=sender,
        sender_problem=sender_problem,
        subject=one_line(_unstructured(message, "Subject", first) or ""),
        date=_date(message, first.get("date")),
        in_reply_to=_first_msgid(_unstructured(message, "In-Reply-To", first)),
        references=tuple(_MSGID.findall(_unstructured(message, "References", first) or "")),
        headers=headers,
        content_type=message.get_content_type(),
        text=_body_text(message),
        calendar=_calendar_part(message),
        part_types=_part_types(message),
    )


def _unreadable(
    raw: RawMessage, reason: str, headers: tuple[tuple[str, str], ...] = ()
) -> InboundMail:
    return InboundMail(
        source_key=raw.source_key,
        message_id=None,
        sender=None,
        sender_problem=reason,
        subject="",
        date=None,
        in_reply_to=None,
        references=(),
        headers=headers,
        content_type="",
        text="",
        unreadable=reason,
    )


def _get(message: Message, name: str) -> str | None:
    """A header's value as text, or None when it is absent or cannot be decoded."""
    try:
        value = message.get(name)
    except Exception:  # header parsing in the stdlib can fail in many ways on hostile input
        return None
    return None if value is None else str(value)


def _headers(raw_headers: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Every header as unfolded raw text. The ones classification reads (Auto-Submitted,
    List-Id, Authentication-Results, ...) are ASCII by definition, and decoding every
    header through the header registry was the slowest step of parsing."""
    return tuple((name.lower(), one_line(str(value))) for name, value in raw_headers[:_MAX_HEADERS])


def _first_values(raw_headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The raw value of the first of each simple header, as message.get() would find it."""
    first: dict[str, str] = {}
    for name, value in raw_headers:
        key = name.lower()
        if key in _SIMPLE_HEADERS and key not in first:
            first[key] = value
    return first


def _plain(value: str | None) -> str | None:
    """The raw value unfolded, when the stdlib would give exactly that back: no bytes to
    sanitise (non-ASCII) and no encoded words to decode ("=?"). None otherwise."""
    if not isinstance(value, str) or not value.isascii() or "=?" in value:
        return None
    return _LINESEP.sub("", value)


def _unstructured(message: Message, name: str, first: dict[str, str]) -> str | None:
    """A header the stdlib reads as unstructured text (Subject, In-Reply-To, References)."""
    value = first.get(name.lower())
    if value is None:
        return None
    plain = _plain(value)
    return plain if plain is not None else _get(message, name)


def _message_id(message: Message, value: str | None) -> str | None:
    """The first <msg-id> of the Message-ID header."""
    if value is None:
        return None
    plain = _plain(value)
    if plain is not None and _PLAIN_MSGID.fullmatch(plain):
        return _first_msgid(plain)
    return _first_msgid(_get(message, "Message-ID"))


def _first_msgid(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID.search(value)
    return found.group(0) if found else None


def _date(message: Message, value: str | None) -> datetime | None:
    """The Date header. For an ASCII value the stdlib's DateHeader only runs
    parsedate_to_datetime and formats the result, which parses back to the same datetime;
    so that is parsed directly, and the rest go through the header registry."""
    if value is None:
        return None
    if value.isascii():
        return _parse_date(_LINESEP.sub("", value))
    return _parse_date(_get(message, "Date"))


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (ArithmeticError, LookupError, TypeError, ValueError):  # OverflowError: year 10**20
        return None


def _sender(message: Message) -> tuple[Address | None, str | None]:
    """The From mailbox and, when it cannot be trusted, why."""
    from_headers = _all_values(message, "From")
    if from_headers is None:
        return None, "the From header cannot be decoded"
    if len(from_headers) != 1:
        return None, "the message has more than one From header"
    header = from_headers[0]
    if not isinstance(header, AddressHeader):
        return None, "the From header is not an address"
    try:
        addresses = header.addresses
        defects = tuple(getattr(header, "defects", ()))  # BaseHeader has it; the stubs omit it
        mailbox = addresses[0] if len(addresses) == 1 else None
        parts = (mailbox.display_name, mailbox.addr_spec) if mailbox else None
    except Exception:  # the stdlib's address parser has raised AttributeError on groups
        return None, "the From header cannot be decoded"
    if mailbox is None or parts is None:
        return None, "the From header does not name exactly one mailbox"
    address = Address(name=one_line(parts[0]), email=parts[1].lower())
    if not mailbox.username or not mailbox.domain:
        return address, "the From address is incomplete"
    if defects:
        return address, f"the From header is malformed ({type(defects[0]).__name__})"
    return address, None


def _all_values(message: Message, name: str) -> list[object] | None:
    try:
        return list(message.get_all(name) or [])
    except Exception:  # header parsing in the stdlib can fail in many ways on hostile input
        return None


def _body_text(message: EmailMessage) -> str:
    """The readable body, preferring text/plain; HTML is converted to text."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:  # broken MIME structure: treat as a message without a body
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # unknown charset or broken encoding: decode leniently instead
        content = _decode_leniently(part)
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_subtype() == "html" else content


def _part_types(message: Message) -> frozenset[str]:
    """Content types of the message's own parts; an attached message is one part, and what
    it holds is someone else's (a person may forward a bounce or a list mail)."""
    found: set[str] = set()
    waiting = [message]
    while waiting:
        part = waiting.pop()
        content_type = part.get_content_type()
        found.add(content_type)
        if content_type.startswith("multipart/"):
            payload = part.get_payload()
            if isinstance(payload, list):
                waiting.extend(p for p in payload if isinstance(p, Message))
    return frozenset(found)


def _calendar_part(message: EmailMessage) -> str | None:
    """The first text/calendar part: Outlook's meeting replies carry their answer there."""
    try:
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                content = part.get_content()
                return content if isinstance(content, str) else None
    except Exception:  # a broken calendar part is ignored like any unreadable attachment
        return None
    return None


def _decode_leniently(part: Message) -> str:
    """Body bytes of an unknown or broken charset, decoded as well as we can."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a payload that cannot even be decoded is unreadable, not fatal
        return ""
    if not isinstance(payload, bytes):
        return ""
    return payload.decode("utf-8", errors="replace")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skipping:
            self._skipping -= 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """Readable text from an HTML body: block elements become line breaks."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except (AssertionError, ValueError):
        pass
    joined = "".join(extractor.chunks).replace("\xa0", " ")
    lines = (" ".join(line.split()) for line in joined.splitlines())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
