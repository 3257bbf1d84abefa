"""Colleagues a writer asks to book: the addresses in the body's booking lines, each with
the name, rank or collar number written beside it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from mailbot.domain import Address, SenderDetails
from mailbot.inbound.classify.forces import force_for_domain
from mailbot.inbound.classify.sender import extract_sender


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_EMAIL = re.compile(
    r"(?<![\w.+'-])[A-Za-z0-9][A-Za-z0-9._%+'-]*@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_COLLEAGUE_CUE = re.compile(
    r"\b(?:book|booking|register|reserve|places?|seats?|colleagues?|behalf|attend|attending"
    r"|join|following|officers?|analysts?)\b",
    re.IGNORECASE,
)
_NAME_PARTICLES = _words("de da di du la le van von der den ap ab y bin al")
_LEADING_FILLER = _words(
    "also please and or plus could can would will book my our colleague colleagues hi dear"
    " cc email e-mail name the following is his her their with"
)
_COLLAR_TOKEN = re.compile(r"^\d{1,6}[A-Za-z]{0,3}$")
_NUMBERING = re.compile(r"^\(?\d{1,3}[.)]$")
_TRIM = " \t-–—(<[:,;|•*"


def colleagues_named(
    lines: Iterable[str], sender_email: str, own_addresses: frozenset[str]
) -> tuple[SenderDetails, ...]:
    """The people whose addresses stand in a line that asks to book, or in a list such a line
    opens, in the order written; the sender, our own addresses and duplicates left out."""
    excluded = {a.lower() for a in own_addresses} | {sender_email.strip().lower()}
    found: dict[str, SenderDetails] = {}
    in_list = False  # the previous lines asked to book, or were themselves colleagues
    header_open = False  # "Please book the following:" may be followed by a blank line
    for line in lines:
        if not line.strip():
            in_list = in_list and header_open
            continue
        matches = list(_EMAIL.finditer(line))
        cue = bool(_COLLEAGUE_CUE.search(line))
        if not matches:
            in_list = cue
            header_open = cue and line.rstrip().endswith(":")
            continue
        header_open = False
        if not (cue or in_list):
            continue
        in_list = True
        previous_end = 0
        for index, match in enumerate(matches):
            email = match.group(0).lower()
            following = matches[index + 1].start() if index + 1 < len(matches) else len(line)
            before = line[previous_end : match.start()]
            previous_end = match.end()
            if email in excluded or "bookings@" in email or email in found:
                continue
            label = _name_before(before) or _name_after(line[match.end() : following])
            found[email] = _colleague(email, label)
    return tuple(found.values())


def _name_run(tokens: list[str]) -> list[str]:
    """Tokens that can belong to a name, rank or collar number, with filler words dropped."""
    while tokens and (
        tokens[0].lower().strip(".,:") in _LEADING_FILLER or _NUMBERING.match(tokens[0])
    ):
        tokens = tokens[1:]
    return tokens


def _is_name_token(token: str) -> bool:
    return (
        token[:1].isupper() or bool(_COLLAR_TOKEN.match(token)) or token.lower() in _NAME_PARTICLES
    )


def _name_before(text: str) -> str:
    tokens = text.rstrip(_TRIM + " ").split()
    run: list[str] = []
    for token in reversed(tokens):
        # A comma or colon ends the name: "Please book Jo Bloggs, DC Ann Lee <...>".
        if not _is_name_token(token) or token.endswith((",", ":", ";", ")", ">")):
            break
        run.insert(0, token)
    return " ".join(_name_run(run))


def _name_after(text: str) -> str:
    tokens = text.lstrip(_TRIM + ")>]").split()
    run: list[str] = []
    for token in tokens:
        cleaned = token.rstrip("),;:>]")
        if not cleaned or not _is_name_token(cleaned):
            break
        run.append(cleaned)
        if cleaned != token:
            break
    return " ".join(_name_run(run))


def _colleague(email: str, label: str) -> SenderDetails:
    found = extract_sender(Address(name=label, email=email), "")
    # The domain alone decides the force here: a name written beside someone else's
    # address says nothing reliable about where that person works.
    return replace(found, force=force_for_domain(email.rpartition("@")[2]))
