"""Work out what a human sender wants from the words they wrote and any calendar reply."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mailbot.domain import Intent, Interpretation
from mailbot.inbound.classify import phrases
from mailbot.inbound.classify.calendar import calendar_reply
from mailbot.inbound.classify.colleagues import colleagues_named

_NEEDS_LIMIT = 300
_QUESTION_LIMIT = 500
_OPENING_LINES = 6
# Hard-wrapped mail breaks lines near 72 characters; shorter lines end where the writer did.
_WRAP_WIDTH = 60
_ACK_MAX_WORDS = 25
_SIGNATURE_LINE_WORDS = 8


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
        if phrases.SIGNATURE_DELIMITER.match(line) or (
            phrases.SIGN_OFF.match(line) and any(x.strip() for x in body)
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
        for piece in phrases.SENTENCE_END.split(line):
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
    return phrases.REPLY_PREFIX.sub("", subject).strip()


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
    sentences = [topic, *(s for s in _sentences(opening) if not phrases.HYPOTHETICAL.match(s))]
    if any(phrases.CANCEL.search(s) for s in sentences):
        return True
    # "I can't attend myself, but please book my colleague" hands the place on instead.
    return not books_others and any(_cannot_attend_myself(s) for s in sentences)


def _cannot_attend_myself(sentence: str) -> bool:
    for match in phrases.CANNOT_ATTEND.finditer(sentence):
        clause = phrases.CLAUSE_BREAK.split(sentence[: match.start()])[-1]
        # "My colleague can't make it" is news about someone else's place, not the writer's.
        if not phrases.SOMEONE_ELSE.search(clause):
            return True
    return False


def _asks_to_book(subject: str, sentences: list[str]) -> bool:
    if not phrases.REPLY_PREFIX.match(subject) and phrases.BOOKING_SUBJECT.search(subject):
        return True
    return any(phrases.BOOK.search(s) for s in sentences)


def _needs(sentences: list[str]) -> str | None:
    stated = [
        s
        for s in sentences
        if not s.endswith("?")
        and (
            phrases.SPECIFIC_NEED.search(s)
            or (phrases.GENERIC_NEED.search(s) and not phrases.NO_NEEDS.search(s))
        )
    ]
    return _clip(" ".join(stated), _NEEDS_LIMIT) if stated else None


def _is_question(sentence: str) -> bool:
    if phrases.BOOK.search(sentence) or phrases.PLEASANTRY.match(sentence):
        return False
    return sentence.endswith("?") or bool(phrases.QUESTION_OPENER.match(sentence))


def _question(sentences: list[str]) -> str | None:
    asked = [s for s in sentences if _is_question(s)]
    return _clip(" ".join(asked), _QUESTION_LIMIT) if asked else None


def _is_thanks_only(lines: Iterable[str]) -> bool:
    words = [w.lower().replace("’", "'") for w in phrases.WORD.findall(" ".join(lines))]
    if not words or len(words) > _ACK_MAX_WORDS:
        return False
    return any(w in phrases.ACK_THANKS for w in words) and all(
        w in phrases.ACK_WORDS or w[:1].isdigit() for w in words
    )


def _is_no_needs(sentence: str) -> bool:
    return bool(phrases.GENERIC_NEED.search(sentence) and phrases.NO_NEEDS.search(sentence))


def _acknowledges(readable_text: str) -> bool:
    """Thanks and nothing else: leading thank-you lines, then at most a short signature."""
    lines: list[str] = []
    for line in readable_text.split("\n"):
        # "No dietary requirements" answers our confirmation; it asks for nothing.
        kept = " ".join(s for s in phrases.SENTENCE_END.split(line.strip()) if not _is_no_needs(s))
        if kept:
            lines.append(kept)
    thanks = 0
    while thanks < len(lines) and _is_thanks_only(lines[thanks : thanks + 1]):
        thanks += 1
    if thanks == 0:
        return False
    return all(
        len(x.split()) <= _SIGNATURE_LINE_WORDS and not phrases.REQUEST_WORD.search(x)
        for x in lines[thanks:]
    )


def _include_sender(text: str) -> bool:
    if phrases.SELF_EXPLICIT.search(text):
        return True
    if phrases.OTHERS_ONLY.search(text):
        return False
    if phrases.SELF_TOO.search(text):
        return True
    return not phrases.OTHERS_LIKELY.search(text)


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
    colleagues = colleagues_named(body.lines, sender_email, own_addresses)
    sentences = _sentences(body.lines)
    books_others = bool(colleagues) or (
        bool(phrases.BOOK_OTHERS.search(body.text)) and _asks_to_book("", sentences)
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
