"""Find a police rank or a police staff role in a piece of text (a display name, a line of a
signature): which one it is, and the text with it taken out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "NAME_TOKEN",
    "RANKS",
    "ROLE",
    "SPELLINGS",
    "Title",
    "leading_rank",
    "take_rank",
    "take_role",
    "title_in_field",
    "word_set",
]


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Canonical rank -> the ways people write it. Spellings are matched with any of ".", "/" or
# spaces between their words ("Det Supt", "D/Supt", "Det. Supt."). All-capital abbreviations
# are matched case-sensitively and only where they read as a rank (see _accepted): "PC",
# "DS" or "SC" are ordinary words too.
RANKS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "Police Constable": ("Police Constable", "Constable", "PC"),
        "Trainee Detective Constable": ("Trainee Detective Constable", "Trainee DC", "TDC"),
        "Detective Constable": ("Detective Constable", "Det Con", "Det Const", "D Con", "DC"),
        "Police Sergeant": ("Police Sergeant", "Sergeant", "Sgt", "PS"),
        "Detective Sergeant": ("Detective Sergeant", "Det Sgt", "D Sgt", "DS"),
        "Inspector": ("Inspector", "Insp"),
        "Detective Inspector": ("Detective Inspector", "Det Insp", "D Insp", "DI"),
        "Chief Inspector": ("Chief Inspector", "Chief Insp", "Ch Insp", "C Insp", "CI"),
        "Detective Chief Inspector": (
            "Detective Chief Inspector",
            "Det Chief Insp",
            "Det Ch Insp",
            "D Ch Insp",
            "D C Insp",
            "DCI",
        ),
        "Superintendent": ("Superintendent", "Supt"),
        "Detective Superintendent": (
            "Detective Superintendent",
            "Det Supt",
            "D Supt",
            "DSU",
        ),
        "Chief Superintendent": ("Chief Superintendent", "Chief Supt", "Ch Supt", "C Supt"),
        "Detective Chief Superintendent": (
            "Detective Chief Superintendent",
            "Det Chief Supt",
            "Det Ch Supt",
            "D Ch Supt",
            "D C Supt",
            "DCS",
        ),
        "Commander": ("Commander", "Cmdr", "Cdr"),
        "Deputy Assistant Commissioner": ("Deputy Assistant Commissioner", "DAC"),
        "Assistant Commissioner": ("Assistant Commissioner",),
        "Deputy Commissioner": ("Deputy Commissioner",),
        "Assistant Chief Constable": ("Assistant Chief Constable", "ACC"),
        "Deputy Chief Constable": ("Deputy Chief Constable", "DCC"),
        "Chief Constable": ("Chief Constable",),
        "Police Community Support Officer": ("Police Community Support Officer", "PCSO"),
        "Special Constable": ("Special Constable", "SC"),
        "Special Sergeant": ("Special Sergeant",),
        "Special Inspector": ("Special Inspector",),
        "Special Chief Inspector": ("Special Chief Inspector",),
    }
)

# Police staff roles are "<qualifiers> <head>", e.g. "Senior Intelligence Analyst"; only
# these words may qualify a head, so "Jane Smith Analyst" does not become a role.
_ROLE_HEADS = MappingProxyType(
    {
        "analyst": "Analyst",
        "researcher": "Researcher",
        "investigator": "Investigator",
        "intelligence officer": "Intelligence Officer",
        "police staff": "Police Staff",
    }
)
_ROLE_QUALIFIERS = MappingProxyType(
    {
        word.lower(): word
        for word in word_set(
            "Senior Principal Lead Chief Assistant Trainee Junior Intelligence Crime Criminal"
            " Financial Digital Forensic Research Data Performance Police Staff Strategic"
            " Tactical Cyber OSINT Open Source Policy Accredited Specialist Fraud Economic"
            " Field Evidential Disclosure Civilian"
        )
    }
)

_PREFIXES = MappingProxyType(
    {
        "a": "Acting",
        "acting": "Acting",
        "t": "Temporary",
        "temporary": "Temporary",
        "temp": "Temporary",
    }
)

# Words that begin sentences, so "PS I'll bring a colleague" is not Police Sergeant I'll.
_SENTENCE_WORDS = word_set(
    "i i'm i'll i've i'd can could would will please if just also note my we our you your"
    " this that it is are do does sorry thanks"
)

NAME_TOKEN = re.compile(r"^[^\W\d_]+(?:['’\-][^\W\d_]+)*\.?$")
_COLLAR = re.compile(r"^\s*[-/#:]?\s*(?:no\.?\s*)?\d{1,6}[A-Z]{0,3}(?![\w])", re.IGNORECASE)
# "Staff Officer to the Chief Constable": the rank belongs to somebody else.
_SERVES = re.compile(r"(?i)\b(?:to|for|of)\s+(?:the\s+)?$")


@dataclass(frozen=True)
class _Spelling:
    pattern: re.Pattern[str]
    canonical: str
    ambiguous: bool


def _spelling(text: str, canonical: str) -> _Spelling:
    ambiguous = text.isupper() and " " not in text
    words = [re.escape(word) for word in text.split()]
    body = r"\.?[\s/]*".join(words) + r"\.?"
    if not ambiguous:
        body = f"(?i:{body})"
    return _Spelling(re.compile(rf"(?<!\w){body}(?![\w'’])"), canonical, ambiguous)


# Longest first: at one position "Detective Chief Inspector" must win over shorter readings.
SPELLINGS: tuple[_Spelling, ...] = tuple(
    sorted(
        (_spelling(text, canonical) for canonical, texts in RANKS.items() for text in texts),
        key=lambda s: len(s.pattern.pattern),
        reverse=True,
    )
)
# Any spelling at all: most segments hold none, and one search says so at the cost of one
# of the seventy patterns above.
_ANY_SPELLING = re.compile("|".join(f"(?:{spelling.pattern.pattern})" for spelling in SPELLINGS))
ROLE = re.compile(
    r"(?i)(?<![\w/])((?:(?:"
    + "|".join(sorted(_ROLE_QUALIFIERS, key=len, reverse=True))
    + r")\s+){0,3})("
    + "|".join(h.replace(" ", r"\s+") for h in sorted(_ROLE_HEADS, key=len, reverse=True))
    + r")(?![\w])"
)
_PREFIX_BEFORE = re.compile(
    r"(?:(?<![\w])(?P<long>acting|temporary|temp)\s+|(?<![\w])(?P<short>[AaTt])\s*/\s*)$",
    re.IGNORECASE,
)


# A title nobody's table knows ("Missing Persons Coordinator"), kept as its writer put it.
_WRITTEN_TITLE = re.compile(r"[^\W\d_][\w .,'’/&()\-]{0,59}")


@dataclass(frozen=True)
class Title:
    """A rank or role found in a piece of text, and that text with it taken out."""

    canonical: str
    remainder: str


def _is_name_word(word: str) -> bool:
    cleaned = word.strip(",.")
    return bool(NAME_TOKEN.match(cleaned)) and cleaned[:1].isupper()


def _accepted(segment: str, start: int, end: int, ambiguous: bool) -> bool:
    """Whether a rank spelling at segment[start:end] names the writer's own rank."""
    if _SERVES.search(segment[:start]):
        return False
    if not ambiguous:
        return True
    after = segment[end:]
    if _COLLAR.match(after):
        return True
    before = segment[:start]
    prefix = _PREFIX_BEFORE.search(before)
    if prefix is not None:
        before = before[: prefix.start()]
    before = before.strip(" \t:-–#.,")
    following = after.split()
    if not following:
        return True
    if before:
        return False
    first = following[0].strip(",.")
    return _is_name_word(first) and first.lower() not in _SENTENCE_WORDS


