"""Reading the organiser's command lines (notes after a command, and what is never read),
and the answer that says what became of each line."""

from __future__ import annotations

import pytest

from mailbot.inbound.commands import Verb, looks_like_commands, parse_commands
from mailbot.rules.organiser import LineAnswer, answer_lines

NOTE = "she emailed me"


@pytest.mark.parametrize(
    "line",
    [
        f"CANCEL K7Q-4MZ - {NOTE}",
        f"CANCEL K7Q-4MZ – {NOTE}",  # the en dash mail clients put in for " - "
        f"CANCEL K7Q-4MZ — {NOTE}",
        f"CANCEL K7Q-4MZ -- {NOTE}",
        f"CANCEL K7Q-4MZ --{NOTE}",
        f"CANCEL K7Q-4MZ ({NOTE})",
        f"CANCEL K7Q-4MZ # {NOTE}",
        f"CANCEL K7Q-4MZ #{NOTE}",
        f"cancel  k7q-4mz   -   {NOTE}",
    ],
)
def test_a_note_after_a_command_is_kept_apart_from_it(line: str) -> None:
    parsed = parse_commands(line)
    assert parsed.problems == ()
    (command,) = parsed.commands
    assert (command.verb, command.ref, command.note) == (Verb.CANCEL, "K7Q-4MZ", NOTE)
    assert command.line == " ".join(line.split()), "answered as written, note and all"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("APPROVE K7Q-4MZ (checked with Kent)", {"ref": "K7Q-4MZ"}),
        ("DECLINE K7Q-4MZ - not an officer", {"ref": "K7Q-4MZ"}),
        (
            "MOVE K7Q-4MZ cse-forum-leeds # nearer home",
            {"ref": "K7Q-4MZ", "event": "cse-forum-leeds"},
        ),
        (
            "CAPACITY cse-forum-preston 80 - bigger room",
            {"event": "cse-forum-preston", "number": 80},
        ),
        (
            "ADD sam.hale@kent.police.uk DS Sam Hale - phoned",
            {"email": "sam.hale@kent.police.uk", "name": "DS Sam Hale", "event": None},
        ),
        (
            "ADD sam.hale@kent.police.uk DS Sam Hale cse-forum-leeds (phoned)",
            {"name": "DS Sam Hale", "event": "cse-forum-leeds"},
        ),
        ("LIST - for the caterers", {"event": None}),
        ("LIST cse-forum-preston # for the caterers", {"event": "cse-forum-preston"}),
    ],
)
def test_every_verb_takes_a_note(line: str, expected: dict[str, object]) -> None:
    parsed = parse_commands(line)
    assert parsed.problems == ()
    (command,) = parsed.commands
    assert {key: getattr(command, key) for key in expected} == expected
    assert command.note


@pytest.mark.parametrize(
    ("line", "refs"),
    [
        ("ATTENDED K7Q-4MZ P2D-8RT - the rest did not come", ["K7Q-4MZ", "P2D-8RT"]),
        ("ATTENDED K7Q-4MZ, P2D-8RT (both stayed to the end)", ["K7Q-4MZ", "P2D-8RT"]),
        ("ABSENT K7Q-4MZ # rang in sick, not P2D-8RT", ["K7Q-4MZ"]),
        ("ATTENDED K7Q-4MZ -- P2D-8RT left at lunch", ["K7Q-4MZ"]),
    ],
)
def test_several_references_then_a_note(line: str, refs: list[str]) -> None:
    parsed = parse_commands(line)
    assert parsed.problems == ()
    assert [command.ref for command in parsed.commands] == refs


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # A reference or a number in a note is never read as one.
        ("CANCEL K7Q-4MZ - duplicate of P2D-8RT", {"ref": "K7Q-4MZ"}),
        ("APPROVE K7Q-4MZ (not P2D-8RT)", {"ref": "K7Q-4MZ"}),
        ("MOVE K7Q-4MZ cse-forum-leeds - not cse-forum-york", {"event": "cse-forum-leeds"}),
        ("CAPACITY cse-forum-preston 80 # was 60", {"number": 80}),
        ("LIST - cse-forum-leeds next week", {"event": None}),
    ],
)
def test_a_note_is_never_read_as_an_argument(line: str, expected: dict[str, object]) -> None:
    (command,) = parse_commands(line).commands
    assert {key: getattr(command, key) for key in expected} == expected


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("CANCEL K7Q-4M - she emailed me", "'K7Q-4M' is not a reference"),
        ("ATTENDED K7Q-4MZ P2D-8R # both came", "'P2D-8R' is not a reference"),
        ("CANCEL - K7Q-4MZ", "needs exactly one booking reference"),
        ("CAPACITY cse-forum-preston - 80", "needs an event and a whole number"),
        ("MOVE K7Q-4MZ (cse-forum-leeds)", "needs a booking reference and an event"),
        ("ATTENDED # K7Q-4MZ", "needs at least one booking reference"),
        ("ADD (sam.hale@kent.police.uk)", "needs an email address first"),
    ],
)
def test_a_typo_or_an_argument_inside_a_note_is_still_an_error(line: str, problem: str) -> None:
    parsed = parse_commands(line)
    assert parsed.commands == ()
    (said,) = parsed.problems
    assert said.startswith(f"{line}: {problem}")


