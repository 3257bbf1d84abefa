"""The table of UK police forces: which force an email domain, or a name in text, belongs to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Force:
    """One force: its canonical name, the mail domains it owns and how people write its name."""

    name: str
    domains: tuple[str, ...] = ()
    # Extra spellings beyond the canonical name; "X Police"/"X Constabulary" variants are
    # derived from `stems`, since people use either suffix whatever the force's legal title.
    aliases: tuple[str, ...] = ()
    stems: tuple[str, ...] = ()
    # Upper-case abbreviations matched case-sensitively, and only where no other force or
    # common phrase shares them ("WMP" is left out: West Midlands and West Mercia both use it).
    abbreviations: tuple[str, ...] = ()
    # What people call the force in running text, matched case-sensitively ("the Met").
    informal: tuple[str, ...] = ()


# Written from memory of the Home Office and police.uk lists; it MUST be checked against the
# official list of forces and the PNN domain register before anyone relies on it for
# eligibility. Legacy `<label>.pnn.police.uk` domains are derived from each modern label below
# (the PNN names mostly mirrored them); known exceptions are listed explicitly.
FORCES: tuple[Force, ...] = (
    # The 43 territorial forces of England and Wales.
    Force("Avon and Somerset Police", ("avonandsomerset.police.uk",), stems=("Avon and Somerset",)),
    Force("Bedfordshire Police", ("bedfordshire.police.uk",), stems=("Bedfordshire", "Beds")),
    Force("Cambridgeshire Constabulary", ("cambs.police.uk",), stems=("Cambridgeshire", "Cambs")),
    Force("Cheshire Constabulary", ("cheshire.police.uk",), stems=("Cheshire",)),
    Force("City of London Police", ("cityoflondon.police.uk",), stems=("City of London",)),
    Force("Cleveland Police", ("cleveland.police.uk",), stems=("Cleveland",)),
    Force("Cumbria Constabulary", ("cumbria.police.uk",), stems=("Cumbria",)),
    Force("Derbyshire Constabulary", ("derbyshire.police.uk",), stems=("Derbyshire",)),
    Force(
        "Devon and Cornwall Police",
        ("dc.police.uk", "devonandcornwall.police.uk", "devonandcornwall.pnn.police.uk"),
        stems=("Devon and Cornwall",),
    ),
    Force("Dorset Police", ("dorset.police.uk",), stems=("Dorset",)),
    Force("Durham Constabulary", ("durham.police.uk",), stems=("Durham",)),
    Force(
        "Dyfed-Powys Police",
        ("dyfed-powys.police.uk",),
        aliases=("Heddlu Dyfed-Powys",),
        stems=("Dyfed-Powys",),
    ),
    Force("Essex Police", ("essex.police.uk",), stems=("Essex",)),
    Force(
        "Gloucestershire Constabulary",
        ("gloucestershire.police.uk",),
        stems=("Gloucestershire", "Glos"),
    ),
    Force(
        "Greater Manchester Police",
        ("gmp.police.uk",),
        stems=("Greater Manchester",),
        abbreviations=("GMP",),
    ),
    Force("Gwent Police", ("gwent.police.uk",), aliases=("Heddlu Gwent",), stems=("Gwent",)),
    Force(
        "Hampshire and Isle of Wight Constabulary",
        ("hampshire.police.uk",),
        stems=("Hampshire and Isle of Wight", "Hampshire and IOW", "Hampshire"),
    ),
    Force("Hertfordshire Constabulary", ("herts.police.uk",), stems=("Hertfordshire", "Herts")),
    Force("Humberside Police", ("humberside.police.uk",), stems=("Humberside",)),
    Force("Kent Police", ("kent.police.uk",), stems=("Kent",)),
    Force("Lancashire Constabulary", ("lancashire.police.uk",), stems=("Lancashire", "Lancs")),
    Force("Leicestershire Police", ("leics.police.uk",), stems=("Leicestershire", "Leics")),
    Force("Lincolnshire Police", ("lincs.police.uk",), stems=("Lincolnshire", "Lincs")),
    Force("Merseyside Police", ("merseyside.police.uk",), stems=("Merseyside",)),
    Force(
        "Metropolitan Police Service",
        ("met.police.uk",),
        aliases=("Metropolitan Police Service", "Met Police Service", "New Scotland Yard"),
        stems=("Metropolitan", "Met"),
        informal=("the Met",),
    ),
    Force("Norfolk Constabulary", ("norfolk.police.uk",), stems=("Norfolk",)),
    Force(
        "North Wales Police",
        ("nwp.police.uk", "north-wales.pnn.police.uk"),
        aliases=("Heddlu Gogledd Cymru",),
        stems=("North Wales",),
    ),
    Force(
        "North Yorkshire Police",
        ("northyorkshire.police.uk",),
        stems=("North Yorkshire", "North Yorks"),
    ),
    Force(
        "Northamptonshire Police",
        ("northants.police.uk",),
        stems=("Northamptonshire", "Northants"),
    ),
    Force("Northumbria Police", ("northumbria.police.uk",), stems=("Northumbria",)),
    Force(
        "Nottinghamshire Police",
        ("notts.police.uk",),
        stems=("Nottinghamshire", "Notts"),
    ),
    Force(
        "South Wales Police",
        ("south-wales.police.uk",),
        aliases=("Heddlu De Cymru",),
        stems=("South Wales",),
    ),
    Force(
        "South Yorkshire Police",
        ("southyorks.police.uk",),
        stems=("South Yorkshire", "South Yorks"),
    ),
    Force("Staffordshire Police", ("staffordshire.police.uk",), stems=("Staffordshire", "Staffs")),
    Force("Suffolk Constabulary", ("suffolk.police.uk",), stems=("Suffolk",)),
    Force("Surrey Police", ("surrey.police.uk",), stems=("Surrey",)),
    Force("Sussex Police", ("sussex.police.uk",), stems=("Sussex",)),
    Force("Thames Valley Police", ("thamesvalley.police.uk",), stems=("Thames Valley",)),
    Force("Warwickshire Police", ("warwickshire.police.uk",), stems=("Warwickshire",)),
    Force("West Mercia Police", ("westmercia.police.uk",), stems=("West Mercia",)),
    Force(
        "West Midlands Police",
        ("westmidlands.police.uk", "west-midlands.pnn.police.uk"),
        stems=("West Midlands",),
    ),
    Force(
        "West Yorkshire Police",
        ("westyorkshire.police.uk",),
        stems=("West Yorkshire", "West Yorks"),
    ),
    Force("Wiltshire Police", ("wiltshire.police.uk",), stems=("Wiltshire",)),
    # National and non-territorial bodies.
    Force(
        "Police Scotland",
        ("scotland.police.uk",),
        aliases=("Police Service of Scotland", "Poileas Alba"),
    ),
    Force(
        "Police Service of Northern Ireland",
        ("psni.police.uk",),
        abbreviations=("PSNI",),
    ),
    Force(
        "British Transport Police",
        ("btp.police.uk",),
        stems=("British Transport",),
        abbreviations=("BTP",),
    ),
    Force("Civil Nuclear Constabulary", ("cnc.police.uk",), stems=("Civil Nuclear",)),
    # MDP officers mail from mod.gov.uk, which the whole ministry shares: the domain cannot
    # say "police", so this force is only ever found by name.
    Force(
        "Ministry of Defence Police",
        (),
        stems=("Ministry of Defence", "MoD", "MOD"),
    ),
    # The NCA is not on police.uk; its mail comes from the government domain.
    Force("National Crime Agency", ("nca.gov.uk",), abbreviations=("NCA",)),
    Force("College of Policing", ("college.police.uk",)),
)

_PNN_SUFFIX = ".pnn.police.uk"
_POLICE_SUFFIX = ".police.uk"


def _domains_of(force: Force) -> tuple[str, ...]:
    found = list(force.domains)
    for domain in force.domains:
        if domain.endswith(_POLICE_SUFFIX) and not domain.endswith(_PNN_SUFFIX):
            label = domain.removesuffix(_POLICE_SUFFIX)
            found.append(label + _PNN_SUFFIX)
    return tuple(dict.fromkeys(found))


def _build_domain_table() -> MappingProxyType[str, str]:
    table: dict[str, str] = {}
    for force in FORCES:
        for domain in _domains_of(force):
            if table.setdefault(domain, force.name) != force.name:
                raise ValueError(f"domain {domain} listed for two forces")
    return MappingProxyType(table)


DOMAINS: MappingProxyType[str, str] = _build_domain_table()
"""Every known force domain (lower case) and the canonical name of the force that owns it."""


def force_for_domain(domain: str) -> str | None:
    """The force owning `domain` or a parent of it, compared on whole labels; None if none."""
    candidate = domain.strip().lstrip("@").rstrip(".").lower()
    if not candidate:
        return None
    labels = candidate.split(".")
    # Walking parents one whole label at a time is what stops "evilmet.police.uk" from
    # matching met.police.uk; the most specific domain wins if two are listed.
    for start in range(len(labels)):
        owner = DOMAINS.get(".".join(labels[start:]))
        if owner is not None:
            return owner
    return None


def _key(text: str) -> str:
    """A spelling folded so that "&"/"and", hyphens, spacing and case do not matter."""
    folded = text.lower().replace("&", " and ").replace("-", " ")
    return " ".join(folded.split())


def _name_spellings(force: Force) -> list[str]:
    spellings = [force.name, *force.aliases]
    for stem in force.stems:
        spellings += [f"{stem} Police", f"{stem} Constabulary"]
    return spellings


def _spelling_pattern(spelling: str) -> str:
    words = _key(spelling).split()
    parts = ["(?:and|&)" if word == "and" else re.escape(word) for word in words]
    return r"[\s\-]*".join(parts)


def _build_text_matcher() -> tuple[re.Pattern[str], dict[str, str]]:
    names: dict[str, str] = {}
    exact: dict[str, str] = {}
    for force in FORCES:
        for spelling in _name_spellings(force):
            names.setdefault(_key(spelling), force.name)
        for abbreviation in force.abbreviations:
            exact[abbreviation] = force.name
    informal = {text: force.name for force in FORCES for text in force.informal}
    # Longest first, so "Metropolitan Police Service" wins over "Metropolitan Police".
    name_patterns = sorted({_spelling_pattern(k) for k in names}, key=len, reverse=True)
    abbreviation_patterns = sorted(map(re.escape, exact), key=len, reverse=True)
    # "the Met Office" is the weather service.
    informal_patterns = [rf"{re.escape(text)}(?!\s+Office\b)" for text in informal]
    alternatives = [f"(?i:{p})" for p in name_patterns] + abbreviation_patterns + informal_patterns
    pattern = re.compile(r"(?<![\w&])(?:" + "|".join(alternatives) + r")(?![\w&])")
    lookup = {**names, **exact, **informal}
    return pattern, lookup


_TEXT_PATTERN, _TEXT_LOOKUP = _build_text_matcher()
# A field that can only hold a force may name it by its stem alone ("Force: Met").
_STEMS = MappingProxyType(
    {_key(stem): force.name for force in FORCES for stem in (*force.stems, force.name)}
)
_WRITTEN_FORCE = re.compile(r"[^\W\d_][\w .,'’&()\-]{0,99}")


def force_in_text(text: str) -> str | None:
    """The canonical name of the first force named in `text`, or None if none is named."""
    for match in _TEXT_PATTERN.finditer(text):
        found = match.group(0)
        owner = _TEXT_LOOKUP.get(found) or _TEXT_LOOKUP.get(_key(found))
        if owner is not None:
            return owner
    return None


def force_in_field(value: str) -> str | None:
    """The force a form's "Force:" field gives: the canonical name of a force recognised in
    it, else the name as written; None if it holds no name at all."""
    written = " ".join(value.split())
    key = _key(written).removeprefix("the ")
    found = force_in_text(written) or force_in_text(written.upper()) or _STEMS.get(key)
    if found is not None:
        return found
    return written if _WRITTEN_FORCE.fullmatch(written) else None
