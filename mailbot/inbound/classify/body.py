"""The part of a plain-text mail body its sender wrote in this message: no quotes, no legalese."""

from __future__ import annotations

import re

_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:original message|forwarded message|forwarded by\b.*)\s*-*\s*$"
    r"|^\s*begin forwarded message:\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^\s*_{8,}\s*$")
# HTML converted to text often bolds header names, hence the optional asterisks.
_HEADER_FROM = re.compile(r"^\s*\*?from:\*?\s", re.IGNORECASE)
_HEADER_SENT = re.compile(r"^\s*\*?(?:sent|date):\*?\s", re.IGNORECASE)
_HEADER_TO = re.compile(r"^\s*\*?(?:to|subject|cc):\*?\s", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^\s*On\s")
_ATTRIBUTION_END = re.compile(r"\bwrote:\s*$")
_HEADER_BLOCK_SPAN = 6

_MARKING = re.compile(
    r"^\s*[\[(*]*\s*(?:(?i:(?:security\s+)?classification)\s*:\s*)?"
    r"(?:OFFICIAL(?:\s*[-:–]?\s*SENSITIVE)?(?:\s*[-:–]\s*[A-Z][A-Z ]*|\s*\[[A-Z ]+\])?"
    r"|NOT\s+PROTECTIVELY\s+MARKED|UNCLASSIFIED)"
    r"\s*[\])*]*\s*$"
)
_DISCLAIMER_OPENERS = re.compile(
    r"^\s*(?:"
    r"this (?:e-?mail|message|communication)(?: and any (?:attachments?|files?))?"
    r" (?:is|are|may|has|and any)"
    r"|the (?:information|contents?) (?:contained )?(?:in|of) this (?:e-?mail|message)"
    r"|any (?:opinions|views)(?: or opinions)? expressed"
    r"|please consider the environment"
    r"|think before you print"
    r"|(?:all )?e-?mails? (?:sent|and attachments|communications)"
    r"|if you (?:are not the intended recipient|have received this)"
    r"|(?:e-?mail )?(?:confidentiality notice|disclaimer)\b"
    r")",
    re.IGNORECASE,
)
_DISCLAIMER_WORDS = re.compile(
    r"confidential|intended recipient|in error|monitor|virus|privilege|disclos|unauthori[sz]ed"
    r"|notify the sender|delete|freedom of information|data protection|legal|liabilit"
    r"|recorded|copyright|environment|print|accept no|does not accept|views expressed",
    re.IGNORECASE,
)
_DECORATION = re.compile(r"^\s*[*=~#_\-]{5,}\s*$")
# Added by the sender's phone, not written by the sender.
_DEVICE_TAG = re.compile(
    r"^\s*(?:sent from my\b|sent from (?:outlook|mail) for\b|get outlook for\b).{0,40}$",
    re.IGNORECASE,
)


def _attribution_at(lines: list[str], index: int) -> bool:
    line = lines[index]
    if not _ATTRIBUTION_START.match(line):
        return False
    # Mail clients wrap long "On <date>, <name> <address> wrote:" lines once; a date always
    # has a digit, which keeps a human's "On reflection I wrote:" in the message.
    text = line
    if not _ATTRIBUTION_END.search(line) and index + 1 < len(lines):
        text = f"{line} {lines[index + 1]}"
    return bool(_ATTRIBUTION_END.search(text)) and any(ch.isdigit() for ch in text)


def _header_block_at(lines: list[str], index: int) -> bool:
    if not _HEADER_FROM.match(lines[index]):
        return False
    following = lines[index + 1 : index + 1 + _HEADER_BLOCK_SPAN]
    return any(_HEADER_SENT.match(x) for x in following) and any(
        _HEADER_TO.match(x) for x in following
    )


def _next_filled(lines: list[str], index: int) -> str | None:
    for line in lines[index + 1 :]:
        if line.strip():
            return line
    return None


def _quote_start(lines: list[str]) -> int:
    """Index of the first line of quoted earlier mail, or len(lines) if there is none."""
    for index, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line):
            return index
        if _SEPARATOR.match(line):
            following = _next_filled(lines, index)
            if following is not None and _HEADER_FROM.match(following):
                return index
        if _header_block_at(lines, index) or _attribution_at(lines, index):
            return index
    return len(lines)


def _paragraphs(lines: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _is_furniture(line: str) -> bool:
    return bool(_MARKING.match(line) or _DECORATION.match(line) or _DEVICE_TAG.match(line))


def _drop_notices(lines: list[str]) -> list[str]:
    """Remove disclaimer paragraphs and protective-marking lines, keeping all else."""
    kept: list[str] = []
    after_notice = False
    for paragraph in _paragraphs(lines):
        body = [line for line in paragraph if not _is_furniture(line)]
        if not body:
            continue
        opener = next((i for i, x in enumerate(body) if _DISCLAIMER_OPENERS.match(x)), None)
        if opener is not None:
            body = body[:opener]
            after_notice = True
        # A notice runs on over several paragraphs, but only while they still read as legalese.
        elif after_notice and _DISCLAIMER_WORDS.search(" ".join(body)):
            body = []
        else:
            after_notice = False
        if body:
            kept += [*body, ""]
    return kept


def _tidy(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if not line.strip():
            if out and out[-1]:
                out.append("")
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def readable_part(text: str) -> str:
    """What a human wrote in this message: quoted mail and legal notices cut, signature kept."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    lines = [line.rstrip() for line in normalised.split("\n")]
    lines = lines[: _quote_start(lines)]
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    return _tidy(_drop_notices(lines))
