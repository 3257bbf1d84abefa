"""Who wrote a mail: name, rank or role, and force, read from the From header, the writer's form
lines ("Rank: A/DI"), a sentence introducing them and the signature."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mailbot.domain import Address, SenderDetails
from mailbot.inbound.classify.body import readable_part
from mailbot.inbound.classify.forces import force_for_domain, force_in_field, force_in_text
from mailbot.inbound.classify.form import FormDetails, form_details, is_form_line
from mailbot.inbound.classify.ranks import (
    NAME_TOKEN,
    ROLE,
    SPELLINGS,
    leading_rank,
    take_rank,
    take_role,
    title_in_field,
    word_set,
)

_HONORIFICS = word_set("mr mrs ms miss mx dr prof professor sir dame rev revd")
_POST_NOMINALS = word_set(
    "msc bsc ba ma phd mphil dphil mba llb llm beng meng pgcert pgdip hons mbe obe cbe qpm"
    " kpm fcipd mcipd cmgr frsa"
)
_PRONOUNS = re.compile(r"^\(?(?:she|he|they|her|him|them|hers|his|theirs)(?:/[a-z]+)+\)?$")
# Gaelic, Welsh and continental particles: they do not count as a surname on their own
# ("Ó Briain, Seán") and stay lower case inside a name written all in one case.
_PARTICLES = word_set("ó o ní nic mac mc ua uí ap ab de da di du le la van von der den y")
_LOWER_PARTICLES = word_set("ap ab de da di du le la van von der den y")

# Words that never occur in a person's name but do on signature lines and in mailbox names.
# Surnames that are also words (Hall, Lane, Park, Best, Major, Will) are deliberately absent.
_NOT_NAME = word_set(
    """
    police constabulary service services unit team teams department dept office officer
    investigation investigations crime crimes intelligence analyst researcher investigator
    division command bureau branch directorate headquarters hq force agency college policing
    staff public protection safeguarding abuse child children vulnerability vulnerable serious
    organised economic cyber digital forensic forensics criminal justice professional standards
    counter terrorism operations operational support specialist response neighbourhood
    neighbourhoods council university street road avenue house building centre center station
    circus tel telephone mobile mob phone email e-mail fax ext web www regards thanks thank
    cheers wishes kind sincerely faithfully sent iphone android outlook official sensitive
    noreply no-reply reply mailbox admin administrator enquiries enquiry bookings booking
    events event info reception inbox secure hello hi dear morning afternoon evening please
    sorry group training academy school network national regional north south east west
    midlands yorkshire scotland wales ireland northern london metropolitan british transport
    ministry defence nuclear civil detective constable sergeant inspector superintendent
    commander commissioner special community trainee acting temporary manager coordinator
    co-ordinator secretary director supervisor tactical strategic hub desk suite room floor
    heddlu cymru referrals notifications alerts system systems automated daemon postmaster
    the and of for at in to on with from by an i me my we us our you your it is are be was
    see soon there here this that thanks again just also can could would should via per
    yes no ok okay great perfect sure fine lovely brilliant excellent confirmed cancel
    cancelled book attend attending
    """
)
_COLLAR_TOKEN = re.compile(r"^[(#]?\d{1,6}[A-Z]{0,3}[),.]?$", re.IGNORECASE)
_SEGMENT_SPLIT = re.compile(r"\s*(?:[|•·;<>()\[\]\t]|\s[-–—]\s|\s{3,})\s*")
_SIGN_OFF = re.compile(
    r"^\s*(?P<phrase>"
    r"(?:kind(?:est)?|best|warm(?:est)?|many|with)\s+(?:regards|wishes|thanks)"
    r"|all the best|regards|rgds|best|thanks(?:\s+(?:again|in advance|very much|all))?"
    r"|thank you(?:\s+(?:very much|again|in advance))?|cheers|ta|many thanks in advance"
    r"|yours(?:\s+(?:sincerely|faithfully|truly))?|sincerely|respectfully|take care"
    r"|speak soon|diolch(?:\s+yn\s+fawr)?|cofion(?:\s+gorau)?|le meas|(?-i:KR|BW)"
    r")(?![\w'])\s*[,.!:;\-–]*\s*(?P<rest>.*?)[\s,.!]*$",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER = re.compile(r"^--\s*$")
_SELF_DESCRIPTION = re.compile(
    r"\b(?:I\s+am|I'm|I’m|I\s+work\s+as)\s+an?\s+(?:serving\s+)?", re.IGNORECASE
)
# "I'm T/DC Femi Adeyemi from the Met", "This is DS Jo Bell of Cumbria Constabulary".
# After "this is" a rank must come with a name: "This is Sergeant-level training" is no one's.
_INTRODUCTION = re.compile(
    r"\b(?:I\s+am|I'm|I’m|(?P<named>this\s+is|my\s+name\s+is))\s+(?!an?\s)", re.IGNORECASE
)
_LOCAL_PART_WORD = re.compile(r"^[^\W\d_]{2,}(?:['\-][^\W\d_]+)*$")
_MAX_SIGNATURE_LINES = 15
_NAME_LINES = 3
_MAX_NAME_TOKENS = 5


@dataclass(frozen=True)
class _Person:
    """What one piece of text (a display name, a signature line) says about its writer."""

    name: str | None = None
    rank: str | None = None
    role: str | None = None

    @property
    def tokens(self) -> int:
        return len(self.name.split()) if self.name else 0


def _letters(token: str) -> str:
    return "".join(ch for ch in token if ch.isalpha())


def _title_case(token: str, *, first: bool) -> str:
    if not first and token.lower() in _LOWER_PARTICLES:
        return token.lower()
    pieces = re.split(r"(['’\-])", token)
    out: list[str] = []
    for piece in pieces:
        low = piece.lower()
        if low.startswith("mc") and len(low) > 2:
            out.append("Mc" + low[2].upper() + low[3:])
        else:
            out.append(low[:1].upper() + low[1:])
    return "".join(out)


def _fix_case(tokens: list[str]) -> list[str] | None:
    """Tokens in natural order and ordinary case; None if they read like prose, not a name."""
    caps = [_letters(t).isupper() for t in tokens]
    lower = [_letters(t).islower() for t in tokens]
    if all(lower):
        return [_title_case(t, first=i == 0) for i, t in enumerate(tokens)]
    if any(low and t.lower() not in _PARTICLES for t, low in zip(tokens, lower, strict=True)):
        return None
    if all(caps):
        return [_title_case(t, first=i == 0) for i, t in enumerate(tokens)]
    leading = 0
    while leading < len(tokens) and caps[leading]:
        leading += 1
    # Directories write "SMITH Jane": a leading run of capitals is the surname.
    if leading and any(len(_letters(t)) > 1 for t in tokens[:leading]):
        tokens = tokens[leading:] + tokens[:leading]
        caps = caps[leading:] + caps[:leading]
    return [
        _title_case(t, first=i == 0) if is_caps and len(_letters(t)) > 1 else t
        for i, (t, is_caps) in enumerate(zip(tokens, caps, strict=True))
    ]


def _name_tokens(text: str) -> list[str] | None:
    tokens = [t for t in text.split() if not _COLLAR_TOKEN.match(t) and not _PRONOUNS.match(t)]
    while tokens and tokens[0].lower().strip(".") in _HONORIFICS:
        tokens.pop(0)
    while tokens and tokens[-1].lower().strip(".()") in _POST_NOMINALS:
        tokens.pop()
    tokens = [t.strip(",") for t in tokens]
    if not tokens or len(tokens) > _MAX_NAME_TOKENS:
        return None
    for token in tokens:
        if not NAME_TOKEN.match(token) or token.lower().strip(".") in _NOT_NAME:
            return None
    if all(len(_letters(t)) < 2 for t in tokens):
        return None
    return _fix_case(tokens)


def _surname_count(tokens: list[str]) -> int:
    return sum(1 for t in tokens if t.lower() not in _PARTICLES)


def _parse_piece(text: str) -> _Person:
    """Rank, role and name in one comma-free piece of text such as "DC 1234 Jane Smith"."""
    rank = take_rank(text)
    if rank is not None:
        text = rank.remainder
    role = take_role(text)
    if role is not None:
        text = role.remainder
    tokens = _name_tokens(text) if text else None
    return _Person(
        " ".join(tokens) if tokens else None,
        rank.canonical if rank else None,
        role.canonical if role else None,
    )


def _parse_segment(segment: str) -> _Person:
    """What one segment of a line says; handles "Surname, Given" and "Name, Rank"."""
    pieces = [_parse_piece(p) for p in segment.split(",") if p.strip()]
    rank = next((p.rank for p in pieces if p.rank), None)
    role = next((p.role for p in pieces if p.role), None)
    names = [p.name for p in pieces if p.name]
    name = names[0] if names else None
    if len(pieces) == 2 and len(names) == 2:
        surname, given = names[0].split(), names[1].split()
        # "Smith, Jane" reverses; "Jane Smith, Birmingham" does not, as a surname is one word
        # apart from its particles.
        if _surname_count(surname) == 1:
            name = " ".join(given + surname)
    return _Person(name, rank, role)


def _segments(line: str) -> list[str]:
    return [s for s in _SEGMENT_SPLIT.split(line) if s.strip()]


def _persons(lines: Iterable[str]) -> Iterator[_Person]:
    for line in lines:
        for segment in _segments(line):
            yield _parse_segment(segment)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if ch.isalnum())


def _local_part_name(email: str) -> str | None:
    """The name in a clearly first.last address, title-cased; None for anything else."""
    local = email.partition("@")[0]
    parts = local.split(".")
    if len(parts) != 2:
        return None
    for part in parts:
        if not _LOCAL_PART_WORD.match(part) or part.lower() in _NOT_NAME:
            return None
    return " ".join(_title_case(p, first=True) for p in parts)


def _agree_with_address(name: str, local_name: str | None) -> str:
    """Put "Pritchard Owen" in the order the owen.pritchard address shows it."""
    if local_name is None:
        return name
    tokens = name.split()
    wanted = [_fold(t) for t in local_name.split()]
    if len(tokens) == 2 and [_fold(t) for t in reversed(tokens)] == wanted:
        return f"{tokens[1]} {tokens[0]}"
    return name


@dataclass(frozen=True)
class _Signature:
    """The sign-off's own name piece (e.g. "Tom" in "Thanks, Tom") and the lines below it."""

    sign_off: _Person | None
    lines: tuple[str, ...]


