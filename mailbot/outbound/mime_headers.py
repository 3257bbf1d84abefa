"""Header lines for the MIME writer (outbound/mime.py), each folded and 7-bit clean.

Header values that are not plain ASCII become RFC 2047 encoded-words (Q where the text is
mostly ASCII, B where that is much the shorter), non-ASCII or long parameters RFC 2231
ones, and an internationalised domain its IDNA form. Lines stay within 78 characters
wherever the value allows it and never exceed 998; a value that cannot be written within
those rules (a control character, an address that is not an addr-spec) raises ValueError.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

__all__ = ["CRLF", "MAX_LINE", "HeaderValue", "Mailbox", "content_header", "header_lines"]


@dataclass(frozen=True)
class Mailbox:
    """One address with an optional display name, as in From, To or Reply-To."""

    address: str
    name: str = ""


HeaderValue = str | Mailbox

CRLF = "\r\n"
MAX_LINE = 78  # RFC 5322's "SHOULD"
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
_PLAIN_PARAM = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")  # printable, no quote or backslash
_ID_WORDS = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")

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


def header_lines(fields: Iterable[tuple[str, HeaderValue]]) -> list[str]:
    """Each field as its folded header text, in the order given. A second copy of a field
    RFC 5322 allows once, or a field the writer makes from the parts, raises ValueError."""
    given = list(fields)
    single = [name.lower() for name, _ in given if name.lower() in _SINGLE_FIELDS]
    if len(single) != len(set(single)):
        raise ValueError(f"a header that may appear once is given twice: {single}")
    return [_header(name, value) for name, value in given]


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
    if len(name) + 2 + len(value) <= MAX_LINE and _is_plain_text(value):
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
        if line != head and len(line) + 1 + len(token) > MAX_LINE:
            lines.append(line)
            line = ""  # the space before the token starts the continuation line
        line = f"{line} {token}"
    lines.append(line)
    if any(len(each) > _HARD_LIMIT for each in lines):
        raise ValueError(f"{name} has a word too long for any header line")
    return CRLF.join(lines)


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
    return _encoded_words(value, MAX_LINE - first_offset)


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
    if quotable and first_offset + len(_quoted(name)) <= MAX_LINE:
        return [_quoted(name)]
    if "  " in name or name[:1] == " " or name[-1:] == " ":
        # Spaces that folding would lose: kept inside one quoted-string or encoded-words.
        if quotable and first_offset + len(_quoted(name)) <= _HARD_LIMIT:
            return [_quoted(name)]
        return _encoded_words(name, MAX_LINE - first_offset)
    tokens: list[str] = []
    run: list[str] = []
    for word in [*name.split(" "), ""]:  # the empty word ends the last run
        if word and (
            not word.isascii() or "=?" in word or first_offset + len(_quoted(word)) > _HARD_LIMIT
        ):
            run.append(word)
            continue
        if run:
            room = MAX_LINE - first_offset if not tokens else _MAX_WORD
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
    room = MAX_LINE - 2 - len(name) - 1
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


def content_header(field: str, value: str, params: Iterable[tuple[str, str]]) -> str:
    tokens = [value]
    for name, param_value in params:
        tokens.extend(_param(name, param_value))
    # The ";" belongs to the token before it, so a fold never starts a line with one.
    return _fold(field, [f"{token};" for token in tokens[:-1]] + tokens[-1:])
