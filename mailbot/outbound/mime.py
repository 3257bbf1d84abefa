"""Write a MIME message from headers and parts: values in, bytes out.

The stdlib's EmailMessage builds a tree of objects, a header class per field and a policy
lookup per line, to end up with a few kilobytes of text: the largest single cost of
answering a booking. mailbot only ever writes one shape of mail (a text and an HTML
alternative, perhaps with attachments), so this module writes that shape directly.

The output is 7-bit clean with CRLF line endings: header values that are not plain ASCII
become RFC 2047 encoded-words, non-ASCII file names RFC 2231 parameters, bodies 7bit or
quoted-printable and attachments base64. Lines stay within 78 characters wherever the
value allows it and never exceed 998; a value that cannot be written within those rules
(a control character, an address that is not an addr-spec) raises ValueError instead of
producing a mail some server would refuse or misread.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

__all__ = ["Attachment", "HeaderValue", "Mailbox", "TextPart", "write_message"]


@dataclass(frozen=True)
class Mailbox:
    """One address with an optional display name, as in From, To or Reply-To."""

    address: str
    name: str = ""


@dataclass(frozen=True)
class TextPart:
    """One text alternative of the body: `subtype` is "plain" or "html"."""

    content: str
    subtype: str = "plain"


@dataclass(frozen=True)
class Attachment:
    """A file sent with the mail. `params` go on its Content-Type (e.g. a charset)."""

    filename: str
    content_type: str  # "maintype/subtype", without parameters
    data: bytes
    params: tuple[tuple[str, str], ...] = ()


HeaderValue = str | Mailbox

_CRLF = "\r\n"
_MAX_LINE = 78  # RFC 5322's "SHOULD"
_HARD_LIMIT = 998  # RFC 5322's "MUST", without the CRLF
_MAX_WORD = 75  # RFC 2047's limit on one encoded-word

_FIELD_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
# Plain atoms separated by single spaces: the only display name that needs no quoting.
_ATOM_PHRASE = re.compile(rf"{_ATEXT}+(?: {_ATEXT}+)*")
_QUOTED_LOCAL = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])+"')
_DOMAIN_LITERAL = re.compile(r"\[[\x21-\x5a\x5e-\x7e]*\]")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_PLAIN_PARAM = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")  # printable, no quote or backslash
_ID_WORDS = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
# Kept out of a 7bit body: controls other than tab, and whitespace a relay may strip.
_NOT_7BIT = re.compile(r"[ \t]\n|[\x00-\x08\x0b-\x1f\x7f]")

# Headers whose values are lists of msg-ids: an encoded-word there would break threading.
_ID_FIELDS = frozenset({"message-id", "in-reply-to", "references", "resent-message-id"})
# RFC 5322 allows each of these once; a second copy is a bug that readers resolve differently.
_SINGLE_FIELDS = frozenset(
    {"from", "sender", "reply-to", "to", "cc", "bcc", "date", "subject"}
    | {"message-id", "in-reply-to", "references"}
)
# Written by the writer itself from the parts; a caller's copy would be a duplicate.
_OWN_FIELDS = frozenset(
    {"mime-version", "content-type", "content-transfer-encoding", "content-disposition"}
)

# RFC 2047 Q encoding, limited to the characters allowed in a display name so the same
# words serve every header. Space becomes "_" (the reason "_" itself is encoded).
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_Q_BYTE = tuple(
    "_" if byte == 0x20 else chr(byte) if byte in _Q_SAFE else f"={byte:02X}" for byte in range(256)
)
_EW_OVERHEAD = len("=?utf-8?q??=")


def write_message(
    headers: Iterable[tuple[str, HeaderValue]],
    body: Sequence[TextPart],
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """The complete message: `headers` in order, then the MIME headers and the parts.

    Several `body` parts become a multipart/alternative (least preferred first, as RFC 2046
    orders them); with attachments the top level is multipart/mixed, the body first.
    """
    if not body:
        raise ValueError("a message needs at least one body part")
    fields = list(headers)
    single = [name.lower() for name, _ in fields if name.lower() in _SINGLE_FIELDS]
    if len(single) != len(set(single)):
        raise ValueError(f"a header that may appear once is given twice: {single}")
    lines = [_header(name, value) for name, value in fields]
    lines.append("MIME-Version: 1.0")
    content: list[tuple[list[str], bytes]] = [_text_part(part) for part in body]
    if len(content) > 1:
        content = [_multipart("alternative", content)]
    if attachments:
        content = [_multipart("mixed", content + [_attachment(a) for a in attachments])]
    ((part_headers, payload),) = content
    lines.extend(part_headers)
    return (_CRLF.join(lines) + _CRLF + _CRLF).encode("ascii") + payload


# Headers


def _header(name: str, value: HeaderValue) -> str:
    if not _FIELD_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a header field name")
    key = name.lower()
    if key in _OWN_FIELDS:
        raise ValueError(f"{name} is written from the parts, not given as a header")
    if isinstance(value, Mailbox):
        return _fold(name, _mailbox_tokens(value, len(name) + 2))
    if _CONTROL.search(value):
        # A CR or LF here would end the header and let the value start one of its own.
        raise ValueError(f"{name} value {value!r} contains a control character")
    if key in _ID_FIELDS:
        return _fold(name, _id_tokens(name, value))
    # The common case, written without any folding work.
    if len(name) + 2 + len(value) <= _MAX_LINE and _is_plain_text(value):
        return f"{name}: {value}" if value else f"{name}:"
    return _fold(name, _text_tokens(value, len(name) + 2))


def _is_plain_text(value: str) -> bool:
    """Whether `value` reads back unchanged when written as it is (and folded at spaces).

    Text that merely looks like an encoded-word would be decoded by a reader, and readers
    drop leading whitespace and may collapse runs of it, so all of those are encoded.
    """
    return (
        value.isascii()
        and "=?" not in value
        and "  " not in value
        and value[:1] != " "
        and value[-1:] != " "
    )


def _fold(name: str, tokens: Iterable[str]) -> str:
    """`name` and the tokens, one space apart, a line break before a token that would not
    fit. The first token always stays on the first line: a value moved onto a line of its
    own reads back with a leading space in some clients."""
    head = f"{name}:"
    lines: list[str] = []
    line = head
    for token in tokens:
        if line != head and len(line) + 1 + len(token) > _MAX_LINE:
            lines.append(line)
            line = ""  # the space before the token starts the continuation line
        line = f"{line} {token}"
    lines.append(line)
    if any(len(each) > _HARD_LIMIT for each in lines):
        raise ValueError(f"{name} has a word too long for any header line")
    return _CRLF.join(lines)


def _id_tokens(name: str, value: str) -> list[str]:
    if not _ID_WORDS.fullmatch(value):
        raise ValueError(f"{name} value {value!r} is not a list of message ids")
    return value.split(" ")


def _text_tokens(value: str, first_offset: int) -> list[str]:
    if _is_plain_text(value):
        words = value.split(" ")
        # A word no line can hold is encoded, since encoded-words can be split.
        if max(map(len, words)) <= _HARD_LIMIT - first_offset:
            return words
    return _encoded_words(value, _MAX_LINE - first_offset)


def _mailbox_tokens(box: Mailbox, first_offset: int) -> list[str]:
    address = _addr_spec(box.address)
    if not box.name:
        return [address]
    if _CONTROL.search(box.name):
        raise ValueError(f"display name {box.name!r} contains a control character")
    return [*_phrase_tokens(box.name, first_offset), f"<{address}>"]


def _phrase_tokens(name: str, first_offset: int) -> list[str]:
    """A display name as RFC 5322 words: atoms where they will do, quoted-strings where
    the name has specials, encoded-words where it is not ASCII.

    Each space of the name becomes the folding space between two words, except inside a
    run of words that need encoding: those go into encoded-words together, spaces and all,
    since readers disagree on the space between two encoded-words in a display name
    (RFC 2047 drops it; CPython's parser kept it until gh-128110).
    """
    quotable = name.isascii() and "=?" not in name
    if quotable and _ATOM_PHRASE.fullmatch(name) and len(name) <= _HARD_LIMIT - first_offset:
        return name.split(" ")
    if quotable and first_offset + len(_quoted(name)) <= _MAX_LINE:
        return [_quoted(name)]
    if "  " in name or name[:1] == " " or name[-1:] == " ":
        # Spaces that folding would lose: kept inside one quoted-string or encoded-words.
        if quotable and first_offset + len(_quoted(name)) <= _HARD_LIMIT:
            return [_quoted(name)]
        return _encoded_words(name, _MAX_LINE - first_offset)
    tokens: list[str] = []
    run: list[str] = []
    for word in [*name.split(" "), ""]:  # the empty word ends the last run
        if word and (
            not word.isascii() or "=?" in word or first_offset + len(_quoted(word)) > _HARD_LIMIT
        ):
            run.append(word)
            continue
        if run:
            room = _MAX_LINE - first_offset if not tokens else _MAX_WORD
            tokens.extend(_encoded_words(" ".join(run), room))
            run = []
        if word:
            tokens.append(word if _ATOM_PHRASE.fullmatch(word) else _quoted(word))
    return tokens


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _addr_spec(address: str) -> str:
    """`address` as written in a header: local@domain, an internationalised domain in
    its ASCII (IDNA) form. A non-ASCII local part needs SMTPUTF8, which this writer's
    7-bit mail cannot carry, so it is refused like any other malformed address."""
    local, at, domain = address.strip().rpartition("@")
    if not at:
        raise ValueError(f"address {address!r} has no domain")
    if not (_DOT_ATOM.fullmatch(local) or _QUOTED_LOCAL.fullmatch(local)):
        raise ValueError(f"address {address!r} has a local part no 7-bit mail can carry")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as error:
            raise ValueError(f"address {address!r} has an invalid domain") from error
    if not (_DOT_ATOM.fullmatch(domain) or _DOMAIN_LITERAL.fullmatch(domain)):
        raise ValueError(f"address {address!r} has an invalid domain")
    return f"{local}@{domain}"


def _encoded_words(text: str, first_room: int) -> list[str]:
    """`text` as RFC 2047 encoded-words in UTF-8, each holding whole characters.

    The first word fits in `first_room` (what is left of the first line); later words
    start their own folded lines. Q keeps mostly-ASCII text legible, and spam filters score
    base64 that plain text did not need; B is used once it is much the shorter (CJK, Cyrillic).
    """
    data = text.encode("utf-8")
    q_length = sum(len(_Q_BYTE[byte]) for byte in data)
    b_length = (len(data) + 2) // 3 * 4
    first = max(first_room, _EW_OVERHEAD + 12) - _EW_OVERHEAD
    rest = _MAX_WORD - _EW_OVERHEAD
    if data.isascii() or q_length * 2 <= b_length * 3:
        return _q_words(text, first, rest)
    return _b_words(data, first, rest)


def _is_char_start(data: bytes, index: int) -> bool:
    return index >= len(data) or data[index] & 0xC0 != 0x80


def _q_words(text: str, first: int, rest: int) -> list[str]:
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    room = first
    for char in text:
        # Whole characters only, so that each word decodes on its own.
        encoded = "".join(_Q_BYTE[byte] for byte in char.encode("utf-8"))
        if chunk and size + len(encoded) > room:
            words.append(f"=?utf-8?q?{''.join(chunk)}?=")
            chunk, size, room = [], 0, rest
        chunk.append(encoded)
        size += len(encoded)
    words.append(f"=?utf-8?q?{''.join(chunk)}?=")
    return words


def _b_words(data: bytes, first: int, rest: int) -> list[str]:
    words: list[str] = []
    start = 0
    room = first
    while start < len(data):
        end = min(len(data), start + room // 4 * 3)
        while not _is_char_start(data, end):
            end -= 1
        if end == start:  # no room for even one character: take it anyway
            end += 1
            while not _is_char_start(data, end):
                end += 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start, room = end, rest
    return words


def _param(name: str, value: str) -> list[str]:
    """A Content-Type or Content-Disposition parameter as one or more tokens to fold.

    A value that is not printable ASCII, or is too long for a line, is written the RFC 2231
    way: percent-encoded UTF-8, split into numbered sections when long. So is one with a
    quote or backslash: readers unquote file names inconsistently (the stdlib twice)."""
    # Room on a continuation line, between its leading space and the ";" after the token.
    room = _MAX_LINE - 2 - len(name) - 1
    if _PLAIN_PARAM.fullmatch(value) and len(value) + 2 <= room:
        return [f'{name}="{value}"']
    encoded = "utf-8''" + quote(value, safe="")
    if len(encoded) <= room - 1:
        return [f"{name}*={encoded}"]
    room -= len("*00*")
    sections: list[str] = []
    while encoded:
        cut = min(room, len(encoded))
        if cut < len(encoded):
            # Never split a %XX escape, nor a character's bytes, between two sections:
            # some readers decode each section on its own.
            percent = encoded.rfind("%", cut - 2, cut)
            if percent != -1:
                cut = percent
            while encoded[cut] == "%" and int(encoded[cut + 1 : cut + 3], 16) & 0xC0 == 0x80:
                cut -= 3
        sections.append(f"{name}*{len(sections)}*={encoded[:cut]}")
        encoded = encoded[cut:]
    return sections


def _content_header(field: str, value: str, params: Iterable[tuple[str, str]]) -> str:
    tokens = [value]
    for name, param_value in params:
        tokens.extend(_param(name, param_value))
    # The ";" belongs to the token before it, so a fold never starts a line with one.
    return _fold(field, [f"{token};" for token in tokens[:-1]] + tokens[-1:])


# Parts


def _text_part(part: TextPart) -> tuple[list[str], bytes]:
    if not _TOKEN.fullmatch(part.subtype):
        raise ValueError(f"{part.subtype!r} is not a MIME subtype")
    # Any line break becomes CRLF; the part always ends with one, as the stdlib's did.
    text = part.content.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    if (
        text.isascii()
        and max(map(len, text.split("\n"))) <= _MAX_LINE
        and not _NOT_7BIT.search(text)
    ):
        encoding, payload = "7bit", text.replace("\n", _CRLF).encode("ascii")
    else:
        encoding = "quoted-printable"
        # Trailing whitespace comes out as =20/=09, so a relay that strips it loses nothing.
        payload = binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")
    headers = [
        f'Content-Type: text/{part.subtype}; charset="utf-8"',
        f"Content-Transfer-Encoding: {encoding}",
    ]
    return headers, payload


def _attachment(attachment: Attachment) -> tuple[list[str], bytes]:
    maintype, slash, subtype = attachment.content_type.partition("/")
    if not (slash and _TOKEN.fullmatch(maintype) and _TOKEN.fullmatch(subtype)):
        raise ValueError(f"{attachment.content_type!r} is not a MIME type")
    for name, _ in attachment.params:
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"{name!r} is not a MIME parameter name")
    headers = [
        _content_header("Content-Type", attachment.content_type, attachment.params),
        _content_header("Content-Disposition", "attachment", [("filename", attachment.filename)]),
        "Content-Transfer-Encoding: base64",
    ]
    return headers, base64.encodebytes(attachment.data).replace(b"\n", b"\r\n")


def _new_boundary() -> str:
    # Random, so no text quoted into a body can be made to hold it; _multipart still checks.
    return f"==============={random.getrandbits(63):019d}=="


def _multipart(subtype: str, parts: list[tuple[list[str], bytes]]) -> tuple[list[str], bytes]:
    rendered = [
        (_CRLF.join(headers) + _CRLF + _CRLF).encode("ascii") + body for headers, body in parts
    ]
    while True:
        # Starting with "==" keeps the boundary out of quoted-printable and base64 text,
        # where "=" never comes twice; only a 7bit part could hold it, and that is checked.
        boundary = _new_boundary()
        marker = f"--{boundary}".encode("ascii")
        if not any(marker in part for part in rendered):
            break
    opening = marker + b"\r\n"
    payload = b"".join(opening + part + b"\r\n" for part in rendered) + marker + b"--\r\n"
    return [
        _content_header("Content-Type", f"multipart/{subtype}", [("boundary", boundary)])
    ], payload
