"""Read the organiser's commands (APPROVE, DECLINE, CANCEL, ADD, MOVE, CAPACITY, LIST,
ATTENDED, ABSENT) from text, one line each, with an optional note after the command."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from mailbot.domain import LARGEST_CAPACITY, is_event_slug


class Verb(StrEnum):
    APPROVE = "APPROVE"
    DECLINE = "DECLINE"
    CANCEL = "CANCEL"
    ADD = "ADD"
    MOVE = "MOVE"
    CAPACITY = "CAPACITY"
    LIST = "LIST"
    ATTENDED = "ATTENDED"
    ABSENT = "ABSENT"


@dataclass(frozen=True)
class Command:
    """One command line, checked for shape (not yet for meaning: refs may not exist)."""

    verb: Verb
    line: str  # as the organiser wrote it, for the reply
    ref: str | None = None
    event: str | None = None
    email: str | None = None
    name: str | None = None
    number: int | None = None
    note: str | None = None  # the organiser's words after the command, for the history


@dataclass(frozen=True)
class Line:
    """One command line as the organiser wrote it: what it asks (several commands for
    ATTENDED or ABSENT with several references), or why it cannot be read."""

    text: str
    commands: tuple[Command, ...] = ()
    problem: str | None = None


@dataclass(frozen=True)
class Parsed:
    lines: tuple[Line, ...]  # every command line, in the order written

    @property
    def commands(self) -> tuple[Command, ...]:
        return tuple(command for line in self.lines for command in line.commands)

    @property
    def problems(self) -> tuple[str, ...]:
        """ "line: what is wrong", for each line that cannot be read."""
        return tuple(f"{line.text}: {line.problem}" for line in self.lines if line.problem)


_REF = re.compile(r"^[A-Z0-9]{3}-[A-Z0-9]{3}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_USAGE = {
    Verb.APPROVE: "APPROVE <reference>",
    Verb.DECLINE: "DECLINE <reference>",
    Verb.CANCEL: "CANCEL <reference>",
    Verb.ADD: "ADD <email> <name> [event]",
    Verb.MOVE: "MOVE <reference> <event>",
    Verb.CAPACITY: "CAPACITY <event> <number>",
    Verb.LIST: "LIST [event]",
    Verb.ATTENDED: "ATTENDED <reference> [<reference> ...]",
    Verb.ABSENT: "ABSENT <reference> [<reference> ...]",
}
_LONGEST_NAME = 200
# A note starts at the first word after the verb that begins with one of these: " - " (or
# the en and em dashes mail clients make of it), "--", "#" or "(". No reference, event,
# number or address begins so, and a name in ADD ends where a note begins, so a note is
# never read as an argument.
NOTE_MARKS = ("-", "\u2013", "\u2014", "#", "(")
NOTE_HINT = "to add a note, start it with ' - ', '#' or '('"
_MOST_ARGUMENTS = {
    Verb.APPROVE: 1,
    Verb.DECLINE: 1,
    Verb.CANCEL: 1,
    Verb.MOVE: 2,
    Verb.CAPACITY: 2,
    Verb.LIST: 1,
}


def usage() -> str:
    return "; ".join(_USAGE.values())


def looks_like_commands(text: str) -> bool:
    """Whether the first written line, comment lines aside, starts with a command word (or a
    near miss)."""
    for line in text.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            first = line.strip().split()[0].upper().rstrip(":")
            return first in Verb.__members__ or _near_miss(first) is not None
    return False


def _near_miss(word: str) -> Verb | None:
    """A command word with one letter wrong, added or missing, e.g. "APROVE"."""
    for verb in Verb:
        if word != verb.value and _one_edit_apart(word, verb.value):
            return verb
    return None


def _one_edit_apart(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    shorter, longer = sorted((a, b), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def parse_commands(text: str) -> Parsed:
    """Every command line up to the first line that is not one (a signature, a quote).

    Nothing is guessed: a misspelt verb, a malformed reference or a missing argument is a
    problem to report, never a command to carry out. Words from a note mark on are the
    organiser's note, never arguments.
    """
    lines: list[Line] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line or line.startswith("#"):
            continue  # a comment line of its own: the commands go on after it
        words = line.split(" ")
        word = words[0].upper().rstrip(":")
        if word not in Verb.__members__:
            near = _near_miss(word)
            if near is None:
                break  # the commands are over: a sign-off, a signature or quoted text
            lines.append(Line(line, problem=f"not understood (did you mean {near.value}?)"))
            continue
        verb = Verb(word)
        args, note = _split_note(words[1:])
        parsed = _parse_line(verb, line, args)
        if isinstance(parsed, str):
            hint = f"; {NOTE_HINT}" if _unmarked_note(verb, args) else ""
            lines.append(Line(line, problem=f"{parsed} (use {_USAGE[verb]}{hint})"))
        else:
            lines.append(Line(line, tuple(replace(each, note=note) for each in parsed)))
    return Parsed(tuple(lines))


def _split_note(words: list[str]) -> tuple[list[str], str | None]:
    """The command's arguments, and the note after them (without its mark), if any."""
    for at, word in enumerate(words):
        if word.startswith(NOTE_MARKS):
            note = " ".join(words[at:]).lstrip("".join(NOTE_MARKS)).strip()
            if word.startswith("(") and note.endswith(")"):
                note = note[:-1].rstrip()
            return words[:at], note or None
    return words, None


