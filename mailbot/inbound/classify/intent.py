"""Work out what a human sender wants from the words they wrote and any calendar reply."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from mailbot.domain import Address, Intent, Interpretation, SenderDetails
from mailbot.inbound.classify.calendar import calendar_reply
from mailbot.inbound.classify.forces import force_for_domain
from mailbot.inbound.classify.sender import extract_sender

_NEEDS_LIMIT = 300
_QUESTION_LIMIT = 500
_OPENING_LINES = 6
# Hard-wrapped mail breaks lines near 72 characters; shorter lines end where the writer did.
_WRAP_WIDTH = 60
_ACK_MAX_WORDS = 25
_SIGNATURE_LINE_WORDS = 8


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|tr)\s*:\s*)+", re.IGNORECASE)
_SIGN_OFF = re.compile(
    r"^\s*(kind(est)? regards|best regards|regards|many thanks|thanks|thank you|best wishes|"
    r"best|cheers|yours sincerely|yours faithfully|diolch)\b[\s,.!]*$",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER = re.compile(r"^--\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")

# --- cancellation -------------------------------------------------------------------------

_CANCEL = re.compile(
    r"\bcancel(?:l?ing|led)?\s+(?:my|me|our|the|this|that|his|her|their|it)\b"
    r"|\b(?:to|please|kindly|must|i|we|i['’]ll|you)\s+cancel\b"
    r"|^\s*cancel(?:led|lation|l?ing)?\b(?!\s+(?:polic|terms|fee|charge|deadline))"
    r"|\bcancellation\b(?!\s+(?:polic|terms|fee|charge|deadline|process|procedure|rules))"
    r"|\bwithdraw(?:ing|al)?\b"
    r"|\b(?:give|giving)\s+up\s+(?:my|our)\s+(?:place|seat|space|booking|ticket)s?\b"
    r"|\brelease\s+(?:my|our)\s+(?:place|seat|space|booking|ticket)s?\b"
    r"|\bremove\s+(?:me|us|my\s+name)\s+from\b"
    r"|\btake\s+(?:me|us|my\s+name)\s+off\b"
    r"|\bno\s+longer\s+(?:need|require|want)\s+(?:my|the|a|our)\s+(?:place|seat|booking)s?\b",
    re.IGNORECASE,
)
_CANNOT_ATTEND = re.compile(
    r"\b(?:can['’]t|cannot|can\s+not|couldn['’]t|unable\s+to|no\s+longer|won['’]t|will\s+not"
    r"|(?:am|['’]m)\s+not|not\s+be\s+able\s+to|not\s+able\s+to)\s+(?:be\s+)?(?:able\s+to\s+)?"
    r"(?:make\s+it|make\s+the\s+\w+|attend(?:ing)?|be\s+there|join(?:ing)?"
    # "I'm not coming by car" is travel news; "I'm not coming after all" gives up the place.
    r"|com(?:e|ing)(?=\s*(?:$|[.,!;)]|\s(?:to|now|after|any|on|either|this|that))))\b",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[,;:()]|\s[-–—]\s|\b(?:but|and|as|so|because)\b", re.IGNORECASE)
_SOMEONE_ELSE = re.compile(
    r"\b(?:he|she|they|colleagues?|someone|somebody|anyone|who|others?)\b", re.IGNORECASE
)
# "If I have to cancel, who do I tell?" asks about cancelling; it does not cancel.
_HYPOTHETICAL = re.compile(
    r"^\W*(?:also,?\s+|and\s+|but\s+|just\s+)?"
    r"(?:if|should|in\s+case|in\s+the\s+event|how|what|when|where|who|is\s+there|do\s+i|does)\b",
    re.IGNORECASE,
)

# --- booking ------------------------------------------------------------------------------

_PLACE = r"(?:place|seat|space|ticket|spot)s?"
_BOOK = re.compile(
    r"\bbook\s+(?:me|myself|us|him|her|them|my\s+(?:colleagues?|team|officers|staff)"
    r"|our\s+team|the\s+following)\b"
    rf"|\bbook\s+(?:a|one|two|three|\d+)\s+(?:more\s+)?{_PLACE}\b"
    r"|\b(?:please|kindly|also|could\s+you|can\s+you|would\s+you|will\s+you)\s+"
    r"(?:please\s+)?(?:also\s+)?(?:book|reserve|register|enrol|enroll)\b"
    r"|\b(?:reserve|register|enrol|enroll)\s+(?:me|myself|us|him|her|them|my)\b"
    r"|\bsign\s+(?:me|us|him|her|them)\s+up\b"
    r"|\bput\s+(?:me|us|my\s+name)\s+down\b"
    r"|\badd\s+(?:me|us|my\s+name)\s+to\b"
    r"|\b(?:can|could|may)\s+(?:i|we)\s+(?:please\s+)?(?:(?:book|register|reserve|enrol)\b"
    rf"|(?:have|get|take|request|grab|secure)\s+(?:a|one|two|\d+|my)\s+{_PLACE}\b)"
    r"|\b(?:i|we)(?:['’]d|\s+would|\s+wish|\s+want|\s+hope)\s+(?:like\s+|love\s+)?to\s+"
    r"(?:book|reserve|register|attend|come|join|request|secure)\b"
    r"|\b(?:i\s+am|i['’]m|we\s+are|we['’]re)\s+(?:keen|hoping|planning)\s+to\s+"
    r"(?:book|attend|come|join)\b"
    rf"|\b(?:i|we)(?:['’]d|\s+would)\s+(?:like|love)\s+(?:a|one|two)\s+{_PLACE}\b"
    r"|\b(?:is|are)\s+there\s+(?:still\s+)?(?:any\s+|a\s+)?(?:space|room|place|seat|ticket)s?"
    r"\s+(?:still\s+)?(?:left|available|remaining|for\s+(?:me|us|one\s+more|another))\b"
    rf"|\b(?:a|one)\s+{_PLACE}\s+for\s+(?:me|myself|us)\b"
    rf"|\bbooking\s+request\b|\brequest\s+(?:a\s+)?{_PLACE}\b",
    re.IGNORECASE,
)
# A fresh mail's subject ("Booking request") asks to book; a reply's only names the thread.
_BOOKING_SUBJECT = re.compile(
    r"\b(?:book|booking|bookings|register|registration|reserve|places?|attend|attending)\b",
    re.IGNORECASE,
)

# --- booking others -----------------------------------------------------------------------

_BOOK_OTHERS = re.compile(
    r"\b(?:on\s+behalf|in\s+my\s+place|instead|colleagues?|my\s+team|send\s+someone)\b",
    re.IGNORECASE,
)
_SELF_EXPLICIT = re.compile(
    r"\bbook\s+(?:me|myself|us)\b|\b(?:me|myself)\s+(?:and|&|plus)\b|\b(?:and|&|plus)\s+(?:me|myself)\b"
    r"|\bas\s+well\s+as\s+(?:me|myself)\b|\bboth\s+of\s+us\b|\bus\s+both\b"
    rf"|\b{_PLACE}\s+for\s+(?:me|myself|us)\b"
    r"|\bi(?:['’]d|\s+would)\s+(?:like|love)\s+to\s+(?:attend|come|join)\b",
    re.IGNORECASE,
)
_OTHERS_ONLY = re.compile(
    r"\bon\s+behalf\s+of\b|\b(?:attend|come|go|make\s+it|be\s+there)\s+myself\b"
    r"|\bin\s+my\s+place\b|\binstead\s+of\s+me\b|\bnot\s+for\s+(?:me|myself)\b"
    r"|\bi\s*(?:won['’]t|will\s+not|can['’]t|cannot|am\s+not|['’]m\s+not|am\s+unable\s+to"
    r"|['’]m\s+unable\s+to)\s+(?:be\s+)?(?:able\s+to\s+)?(?:attend|come|make\s+it|be\s+there)\b",
    re.IGNORECASE,
)
_SELF_TOO = re.compile(r"\balso\s+book\b|\btoo\b|\bas\s+well\b", re.IGNORECASE)
_OTHERS_LIKELY = re.compile(
    r"\bfor\s+my\s+(?:colleagues?|team|officers|staff|analysts?)\b"
    r"|\bbook\s+my\s+(?:colleagues?|team|officers|staff)\b",
    re.IGNORECASE,
)

# --- colleagues ---------------------------------------------------------------------------

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

# --- needs --------------------------------------------------------------------------------

_SPECIFIC_NEED = re.compile(
    r"(?i:\bvegetarian\b|\bvegan\b|\bpescatarian\b|\bgluten[\s-]?free\b|\bco?eliac\b|\bhalal\b"
    r"|\bkosher\b|\blactose[\s-]intoleran|\bdairy[\s-]free\b|\bnut[\s-]free\b"
    r"|\b(?:nut|peanut|sesame|shellfish|fish|egg|dairy|milk|soya?|wheat|gluten)\s+allerg"
    r"|\ballergic\s+to\b|\bwheelchair\b|\bstep[\s-]?free\b|\b(?:hearing|induction)\s+loop\b"
    r"|\bBritish\s+Sign\s+Language\b|\bsign[\s-]language\b|\binterpreter\b"
    r"|\b(?:guide|assistance)\s+dog\b|\blarge[\s-]print\b|\bvisually\s+impaired\b"
    r"|\bpartially\s+sighted\b|\bhard\s+of\s+hearing\b|\bdeaf\b|\bmobility\b)"
    r"|\bBSL\b"
)
_GENERIC_NEED = re.compile(
    r"\bdietary\b|\ballerg(?:y|ies)\b|\bintoleran(?:ce|t)\b"
    r"|\baccess(?:ibility)?\s+(?:needs?|requirements?)\b|\breasonable\s+adjustments?\b",
    re.IGNORECASE,
)
_NO_NEEDS = re.compile(
    r"\b(?:no|nil|none|without|n['’]t\s+have\s+any|not\s+have\s+any)\b"
    r"|\b(?:requirements?|needs?)\s*[:\-–]?\s*(?:none|n/?a|nil)\b",
    re.IGNORECASE,
)

# --- questions ----------------------------------------------------------------------------

_QUESTION_OPENER = re.compile(
    r"^\W*(?:also,?\s+|and\s+|but\s+|just\s+|sorry,?\s+)?(?:"
    r"(?:is|are|was|will|would|can|could|do|does|did|should|shall|may|might|has|have)\s+"
    r"(?:i|we|you|there|it|they|he|she|the|this|that|my|our|anyone|anybody|someone|parking"
    r"|lunch|food)\b"
    r"|(?:where|what|when|which|who|why|how)(?:['’]s\b|\s+(?:is|are|was|were|will|would|do"
    r"|does|did|should|can|could|time|day|date|room|floor|building|kind|sort|type|much|many"
    r"|long|far|often|exactly|about)\b)"
    r"|(?:please\s+)?(?:could|can|would|will)\s+you\b"
    r"|(?:please\s+)?(?:let\s+me\s+know|advise)\s+(?:whether|if|what|where|when|how|which)\b"
    r"|i\s+wondered\b|(?:i\s+was|i['’]m|just)\s+wondering\b"
    r"|(?:i['’]d|i\s+would)\s+like\s+to\s+know\b"
    r")",
    re.IGNORECASE,
)
_PLEASANTRY = re.compile(
    r"^\W*(?:how\s+are\s+you|hope\s+you(?:['’]re|\s+are)\s+well|how['’]s\s+it\s+going)\b",
    re.IGNORECASE,
)

# --- acknowledgements ---------------------------------------------------------------------

_ACK_WORDS = _words(
    """
    thanks thank you ty very much many again so lot great perfect brilliant lovely excellent
    fab fabulous fantastic wonderful super cheers ta noted received got it ok okay that's thats
    that is sounds good all will do see there then soon on the day look looking forward to
    for confirming confirmation confirmed my place booking email reply message and appreciated
    a nice one much hi hello dear
    monday tuesday wednesday thursday friday january february march april may june july august
    september october november december
    """
)
_ACK_THANKS = _words(
    "thanks thank ty cheers ta great perfect brilliant lovely excellent fab fabulous fantastic"
    " wonderful super noted received ok okay forward"
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\d+(?:st|nd|rd|th)?", re.IGNORECASE)
_REQUEST_WORD = re.compile(
    r"\b(?:book|place|cancel|need|needs|please|attend|could|can|would|will)\b|\?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Body:
    """The lines a writer wrote before signing off, and any question added below the sign-off."""

    lines: tuple[str, ...]
    afterthoughts: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _read_body(readable_text: str) -> _Body:
    lines = readable_text.replace("\r\n", "\n").split("\n")
    body: list[str] = []
    for index, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line) or (
            _SIGN_OFF.match(line) and any(x.strip() for x in body)
        ):
            # A lone "Thanks!" opening the mail is the message itself, not a sign-off.
            after = [x.strip() for x in lines[index + 1 :]]
            questions = [x for x in after if x.endswith("?") and len(x.split()) >= 3]
            return _Body(tuple(body), tuple(questions))
        body.append(line)
    return _Body(tuple(body), ())


def _logical_lines(lines: Iterable[str]) -> list[str]:
    """Lines with hard wrapping undone, so a sentence split across lines reads as one."""
    joined: list[str] = []
    carry = ""
    for line in lines:
        stripped = line.strip()
        if not stripped:
            if carry:
                joined.append(carry)
                carry = ""
            continue
        carry = f"{carry} {stripped}" if carry else stripped
        if len(stripped) < _WRAP_WIDTH or stripped.endswith((".", "!", "?", ":", ";")):
            joined.append(carry)
            carry = ""
    if carry:
        joined.append(carry)
    return joined


def _sentences(lines: Iterable[str]) -> list[str]:
    found: list[str] = []
    for line in _logical_lines(lines):
        for piece in _SENTENCE_END.split(line):
            sentence = piece.strip().rstrip(";").strip()
            if sentence:
                found.append(sentence)
    return found


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


def _topic(subject: str) -> str:
    return _REPLY_PREFIX.sub("", subject).strip()


def _calendar_intent(calendar: str | None) -> Intent | None:
    if calendar is None:
        return None
    reply = calendar_reply(calendar)
    if reply is None or reply.method != "REPLY":
        return None
    if reply.partstat == "DECLINED":
        return Intent.CANCEL
    if reply.partstat in {"ACCEPTED", "TENTATIVE"}:
        return Intent.ACKNOWLEDGE
    return None


def _cancels(topic: str, body: _Body, books_others: bool) -> bool:
    """Cancellation words in the subject or the opening lines, read as the writer's own.

    Only the opening lines before any sign-off count, so a signature or an old quoted
    confirmation that mentions cancelling does not turn a booking into a cancellation.
    """
    opening = [line for line in body.lines if line.strip()][:_OPENING_LINES]
    sentences = [topic, *(s for s in _sentences(opening) if not _HYPOTHETICAL.match(s))]
    if any(_CANCEL.search(s) for s in sentences):
        return True
    # "I can't attend myself, but please book my colleague" hands the place on instead.
    return not books_others and any(_cannot_attend_myself(s) for s in sentences)


def _cannot_attend_myself(sentence: str) -> bool:
    for match in _CANNOT_ATTEND.finditer(sentence):
        clause = _CLAUSE_BREAK.split(sentence[: match.start()])[-1]
        # "My colleague can't make it" is news about someone else's place, not the writer's.
        if not _SOMEONE_ELSE.search(clause):
            return True
    return False


def _asks_to_book(subject: str, sentences: list[str]) -> bool:
    if not _REPLY_PREFIX.match(subject) and _BOOKING_SUBJECT.search(subject):
        return True
    return any(_BOOK.search(s) for s in sentences)


def _needs(sentences: list[str]) -> str | None:
    stated = [
        s
        for s in sentences
        if not s.endswith("?")
        and (_SPECIFIC_NEED.search(s) or (_GENERIC_NEED.search(s) and not _NO_NEEDS.search(s)))
    ]
    return _clip(" ".join(stated), _NEEDS_LIMIT) if stated else None


def _is_question(sentence: str) -> bool:
    if _BOOK.search(sentence) or _PLEASANTRY.match(sentence):
        return False
    return sentence.endswith("?") or bool(_QUESTION_OPENER.match(sentence))


def _question(sentences: list[str]) -> str | None:
    asked = [s for s in sentences if _is_question(s)]
    return _clip(" ".join(asked), _QUESTION_LIMIT) if asked else None


def _is_thanks_only(lines: Iterable[str]) -> bool:
    words = [w.lower().replace("’", "'") for w in _WORD.findall(" ".join(lines))]
    if not words or len(words) > _ACK_MAX_WORDS:
        return False
    return any(w in _ACK_THANKS for w in words) and all(
        w in _ACK_WORDS or w[:1].isdigit() for w in words
    )


def _is_no_needs(sentence: str) -> bool:
    return bool(_GENERIC_NEED.search(sentence) and _NO_NEEDS.search(sentence))


def _acknowledges(readable_text: str) -> bool:
    """Thanks and nothing else: leading thank-you lines, then at most a short signature."""
    lines: list[str] = []
    for line in readable_text.split("\n"):
        # "No dietary requirements" answers our confirmation; it asks for nothing.
        kept = " ".join(s for s in _SENTENCE_END.split(line.strip()) if not _is_no_needs(s))
        if kept:
            lines.append(kept)
    thanks = 0
    while thanks < len(lines) and _is_thanks_only(lines[thanks : thanks + 1]):
        thanks += 1
    if thanks == 0:
        return False
    return all(
        len(x.split()) <= _SIGNATURE_LINE_WORDS and not _REQUEST_WORD.search(x)
        for x in lines[thanks:]
    )


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


def _colleagues(
    lines: Iterable[str], sender_email: str, own_addresses: frozenset[str]
) -> tuple[SenderDetails, ...]:
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


def _include_sender(text: str) -> bool:
    if _SELF_EXPLICIT.search(text):
        return True
    if _OTHERS_ONLY.search(text):
        return False
    if _SELF_TOO.search(text):
        return True
    return not _OTHERS_LIKELY.search(text)


def interpret(
    subject: str,
    readable_text: str,
    sender_email: str,
    calendar: str | None = None,
    own_addresses: frozenset[str] = frozenset(),
) -> Interpretation:
    """What one mail asks for; `readable_text` is the writer's own words (see readable_part).

    Rules apply in order: a calendar accept or decline, cancellation, amendment of needs,
    colleagues to book, a question, bare thanks; anything else is a booking request.
    """
    from_calendar = _calendar_intent(calendar)
    if from_calendar is not None:
        return Interpretation(intent=from_calendar)

    body = _read_body(readable_text)
    colleagues = _colleagues(body.lines, sender_email, own_addresses)
    sentences = _sentences(body.lines)
    books_others = bool(colleagues) or (
        bool(_BOOK_OTHERS.search(body.text)) and _asks_to_book("", sentences)
    )
    if _cancels(_topic(subject), body, books_others):
        return Interpretation(intent=Intent.CANCEL)

    needs = _needs(sentences)
    question = _question([*sentences, *body.afterthoughts])
    books = bool(colleagues) or _asks_to_book(subject, sentences)
    if not books:
        if needs is not None:
            return Interpretation(intent=Intent.AMEND, needs=needs, question=question)
        if question is not None:
            return Interpretation(intent=Intent.QUESTION, question=question)
        if _acknowledges(readable_text):
            return Interpretation(intent=Intent.ACKNOWLEDGE)
    return Interpretation(
        intent=Intent.BOOK,
        colleagues=colleagues,
        include_sender=_include_sender(body.text),
        needs=needs,
        question=question,
        asks_for_place=books,
    )


def intent_of(subject: str, readable_text: str) -> Intent:
    """The intent alone, for callers that know nothing of the sender or a calendar part."""
    return interpret(subject, readable_text, sender_email="").intent