def _is_prose(line: str) -> bool:
    words = [w for w in line.split() if "@" not in w and "://" not in w]
    alphabetic = [w for w in words if w[:1].isalpha()]
    lowered = [w for w in alphabetic if w[:1].islower() and w not in {"and", "of", "the"}]
    if len(lowered) >= 3 and len(lowered) * 5 > len(alphabetic) * 2:
        return True
    return len(words) >= 4 and line.rstrip().endswith((".", "?", "!"))


def _sign_off_at(line: str) -> _Person | None:
    """The sign-off line's trailing name piece (possibly empty) if `line` is a sign-off."""
    match = _SIGN_OFF.match(line)
    if match is None:
        return None
    rest = re.sub(r"\s+x+$", "", match.group("rest"), flags=re.IGNORECASE)
    if not rest:
        return _Person()
    person = _parse_segment(rest)
    return person if person.name or person.rank else None


def _signature(body: str) -> _Signature:
    lines = body.split("\n")
    for index in range(len(lines) - 1, -1, -1):
        sign_off = _sign_off_at(lines[index])
        if sign_off is not None:
            # An afterthought under the sign-off ("Also, can I bring a colleague?") is not
            # part of the signature, and must not hide the name below it.
            below = [x for x in lines[index + 1 :] if x.strip() and not _is_prose(x)]
            return _Signature(sign_off, tuple(below[:_MAX_SIGNATURE_LINES]))
        if _SIGNATURE_DELIMITER.match(lines[index]):
            below = [x for x in lines[index + 1 :] if x.strip()]
            return _Signature(None, tuple(below[:_MAX_SIGNATURE_LINES]))
    # No sign-off: the signature is the run of short, non-sentence lines at the end.
    block: list[str] = []
    for line in reversed(lines):
        if not line.strip():
            continue
        if _is_prose(line) or len(block) == _MAX_SIGNATURE_LINES:
            break
        block.insert(0, line)
    return _Signature(None, tuple(block))


