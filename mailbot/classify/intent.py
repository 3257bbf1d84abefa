"""Work out what a human sender wants from the words they wrote."""

from __future__ import annotations

import re

from mailbot.domain import Intent

_CANCEL = re.compile(
    r"\b(cancel(l?ing|l?ed|lation)?|no longer (be )?(able to )?attend|"
    r"(can ?not|can't|cannot|won't|will not|unable to) (make it|attend|come)|"
    r"withdraw (my|me)|give up my place|release my place)\b",
    re.IGNORECASE,
)
_OPENING_LINES = 6
_SIGN_OFF = re.compile(
    r"^\s*(kind(est)? regards|best regards|regards|many thanks|thanks|thank you|best wishes|"
    r"best|cheers|yours sincerely|yours faithfully|diolch)\b[\s,.!]*$",
    re.IGNORECASE,
)


def intent_of(subject: str, readable_text: str) -> Intent:
    """Cancellation when the subject or the opening lines ask for it; otherwise a booking.

    Only the opening lines before any sign-off count, so a signature or an old quoted
    confirmation that mentions cancelling does not turn a booking into a cancellation.
    """
    opening: list[str] = []
    for line in readable_text.splitlines():
        if _SIGN_OFF.match(line) or len(opening) == _OPENING_LINES:
            break  # what follows a sign-off is a signature, not a request
        if line.strip():
            opening.append(line)
    subject_text = re.sub(r"^\s*((re|fw|fwd)\s*:\s*)+", "", subject, flags=re.IGNORECASE)
    if _CANCEL.search(subject_text) or any(_CANCEL.search(line) for line in opening):
        return Intent.CANCEL
    return Intent.BOOK