def _unmarked_note(verb: Verb, args: list[str]) -> bool:
    """Whether a line that cannot be read has words that look like a note without its
    mark: more words than the command takes, or (after ATTENDED or ABSENT) a word without
    the hyphen every reference has."""
    if verb in (Verb.ATTENDED, Verb.ABSENT):
        return any("-" not in arg for arg in args)
    return len(args) > _MOST_ARGUMENTS.get(verb, len(args))  # ADD's name takes any number


def _parse_line(verb: Verb, line: str, args: list[str]) -> list[Command] | str:
    if verb in (Verb.ATTENDED, Verb.ABSENT):
        # One command for each reference, so each is answered on its own line.
        refs = [arg.upper().rstrip(",") for arg in args]
        if not refs:
            return "needs at least one booking reference"
        wrong = [arg for arg, ref in zip(args, refs, strict=True) if not _REF.match(ref)]
        if wrong:
            return f"{wrong[0]!r} is not a reference"
        return [Command(verb, f"{verb.value} {ref}", ref=ref) for ref in refs]
    single = _parse_single(verb, line, args)
    return single if isinstance(single, str) else [single]


def _parse_single(verb: Verb, line: str, args: list[str]) -> Command | str:
    if verb in (Verb.APPROVE, Verb.DECLINE, Verb.CANCEL):
        if len(args) != 1:
            return "needs exactly one booking reference"
        ref = args[0].upper()
        return (
            Command(verb, line, ref=ref) if _REF.match(ref) else f"{args[0]!r} is not a reference"
        )
    if verb is Verb.MOVE:
        if len(args) != 2:
            return "needs a booking reference and an event"
        ref, event = args[0].upper(), args[1].lower()
        if not _REF.match(ref):
            return f"{args[0]!r} is not a reference"
        return Command(verb, line, ref=ref, event=event) if is_event_slug(event) else "bad event"
    if verb is Verb.CAPACITY:
        if len(args) != 2 or not args[1].isdigit():
            return "needs an event and a whole number"
        if int(args[1]) > LARGEST_CAPACITY:
            return f"at most {LARGEST_CAPACITY} places"
        return Command(verb, line, event=args[0].lower(), number=int(args[1]))
    if verb is Verb.ADD:
        return _parse_add(line, args)
    if len(args) > 1:
        return "takes at most an event"
    return Command(verb, line, event=args[0].lower() if args else None)


def _parse_add(line: str, args: list[str]) -> Command | str:
    if not args or not _EMAIL.match(args[0].strip("<>")):
        return "needs an email address first"
    email = args[0].strip("<>").lower()
    rest = args[1:]
    event = None
    if rest and is_event_slug(rest[-1]) and "-" in rest[-1]:
        event = rest.pop()
    name = " ".join(rest).strip() or None
    if name is not None and len(name) > _LONGEST_NAME:
        return "the name is too long"
    return Command(Verb.ADD, line, email=email, name=name, event=event)