@dataclass(frozen=True)
class _Found:
    """The best name, rank and role one source (display name or signature) offers."""

    full_name: str | None = None  # two or more words
    short_name: str | None = None  # one word, e.g. "Tom" under "Kind regards,"
    rank: str | None = None
    role: str | None = None


def _collect(entries: Iterable[tuple[_Person, bool]]) -> _Found:
    """Merge pieces in reading order; a one-word name counts only where the flag allows it."""
    full = strong = short = rank = role = None
    for person, allow_short in entries:
        rank = rank or person.rank
        role = role or person.role
        if person.tokens >= 2:
            if strong is None and (person.rank or person.role):
                strong = person.name
            full = full or person.name
        elif person.tokens == 1 and allow_short:
            short = short or person.name
    return _Found(strong or full, short, rank, role)


def _from_display(display: str) -> _Found:
    text = display.strip().strip("\"'")
    if not text or "@" in text:
        return _Found()
    return _collect((person, True) for person in _persons([text]))


def _from_signature(signature: _Signature) -> _Found:
    entries: list[tuple[_Person, bool]] = []
    if signature.sign_off is not None:
        entries.append((signature.sign_off, True))
    # Names are looked for near the top only: lower down sit departments and addresses,
    # which the word lists cannot all rule out. A lone first name counts only on the
    # first line, where "Kind regards,\nTom" puts it.
    # Each line is read once; the three readings below differ only in which lines count.
    # Form lines are read as a form (see _from_form): their labels are no one's name.
    lines = [line for line in signature.lines if not is_form_line(line)]
    per_line = [list(_persons([line])) for line in lines]
    for index, persons in enumerate(per_line[:_NAME_LINES]):
        entries += [(person, index == 0) for person in persons]
    near_top = _collect(entries)
    everyone = [person for persons in per_line for person in persons]
    anywhere = _collect((person, False) for person in everyone)
    # A full name written next to a rank ("DC 1234 Jane Smith") is trusted wherever it is.
    strong = next((p.name for p in everyone if p.tokens >= 2 and (p.rank or p.role)), None)
    return _Found(
        strong or near_top.full_name,
        near_top.short_name,
        near_top.rank or anywhere.rank,
        near_top.role or anywhere.role,
    )


