"""Form-style lines in a mail ("Name: Ada Okoro", "Rank: A/DI", "Unit:"): which of the writer's
details each label asks for, and the value written after it, exactly as written."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Detail = Literal["name", "rank", "role", "force", "unit", "email", "other"]

# Label (lower case, single spaces) -> the detail it asks for. "other" labels are read only so
# that a form's telephone line does not end the form.
_LABELS: MappingProxyType[str, Detail] = MappingProxyType(
    {
        "name": "name",
        "full name": "name",
        "your name": "name",
        "officer name": "name",
        "attendee name": "name",
        "rank": "rank",
        "role": "role",
        "job role": "role",
        "job title": "role",
        "position": "role",
        "force": "force",
        "police force": "force",
        "organisation": "force",
        "organization": "force",
        "agency": "force",
        "unit": "unit",
        "department": "unit",
        "dept": "unit",
        "team": "unit",
        "section": "unit",
        "squad": "unit",
        "division": "unit",
        "command": "unit",
        "directorate": "unit",
        "email": "email",
        "e-mail": "email",
        "email address": "email",
        "e-mail address": "email",
        "tel": "other",
        "telephone": "other",
        "phone": "other",
        "mobile": "other",
        "mob": "other",
        "collar number": "other",
        "warrant number": "other",
        "contact number": "other",
        "dietary requirements": "other",
        "access requirements": "other",
    }
)
_ONE_LABEL = "|".join(
    r"\s+".join(map(re.escape, label.split())) for label in sorted(_LABELS, key=len, reverse=True)
)
# A label opens the line, or follows a separator on it ("Name: Ada Okoro | Rank: DC"); "Unit/Team:"
# is one label. Bullets and Markdown bold around the label are the mail client's, not the writer's.
_LABEL = re.compile(
    r"(?:^|(?<=[|;,\t])|(?<=\s\s))[\s*•·>-]*\**\s*"
    rf"(?P<label>(?:{_ONE_LABEL})(?:\s*/\s*(?:{_ONE_LABEL}))*)"
    r"\s*\**\s*:(?!//)",
    re.IGNORECASE,
)
_VALUE_TRIM = " \t|;,*"
# What people write in a field they mean to leave empty.
_BLANK = frozenset({"", "n/a", "na", "none", "nil", "tbc", "tba", "not applicable"})
# Words no name, title, force or unit holds, but a sentence starting "Team: please book us" does.
_SENTENCE_WORDS = frozenset({"i", "i'm", "i’m", "i've", "i'll", "we", "me", "my", "our", "please"})
_ADDRESS = re.compile(r"[^\s@<>:;,]+@[^\s@<>:;,]+\.[^\s@<>:;,]+")


@dataclass(frozen=True)
class FormDetails:
    """What the writer's own form lines say; a field left blank, or never asked, is None."""

    name: str | None = None
    rank: str | None = None
    role: str | None = None
    force: str | None = None
    unit: str | None = None


def _detail(label: str) -> Detail:
    # "Unit/Team" asks for what its first part asks for.
    first = label.partition("/")[0]
    return _LABELS[" ".join(first.lower().split())]


def fields(line: str) -> tuple[tuple[Detail, str | None], ...]:
    """The labelled fields on one line, in order, each value None if left blank; () if the
    line is not a form line (its first label must open it)."""
    labels = list(_LABEL.finditer(line))
    if not labels or line[: labels[0].start()].strip(" \t*•·>-"):
        return ()
    found: list[tuple[Detail, str | None]] = []
    for index, match in enumerate(labels):
        end = labels[index + 1].start() if index + 1 < len(labels) else len(line)
        value = " ".join(line[match.end() : end].strip(_VALUE_TRIM).split())
        if any(word.strip(",.!?").lower() in _SENTENCE_WORDS for word in value.split()):
            return ()
        blank = value.strip(" .-–—_").lower() in _BLANK
        found.append((_detail(match.group("label")), None if blank else value))
    return tuple(found)


def is_form_line(line: str) -> bool:
    """Whether `line` gives one of a writer's details (name, rank, role, force or unit) by label."""
    return any(detail not in ("email", "other") for detail, _ in fields(line))


def _blocks(lines: Iterable[str]) -> Iterator[list[tuple[Detail, str | None]]]:
    """Runs of consecutive form lines, each run's fields in order."""
    block: list[tuple[Detail, str | None]] = []
    for line in lines:
        found = fields(line)
        if found:
            block += found
            continue
        if block:
            yield block
        block = []
    if block:
        yield block


def _about_someone_else(block: list[tuple[Detail, str | None]], sender_email: str) -> bool:
    """A form giving another address ("Please book my colleague: Name: ... Email: ...")
    describes that person, not the writer."""
    for detail, value in block:
        if detail == "email" and value:
            addresses = {a.lower() for a in _ADDRESS.findall(value)}
            if addresses and sender_email.strip().lower() not in addresses:
                return True
    return False


def form_details(readable_text: str, sender_email: str) -> FormDetails:
    """The writer's details from the form lines of `readable_text` (the part they wrote), the
    first value given for each; forms about someone else are left out."""
    given: dict[Detail, str] = {}
    for block in _blocks(readable_text.splitlines()):
        if _about_someone_else(block, sender_email):
            continue
        for detail, value in block:
            if value is not None:
                given.setdefault(detail, value)
    return FormDetails(
        name=given.get("name"),
        rank=given.get("rank"),
        role=given.get("role"),
        force=given.get("force"),
        unit=given.get("unit"),
    )