def _with_prefix(segment: str, start: int, canonical: str) -> tuple[int, str]:
    prefix = _PREFIX_BEFORE.search(segment[:start])
    if prefix is None:
        return start, canonical
    word = _PREFIXES[(prefix.group("long") or prefix.group("short")).lower()]
    if word == "Temporary" and canonical == "Detective Constable" and prefix.group("short"):
        # "T/DC" is how forces write a trainee detective, not a temporary one.
        return prefix.start(), "Trainee Detective Constable"
    if canonical.startswith(("Trainee ", word)):
        return prefix.start(), canonical
    return prefix.start(), f"{word} {canonical}"


def _first_rank(segment: str) -> tuple[int, int, str] | None:
    """Where the first rank in `segment` starts and ends (an acting or temporary prefix and a
    collar number included) and its canonical name."""
    if _ANY_SPELLING.search(segment) is None:
        return None
    hits = sorted(
        (
            (match.start(), match.end(), spelling)
            for spelling in SPELLINGS
            for match in spelling.pattern.finditer(segment)
        ),
        key=lambda hit: (hit[0], hit[0] - hit[1]),
    )
    covered = 0
    for start, end, spelling in hits:
        # Shorter readings inside a longer one are not separate ranks: when "Chief Constable"
        # is rejected, its "Constable" must not be taken instead.
        if start < covered:
            continue
        covered = end
        if not _accepted(segment, start, end, spelling.ambiguous):
            continue
        collar = _COLLAR.match(segment[end:])
        cut_to = end + collar.end() if collar else end
        cut_from, canonical = _with_prefix(segment, start, spelling.canonical)
        return cut_from, cut_to, canonical
    return None


def take_rank(segment: str) -> Title | None:
    found = _first_rank(segment)
    if found is None:
        return None
    cut_from, cut_to, canonical = found
    return Title(canonical, f"{segment[:cut_from]} {segment[cut_to:]}".strip())


def leading_rank(text: str) -> Title | None:
    """The rank `text` opens with ("T/DC Femi Adeyemi from the Met"), and what follows it."""
    text = text.lstrip()
    found = _first_rank(text)
    if found is None or found[0] != 0:
        return None
    return Title(found[2], text[found[1] :].strip())


def title_in_field(value: str) -> str | None:
    """The rank or role a form's "Rank:" or "Role:" field gives: the canonical name of a rank
    or role recognised in it, else the title as written; None if it holds no title at all."""
    # In a field labelled as a rank, a lone "dc" or "t/ds" can only be one.
    readings = (value, value.upper()) if len(value.split()) == 1 else (value,)
    for reading in readings:
        rank = take_rank(reading)
        if rank is not None:
            return rank.canonical
    role = take_role(value)
    if role is not None:
        return role.canonical
    written = " ".join(value.split())
    return written if _WRITTEN_TITLE.fullmatch(written) else None


def take_role(segment: str) -> Title | None:
    match = ROLE.search(segment)
    if match is None:
        return None
    qualifiers = [_ROLE_QUALIFIERS[w.lower()] for w in match.group(1).split()]
    head = _ROLE_HEADS[" ".join(match.group(2).lower().split())]
    canonical = " ".join([*qualifiers, head])
    return Title(canonical, f"{segment[: match.start()]} {segment[match.end() :]}".strip())