def _self_described_rank(body: str) -> str | None:
    """The rank or role in "I'm a DC with ..." when the body says it outright."""
    for match in _SELF_DESCRIPTION.finditer(body):
        rest = body[match.end() :].split("\n", 1)[0]
        for spelling in SPELLINGS:
            if spelling.pattern.match(rest):
                return spelling.canonical
        # Only a role straight after "I'm a" counts: "I'm a DC working with an analyst" is not one.
        role = take_role(rest) if ROLE.match(rest) else None
        if role is not None:
            return role.canonical
    return None


def _introduced(body: str) -> _Person:
    """The rank and name in a sentence introducing the writer ("I'm T/DC Femi Adeyemi from
    the Met"); only a rank straight after the introduction counts."""
    for match in _INTRODUCTION.finditer(body):
        rank = leading_rank(body[match.end() :].split("\n", 1)[0])
        if rank is None:
            continue
        run: list[str] = []
        for word in rank.remainder.split()[:_MAX_NAME_TOKENS]:
            cleaned = word.strip(",.;:!?")
            if not NAME_TOKEN.match(cleaned) or not (
                cleaned[:1].isupper() or cleaned.lower() in _PARTICLES
            ):
                break
            run.append(cleaned)
            if cleaned != word:  # punctuation ends the name: "DS Jo Bell, Cumbria"
                break
        tokens = _name_tokens(" ".join(run)) if run else None
        if tokens is None and match.group("named"):
            continue
        return _Person(" ".join(tokens) if tokens else None, rank.canonical)
    return _Person()


def _from_form(form: FormDetails) -> _Found:
    """Name and rank or role from the writer's form lines; a rank written in the name field
    ("Name: DC Ada Okoro") counts when the rank field says none."""
    named = _collect((person, True) for person in _persons([form.name])) if form.name else _Found()
    rank = title_in_field(form.rank) if form.rank else None
    role = title_in_field(form.role) if form.role else None
    # A "Role:" field holds the title of someone without a rank, which the model keeps where
    # a rank goes; beside "Rank: Police Staff" it is the more telling of the two.
    if role is not None and (rank is None or take_rank(rank) is None):
        rank = role
    return _Found(named.full_name, named.short_name, rank or named.rank, named.role)


def extract_sender(address: Address, text: str) -> SenderDetails:
    """Name, rank or role, and force of whoever wrote `text` from `address`; unknowns are None."""
    email = address.email.strip().lower()
    body = readable_part(text)
    signature = _signature(body)
    form = form_details(body, email)
    # What the writer filled in under a label is the most deliberate statement of all.
    filled = _from_form(form)
    display = _from_display(address.name)
    signed = _from_signature(signature)
    introduced = _introduced(body)
    local_name = _local_part_name(email)

    name = filled.full_name or display.full_name or signed.full_name
    name = name or (introduced.name if introduced.tokens >= 2 else None) or local_name
    name = name or filled.short_name or display.short_name or signed.short_name
    if name is not None:
        name = _agree_with_address(name, local_name)

    rank = (
        filled.rank
        or display.rank
        or signed.rank
        or introduced.rank
        or _self_described_rank(body)
        or filled.role
        or display.role
        or signed.role
    )

    # The address's domain is the surest sign of a force; the form comes next.
    force = force_for_domain(email.rpartition("@")[2])
    if force is None and form.force is not None:
        force = force_in_field(form.force)
    if force is None:
        for source in (address.name, "\n".join(signature.lines), body):
            force = force_in_text(source)
            if force is not None:
                break
    return SenderDetails(email=email, name=name, rank=rank, force=force)
