"""The organiser's commands, each planned by a pure rule from the state it finds: what it
will change and whom it will tell, or why it cannot be done. pipeline/organiser_commands.py
reads that state and applies the plans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from mailbot.domain import (
    ACTIVE_STATUSES,
    Actor,
    Address,
    Attachment,
    BookingStatus,
    BookingView,
    Decision,
    EventInfo,
    Notice,
    Outcome,
    Policy,
    Snapshot,
    StatusChange,
    Trigger,
)
from mailbot.inbound.classify.sender import extract_sender
from mailbot.inbound.commands import Command, Verb
from mailbot.rules import lifecycle
from mailbot.rules.booking import new_booking
from mailbot.rules.lifecycle import Party, Stage, When
from mailbot.rules.waitlist import pass_place, release_place


@dataclass(frozen=True)
class Planned:
    """What one command will do, and the line that tells the organiser so."""

    decision: Decision
    summary: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class CommandsResult:
    """The result of a whole mail (or CLI call) of commands."""

    carried_out: bool
    summary: tuple[str, ...]  # what became of each command line (see `answer_lines`)
    notices: tuple[Notice, ...]  # to attendees affected
    attachments: tuple[Attachment, ...]
    decisions: tuple[Decision, ...]


@dataclass(frozen=True)
class LineAnswer:
    """What became of one command line as written: what each of its commands did (the
    command, what it did), or why the line cannot be done."""

    text: str
    done: tuple[tuple[str, str], ...] = ()
    problem: str | None = None


def answer_lines(lines: Sequence[LineAnswer]) -> tuple[str, ...]:
    """The organiser's answer, a line for each command line (for each reference of
    ATTENDED or ABSENT, when done), numbered when there are several. The commands in one
    mail are carried out together or not at all, so when any line has a problem every
    other line says it was not done and which lines stopped it."""
    bad = [number for number, line in enumerate(lines, 1) if line.problem is not None]
    numbered = len(lines) > 1
    answers: list[str] = []
    for number, line in enumerate(lines, 1):
        prefix = f"{number}. " if numbered else ""
        if line.problem is not None:
            answers.append(f"{prefix}{line.text}: {line.problem}")
        elif bad:
            why = f"because of line{'s' if len(bad) > 1 else ''} {_listed(bad)}"
            answers.append(f"{prefix}{line.text}: not done: {_NOTHING_DONE}, {why}")
        elif len(line.done) == 1:
            answers.append(f"{prefix}{line.text}: {line.done[0][1]}")  # note and all
        else:
            answers += [f"{prefix}{command}: {what}" for command, what in line.done]
    return tuple(answers)


_NOTHING_DONE = "nothing in this mail was carried out"


def _listed(numbers: Sequence[int]) -> str:
    """1; 1 and 3; 1, 3 and 4."""
    words = [str(number) for number in numbers]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _who(booking: BookingView) -> str:
    name = " ".join(part for part in (booking.rank, booking.name) if part)
    return f"{name}, {booking.email}" if name else booking.email


def _told(
    passed: tuple[list[StatusChange], list[Notice], list[str]],
) -> tuple[list[StatusChange], list[Notice], list[str]]:
    """Places passed on by the rules a cancellation by mail follows (offers included), with
    a line for the organiser about each person."""
    changes, notices, reasons = passed
    lines = [
        f"{reason} ({_who(notice.booking)})" if notice.booking else reason
        for reason, notice in zip(reasons, notices, strict=True)
    ]
    return changes, notices, lines


@dataclass(frozen=True)
class _Placed:
    """Where a booking the organiser places goes, by the lifecycle, and what its holder is
    told: a place when one is free, else the back of the waitlist."""

    status: BookingStatus
    outcome: Outcome
    position: int | None


def _place(source: Stage, trigger: Trigger, snapshot: Snapshot) -> _Placed:
    free = snapshot.places_left > 0
    row = lifecycle.step(source, trigger, Party.ORGANISER, When.PLACE_FREE if free else When.FULL)
    assert row.target is not None and row.notice is not None
    position = None if free else snapshot.waitlist_length + 1
    return _Placed(lifecycle.status_of(row.target), row.notice, position)


def _stage(booking: BookingView) -> Stage:
    return lifecycle.stage(booking.status, booking.offer_expires_at)


def plan_approve(booking: BookingView, snapshot: Snapshot) -> Planned | str:
    if not lifecycle.allows(_stage(booking), Trigger.APPROVE):
        return f"{booking.ref} is {booking.status.value}, not held for review"
    placed = _place(_stage(booking), Trigger.APPROVE, snapshot)
    after = replace(booking, status=placed.status, waitlist_position=placed.position)
    return Planned(
        Decision(
            placed.outcome,
            (f"approved by the organiser: {placed.status.value}",),
            changes=(StatusChange(booking.ref, placed.status, cause=Trigger.APPROVE),),
            notices=(Notice(placed.outcome, after, in_reply=False, acted_by=Actor.ORGANISER),),
        ),
        f"{placed.status.value} ({_who(booking)})",
    )


_ENDING = {
    Verb.DECLINE: (Trigger.DECLINE, Party.ORGANISER),
    Verb.CANCEL: (Trigger.ORGANISER_CANCEL, Party.ORGANISER),
}


def plan_end(
    booking: BookingView,
    snapshot: Snapshot,
    verb: Verb,
    policy: Policy,
    now: datetime,
    *,
    erasing: bool = False,
) -> Planned | str:
    """DECLINE or CANCEL (or, `erasing`, the cancellation `mailbot forget` starts with): the
    booking ends, and a place it held passes to the waitlist."""
    trigger, party = (Trigger.ERASE, Party.ADMINISTRATOR) if erasing else _ENDING[verb]
    if not lifecycle.allows(_stage(booking), trigger):
        return f"{booking.ref} is already {booking.status.value}"
    row = lifecycle.step(_stage(booking), trigger, party)
    if row.target is Stage.ERASED:
        return f"{booking.ref} is already {booking.status.value}"  # nothing left to end
    assert row.target is not None
    status = lifecycle.status_of(row.target)
    ended = replace(booking, status=status, waitlist_position=None)
    changes = [StatusChange(booking.ref, status, cause=trigger)]
    # The holder is told what the table says; someone being erased, nothing.
    notices: list[Notice] = []
    if row.notice is not None:
        notices.append(Notice(row.notice, ended, in_reply=False, acted_by=Actor.ORGANISER))
    more_changes, more_notices, passed = _told(release_place(booking, snapshot, policy, now))
    changes += more_changes
    notices += more_notices
    line = "; ".join([f"{status.value} ({_who(booking)})", *passed])
    return Planned(
        Decision(
            row.notice or Outcome.CANCELLED,
            (f"{verb.value.lower()} by the organiser",),
            changes=tuple(changes),
            notices=tuple(notices),
        ),
        line,
    )


def plan_add(command: Command, snapshot: Snapshot, ref: str) -> Planned | str:
    assert command.email is not None  # the parser guarantees it for ADD
    active = next((b for b in snapshot.senders_bookings if b.status in ACTIVE_STATUSES), None)
    if active is not None:
        return f"{command.email} already has booking {active.ref} ({active.status.value})"
    # "ADD sam.hale@kent.police.uk DS Sam Hale" is read like an officer's own From line, so
    # the list shows the rank, name and force in their columns.
    person = extract_sender(Address(name=command.name or "", email=command.email), "")
    placed = _place(Stage.NONE, Trigger.ADD, snapshot)
    booking = new_booking(ref, snapshot, person, placed.status, placed.position)
    return Planned(
        Decision(
            placed.outcome,
            ("added by the organiser",),
            new_bookings=(booking,),
            notices=(Notice(placed.outcome, booking, in_reply=False, acted_by=Actor.ORGANISER),),
        ),
        f"{ref} {placed.status.value} ({_who(booking)})",
    )


def plan_capacity(snapshot: Snapshot, places: int, policy: Policy, now: datetime) -> Planned:
    taken = snapshot.confirmed_count + snapshot.offers_open  # an open offer holds its place
    freed = places - taken
    changes, notices, passed = _told(
        pass_place(snapshot, policy, now, places=freed, cause=Trigger.CAPACITY)
    )
    line = f"{snapshot.event.slug} now has {places} places ({taken} taken)"
    if passed:
        line = "; ".join([line, *passed])
    elif freed < 0:
        line += "; nobody loses a place, and nobody new is confirmed until enough cancel"
    return Planned(
        Decision(
            Outcome.INFO,
            (f"capacity set to {places} by the organiser",),
            changes=tuple(changes),
            notices=tuple(notices),
            capacities=((snapshot.event.slug, places),),
        ),
        line,
    )


def plan_move(
    booking: BookingView, source: Snapshot, target: Snapshot, policy: Policy, now: datetime
) -> Planned | str:
    if not lifecycle.allows(_stage(booking), Trigger.MOVE):
        return f"{booking.ref} is {booking.status.value}, nothing to move"
    if booking.event_slug == target.event.slug:
        return f"{booking.ref} is already for {target.event.slug}"
    placed = _place(_stage(booking), Trigger.MOVE, target)
    moved = replace(
        booking,
        event_slug=target.event.slug,
        status=placed.status,
        waitlist_position=placed.position,
        offer_expires_at=None,
    )
    changes = [StatusChange(booking.ref, placed.status, cause=Trigger.MOVE)]
    notices = [Notice(placed.outcome, moved, in_reply=False, acted_by=Actor.ORGANISER)]
    more_changes, more_notices, passed = _told(release_place(booking, source, policy, now))
    changes += more_changes
    notices += more_notices
    return Planned(
        Decision(
            placed.outcome,
            (f"moved by the organiser to {target.event.slug}",),
            changes=tuple(changes),
            notices=tuple(notices),
            moves=((booking.ref, target.event.slug),),
        ),
        "; ".join([f"{target.event.slug}: {placed.status.value} ({_who(booking)})", *passed]),
    )


def which_event(command: Command, by_slug: dict[str, EventInfo]) -> EventInfo | str:
    """The event a command names, the only one there is, or why it is not clear which."""
    if command.event is None:
        if len(by_slug) == 1:
            return next(iter(by_slug.values()))
        return f"say which event: {', '.join(by_slug)}"
    found = by_slug.get(command.event)
    return found if found is not None else f"no event {command.event!r} ({', '.join(by_slug)})"
