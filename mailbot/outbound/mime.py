"""Write a MIME message from headers and parts: values in, bytes out.

The stdlib's EmailMessage builds a tree of objects, a header class per field and a policy
lookup per line, to end up with a few kilobytes of text: the largest single cost of
answering a booking. mailbot only ever writes one shape of mail (a text and an HTML
alternative, perhaps with attachments), so this module writes that shape directly.

The output is 7-bit clean with CRLF line endings: headers as mime_headers writes them,
bodies 7bit or quoted-printable and attachments base64. A value that cannot be written
within the rules (a control character, an address that is not an addr-spec, a malformed
MIME type) raises ValueError instead of producing a mail some server would refuse or misread.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mailbot.outbound.mime_headers import (
    CRLF,
    MAX_LINE,
    HeaderValue,
    content_header,
    header_lines,
)

__all__ = ["Attachment", "TextPart", "write_message"]


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


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Kept out of a 7bit body: controls other than tab, and whitespace a relay may strip.
_NOT_7BIT = re.compile(r"[ \t]\n|[\x00-\x08\x0b-\x1f\x7f]")


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
    lines = header_lines(headers)
    lines.append("MIME-Version: 1.0")
    content: list[tuple[list[str], bytes]] = [_text_part(part) for part in body]
    if len(content) > 1:
        content = [_multipart("alternative", content)]
    if attachments:
        content = [_multipart("mixed", content + [_attachment(a) for a in attachments])]
    ((part_headers, payload),) = content
    lines.extend(part_headers)
    return (CRLF.join(lines) + CRLF + CRLF).encode("ascii") + payload


def _text_part(part: TextPart) -> tuple[list[str], bytes]:
    if not _TOKEN.fullmatch(part.subtype):
        raise ValueError(f"{part.subtype!r} is not a MIME subtype")
    # Any line break becomes CRLF; the part always ends with one, as the stdlib's did.
    text = part.content.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    if (
        text.isascii()
        and max(map(len, text.split("\n"))) <= MAX_LINE
        and not _NOT_7BIT.search(text)
    ):
        encoding, payload = "7bit", text.replace("\n", CRLF).encode("ascii")
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
        content_header("Content-Type", attachment.content_type, attachment.params),
        content_header("Content-Disposition", "attachment", [("filename", attachment.filename)]),
        "Content-Transfer-Encoding: base64",
    ]
    return headers, base64.encodebytes(attachment.data).replace(b"\n", b"\r\n")


def _new_boundary() -> str:
    # Random, so no text quoted into a body can be made to hold it; _multipart still checks.
    return f"==============={random.getrandbits(63):019d}=="


def _multipart(subtype: str, parts: list[tuple[list[str], bytes]]) -> tuple[list[str], bytes]:
    rendered = [
        (CRLF.join(headers) + CRLF + CRLF).encode("ascii") + body for headers, body in parts
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
        content_header("Content-Type", f"multipart/{subtype}", [("boundary", boundary)])
    ], payload
