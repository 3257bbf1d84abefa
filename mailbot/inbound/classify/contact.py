"""The writer's unit and telephone number, from their form lines ("Unit: ...") or the
signature at the end of their mail."""

from __future__ import annotations

import re

from mailbot.inbound.classify.form import form_details, is_form_line
from mailbot.inbound.classify.ranks import take_rank, take_role

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
_SENTENCE_WORDS = 4
# What joins a title to the unit after it: "Intelligence Analyst in the Child Exploitation Hub".
_JOINING = re.compile(r"^(?:(?:in|at|of|with|for|within|the|-|–)\s+)+", re.IGNORECASE)


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


def _is_sentence(line: str) -> bool:
    return len(line.split()) >= _SENTENCE_WORDS and line.rstrip().endswith((".", "?", "!"))


def _without_title(segment: str) -> str:
    """`segment` with the writer's rank or staff role taken out: a title is not a unit."""
    for take in (take_rank, take_role):
        title = take(segment)
        if title is not None:
            segment = _JOINING.sub("", title.remainder)
    return segment


def _written_unit(value: str) -> str | None:
    cleaned = value.strip(" .;:")
    return cleaned if cleaned and len(cleaned) <= _LONGEST_UNIT else None


def unit(readable_text: str, sender_email: str) -> str | None:
    """The writer's unit or team: the one their form names ("Unit: Central Specialist Crime"),
    else the one named in the signature, e.g. "Child Abuse Investigation Unit"."""
    given = form_details(readable_text, sender_email).unit
    written = _written_unit(given) if given is not None else None
    if written is not None:
        return written
    for line in _signature_lines(readable_text):
        # A form's labels are no unit, a form left blank names none, and a sentence is none.
        if is_form_line(line) or _is_sentence(line):
            continue
        for segment in re.split(r"\s*[|•,–]\s*|\s+-\s+", line):
            cleaned = _without_title(segment.strip(" .;:")).strip(" .;:")
            if (
                cleaned
                and len(cleaned) <= _LONGEST_UNIT
                and _UNIT_WORDS.search(cleaned)
                and not _NOT_A_UNIT.search(cleaned)
                and not re.search(r"\b(police|constabulary)$", cleaned, re.IGNORECASE)
            ):
                return cleaned
    return None
