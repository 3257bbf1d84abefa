"""The writer's unit and telephone number, from the signature at the end of their mail."""

from __future__ import annotations

import re

_SIGNATURE_LINES = 12
_UNIT_WORDS = re.compile(
    r"\b(unit|team|hub|department|dept|cid|squad|division|command|bureau|directorate|"
    r"safeguarding|public protection|mash|investigations?|intelligence|academy)\b",
    re.IGNORECASE,
)
_NOT_A_UNIT = re.compile(
    r"@|https?:|www\.|\b(tel|telephone|mob|mobile|phone|fax|email|e-mail)\b|\d{5,}|"
    r"\b(regards|thanks|sincerely|official|sensitive|please|would|could|i am|i'm)\b",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"(?<![\d+])(?:\+44\s?(?:\(0\)\s?)?|0)(?:\d[\s-]?){9,10}(?!\d)",
)
_PHONE_LABEL = re.compile(r"\b(tel|telephone|phone|mob|mobile|direct|ext|t|m)\b\s*[:.]?", re.I)
_LONGEST_UNIT = 100


def _signature_lines(readable_text: str) -> list[str]:
    lines = [line.strip() for line in readable_text.splitlines() if line.strip()]
    return lines[-_SIGNATURE_LINES:]


def phone_number(readable_text: str) -> str | None:
    """A UK telephone number from the signature, labelled ones first, spaced as written."""
    lines = _signature_lines(readable_text)
    labelled = [line for line in lines if _PHONE_LABEL.search(line)]
    for line in (*labelled, *lines):
        found = _PHONE.search(line)
        if found:
            return " ".join(found.group(0).replace("-", " ").split())
    return None


def unit(readable_text: str) -> str | None:
    """The unit or team named in the signature, e.g. "Child Abuse Investigation Unit"."""
    for line in _signature_lines(readable_text):
        for segment in re.split(r"\s*[|•,–]\s*|\s+-\s+", line):
            cleaned = segment.strip(" .;:")
            if (
                cleaned
                and len(cleaned) <= _LONGEST_UNIT
                and _UNIT_WORDS.search(cleaned)
                and not _NOT_A_UNIT.search(cleaned)
                and not re.search(r"\b(police|constabulary)$", cleaned, re.IGNORECASE)
            ):
                return cleaned
    return None
