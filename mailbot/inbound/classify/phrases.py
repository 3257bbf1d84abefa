"""The phrase tables the intent reader (intent.py) matches a mail's sentences against:
reply prefixes and sign-offs, and the ways people write that they cancel, book (for
themselves or for others), state needs, ask a question or only say thanks."""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|tr)\s*:\s*)+", re.IGNORECASE)
SIGN_OFF = re.compile(
    r"^\s*(kind(est)? regards|best regards|regards|many thanks|thanks|thank you|best wishes|"
    r"best|cheers|yours sincerely|yours faithfully|diolch)\b[\s,.!]*$",
    re.IGNORECASE,
)
SIGNATURE_DELIMITER = re.compile(r"^--\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")

# --- cancellation -------------------------------------------------------------------------

CANCEL = re.compile(
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
CANNOT_ATTEND = re.compile(
    r"\b(?:can['’]t|cannot|can\s+not|couldn['’]t|unable\s+to|no\s+longer|won['’]t|will\s+not"
    r"|(?:am|['’]m)\s+not|not\s+be\s+able\s+to|not\s+able\s+to)\s+(?:be\s+)?(?:able\s+to\s+)?"
    r"(?:make\s+it|make\s+the\s+\w+|attend(?:ing)?|be\s+there|join(?:ing)?"
    # "I'm not coming by car" is travel news; "I'm not coming after all" gives up the place.
    r"|com(?:e|ing)(?=\s*(?:$|[.,!;)]|\s(?:to|now|after|any|on|either|this|that))))\b",
    re.IGNORECASE,
)
CLAUSE_BREAK = re.compile(r"[,;:()]|\s[-–—]\s|\b(?:but|and|as|so|because)\b", re.IGNORECASE)
SOMEONE_ELSE = re.compile(
    r"\b(?:he|she|they|colleagues?|someone|somebody|anyone|who|others?)\b", re.IGNORECASE
)
# "If I have to cancel, who do I tell?" asks about cancelling; it does not cancel.
HYPOTHETICAL = re.compile(
    r"^\W*(?:also,?\s+|and\s+|but\s+|just\s+)?"
    r"(?:if|should|in\s+case|in\s+the\s+event|how|what|when|where|who|is\s+there|do\s+i|does)\b",
    re.IGNORECASE,
)

# --- booking ------------------------------------------------------------------------------

_PLACE = r"(?:place|seat|space|ticket|spot)s?"
BOOK = re.compile(
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
BOOKING_SUBJECT = re.compile(
    r"\b(?:book|booking|bookings|register|registration|reserve|places?|attend|attending)\b",
    re.IGNORECASE,
)

# --- booking others -----------------------------------------------------------------------

BOOK_OTHERS = re.compile(
    r"\b(?:on\s+behalf|in\s+my\s+place|instead|colleagues?|my\s+team|send\s+someone)\b",
    re.IGNORECASE,
)
SELF_EXPLICIT = re.compile(
    r"\bbook\s+(?:me|myself|us)\b|\b(?:me|myself)\s+(?:and|&|plus)\b|\b(?:and|&|plus)\s+(?:me|myself)\b"
    r"|\bas\s+well\s+as\s+(?:me|myself)\b|\bboth\s+of\s+us\b|\bus\s+both\b"
    rf"|\b{_PLACE}\s+for\s+(?:me|myself|us)\b"
    r"|\bi(?:['’]d|\s+would)\s+(?:like|love)\s+to\s+(?:attend|come|join)\b",
    re.IGNORECASE,
)
OTHERS_ONLY = re.compile(
    r"\bon\s+behalf\s+of\b|\b(?:attend|come|go|make\s+it|be\s+there)\s+myself\b"
    r"|\bin\s+my\s+place\b|\binstead\s+of\s+me\b|\bnot\s+for\s+(?:me|myself)\b"
    r"|\bi\s*(?:won['’]t|will\s+not|can['’]t|cannot|am\s+not|['’]m\s+not|am\s+unable\s+to"
    r"|['’]m\s+unable\s+to)\s+(?:be\s+)?(?:able\s+to\s+)?(?:attend|come|make\s+it|be\s+there)\b",
    re.IGNORECASE,
)
SELF_TOO = re.compile(r"\balso\s+book\b|\btoo\b|\bas\s+well\b", re.IGNORECASE)
OTHERS_LIKELY = re.compile(
    r"\bfor\s+my\s+(?:colleagues?|team|officers|staff|analysts?)\b"
    r"|\bbook\s+my\s+(?:colleagues?|team|officers|staff)\b",
    re.IGNORECASE,
)

# --- needs --------------------------------------------------------------------------------

SPECIFIC_NEED = re.compile(
    r"(?i:\bvegetarian\b|\bvegan\b|\bpescatarian\b|\bgluten[\s-]?free\b|\bco?eliac\b|\bhalal\b"
    r"|\bkosher\b|\blactose[\s-]intoleran|\bdairy[\s-]free\b|\bnut[\s-]free\b"
    r"|\b(?:nut|peanut|sesame|shellfish|fish|egg|dairy|milk|soya?|wheat|gluten)\s+allerg"
    r"|\ballergic\s+to\b|\bwheelchair\b|\bstep[\s-]?free\b|\b(?:hearing|induction)\s+loop\b"
    r"|\bBritish\s+Sign\s+Language\b|\bsign[\s-]language\b|\binterpreter\b"
    r"|\b(?:guide|assistance)\s+dog\b|\blarge[\s-]print\b|\bvisually\s+impaired\b"
    r"|\bpartially\s+sighted\b|\bhard\s+of\s+hearing\b|\bdeaf\b|\bmobility\b)"
    r"|\bBSL\b"
)
GENERIC_NEED = re.compile(
    r"\bdietary\b|\ballerg(?:y|ies)\b|\bintoleran(?:ce|t)\b"
    r"|\baccess(?:ibility)?\s+(?:needs?|requirements?)\b|\breasonable\s+adjustments?\b",
    re.IGNORECASE,
)
NO_NEEDS = re.compile(
    r"\b(?:no|nil|none|without|n['’]t\s+have\s+any|not\s+have\s+any)\b"
    r"|\b(?:requirements?|needs?)\s*[:\-–]?\s*(?:none|n/?a|nil)\b",
    re.IGNORECASE,
)

# --- questions ----------------------------------------------------------------------------

QUESTION_OPENER = re.compile(
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
PLEASANTRY = re.compile(
    r"^\W*(?:how\s+are\s+you|hope\s+you(?:['’]re|\s+are)\s+well|how['’]s\s+it\s+going)\b",
    re.IGNORECASE,
)

# --- acknowledgements ---------------------------------------------------------------------

ACK_WORDS = _words(
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
ACK_THANKS = _words(
    "thanks thank ty cheers ta great perfect brilliant lovely excellent fab fabulous fantastic"
    " wonderful super noted received ok okay forward"
)
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\d+(?:st|nd|rd|th)?", re.IGNORECASE)
REQUEST_WORD = re.compile(
    r"\b(?:book|place|cancel|need|needs|please|attend|could|can|would|will)\b|\?",
    re.IGNORECASE,
)