@pytest.mark.parametrize(
    "line",
    [
        "CANCEL K7Q-4MZ she emailed me",
        "CAPACITY cse-forum-preston 80 bigger room",
        "MOVE K7Q-4MZ cse-forum-leeds nearer home",
        "LIST cse-forum-preston for the caterers",
        "ATTENDED K7Q-4MZ P2D-8RT both came",
    ],
)
def test_words_after_a_command_without_a_mark_are_refused_with_how_to_write_a_note(
    line: str,
) -> None:
    parsed = parse_commands(line)
    assert parsed.commands == ()
    (said,) = parsed.problems
    assert said.endswith("; to add a note, start it with ' - ', '#' or '(')")


def test_each_command_line_is_kept_in_order_with_what_it_asks_or_what_is_wrong() -> None:
    parsed = parse_commands(
        "APPROVE K7Q-4MZ\n\nATTENDED P2D-8RT H3N-9XW\nAPROVE K7Q-4MZ\nCANCEL 12345\n"
        "LIST\n\nThanks\nCANCEL K7Q-4MZ"
    )
    assert [(line.text, len(line.commands), line.problem) for line in parsed.lines] == [
        ("APPROVE K7Q-4MZ", 1, None),
        ("ATTENDED P2D-8RT H3N-9XW", 2, None),
        ("APROVE K7Q-4MZ", 0, "not understood (did you mean APPROVE?)"),
        ("CANCEL 12345", 0, "'12345' is not a reference (use CANCEL <reference>)"),
        ("LIST", 1, None),
    ]
    assert [c.line for c in parsed.lines[1].commands] == ["ATTENDED P2D-8RT", "ATTENDED H3N-9XW"]


def test_a_comment_line_between_commands_is_passed_over_and_the_rest_still_read() -> None:
    """A line of its own starting with '#' is the organiser's comment: the commands after it
    are still read (before, it ended the commands and those after it were silently lost)."""
    parsed = parse_commands(
        "APPROVE K7Q-4MZ\n# the Cumbria two rang me\nCANCEL P2D-8RT\n\n-- \nForum Organiser"
    )
    assert [line.text for line in parsed.lines] == ["APPROVE K7Q-4MZ", "CANCEL P2D-8RT"]
    assert not parsed.problems
    assert looks_like_commands("# sent from my phone\nAPPROVE K7Q-4MZ")


def test_a_capacity_the_database_cannot_keep_is_refused() -> None:
    """Beyond PostgreSQL's INTEGER the change would fail in the database, after the organiser
    was told nothing useful; the config's own capacity has the same bound."""
    assert not parse_commands("CAPACITY cse-forum-preston 2147483647").problems
    (problem,) = parse_commands("CAPACITY cse-forum-preston 2147483648").problems
    assert "at most 2147483647" in problem


CANCELLED = LineAnswer("CANCEL K7Q-4MZ - she rang", (("CANCEL K7Q-4MZ", "cancelled (Ann Lee)"),))
CAME = LineAnswer(
    "ATTENDED P2D-8RT H3N-9XW",
    (("ATTENDED P2D-8RT", "attended (a@x)"), ("ATTENDED H3N-9XW", "attended (b@x)")),
)
NO_BOOKING = LineAnswer("CANCEL ZZZ-999", problem="no booking ZZZ-999")
TYPO = LineAnswer("APROVE K7Q-4MZ", problem="not understood (did you mean APPROVE?)")
NOT_DONE = "not done: nothing in this mail was carried out, because of"


@pytest.mark.parametrize(
    ("lines", "answer"),
    [
        ([CANCELLED], ["CANCEL K7Q-4MZ - she rang: cancelled (Ann Lee)"]),
        ([NO_BOOKING], ["CANCEL ZZZ-999: no booking ZZZ-999"]),
        (
            [CANCELLED, CAME],
            [
                "1. CANCEL K7Q-4MZ - she rang: cancelled (Ann Lee)",
                "2. ATTENDED P2D-8RT: attended (a@x)",
                "2. ATTENDED H3N-9XW: attended (b@x)",
            ],
        ),
        (
            [CANCELLED, NO_BOOKING, CAME],
            [
                f"1. CANCEL K7Q-4MZ - she rang: {NOT_DONE} line 2",
                "2. CANCEL ZZZ-999: no booking ZZZ-999",
                f"3. ATTENDED P2D-8RT H3N-9XW: {NOT_DONE} line 2",
            ],
        ),
        (
            [TYPO, CAME, NO_BOOKING, NO_BOOKING],
            [
                "1. APROVE K7Q-4MZ: not understood (did you mean APPROVE?)",
                f"2. ATTENDED P2D-8RT H3N-9XW: {NOT_DONE} lines 1, 3 and 4",
                "3. CANCEL ZZZ-999: no booking ZZZ-999",
                "4. CANCEL ZZZ-999: no booking ZZZ-999",
            ],
        ),
    ],
)
def test_the_answer_says_what_became_of_every_line(
    lines: list[LineAnswer], answer: list[str]
) -> None:
    assert list(answer_lines(lines)) == answer
