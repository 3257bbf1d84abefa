"""The organiser's commands, each planned by a pure rule from the state it finds: what it
will change and whom it will tell, or why it cannot be done. pipeline/organiser_commands.py
reads that state and applies the plans."""

from __future__ import annotations

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
)
from mailbot.inbound.classify.sender import extract_sender
from mailbot.inbound.commands import Command, Verb
from mailbot.rules.booking import new_booking
from mailbot.rules.waitlist import pass_place, release_place

_OUTCOME = {
    BookingStatus.CONFIRMED: Outcome.CONFIRMED,
    BookingStatus.WAITLISTED: Outcome.WAITLISTED,
}


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
    summary: tuple[str, ...]  # one line per command, or per problem when nothing was done
    notices: tuple[Notice, ...]  # to attendees affected
    attachments: tuple[Attachment, ...]
    decisions: tuple[Decision, ...]


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


def _next_place(snapshot: Snapshot) -> tuple[BookingStatus, int | None]:
    """What someone the organiser books gets now: a place, or the end of the waitlist."""
    if snapshot.places_left > 0:
        return BookingStatus.CONFIRMED, None
    return BookingStatus.WAITLISTED, snapshot.waitlist_length + 1


def plan_approve(booking: BookingView, snapshot: Snapshot) -> Planned | str:
    if booking.status is not BookingStatus.HELD:
        return f"{booking.ref} is {booking.status.value}, not held for review"
    status, position = _next_place(snapshot)
    after = replace(booking, status=status, waitlist_position=position)
    return Planned(
        Decision(
            _OUTCOME[status],
            (f"approved by the organiser: {status.value}",),
            changes=(StatusChange(booking.ref, status),),
            notices=(Notice(_OUTCOME[status], after, in_reply=False, acted_by=Actor.ORGANISER),),
        ),
        f"{status.value} ({_who(booking)})",
    )


def plan_end(
    booking: BookingView, snapshot: Snapshot, verb: Verb, policy: Policy, now: datetime
) -> Planned | str:
    """DECLINE or CANCEL: the booking ends, and a place it held passes to the waitlist."""
    if booking.status not in ACTIVE_STATUSES:
        return f"{booking.ref} is already {booking.status.value}"
    status = BookingStatus.DECLINED if verb is Verb.DECLINE else BookingStatus.CANCELLED
    outcome = Outcome.DECLINED if verb is Verb.DECLINE else Outcome.CANCELLED
    ended = replace(booking, status=status, waitlist_position=None)
    changes = [StatusChange(booking.ref, status)]
    notices = [Notice(outcome, ended, in_reply=False, acted_by=Actor.ORGANISER)]
    more_changes, more_notices, passed = _told(release_place(booking, snapshot, policy, now))
    changes += more_changes
    notices += more_notices
    line = "; ".join([f"{status.value} ({_who(booking)})", *passed])
    return Planned(
        Decision(
            outcome,
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
    status, position = _next_place(snapshot)
    booking = new_booking(ref, snapshot, person, status, position)
    return Planned(
        Decision(
            _OUTCOME[status],
            ("added by the organiser",),
            new_bookings=(booking,),
            notices=(Notice(_OUTCOME[status], booking, in_reply=False, acted_by=Actor.ORGANISER),),
        ),
        f"{ref} {status.value} ({_who(booking)})",
    )


def plan_capacity(snapshot: Snapshot, places: int, policy: Policy, now: datetime) -> Planned:
    taken = snapshot.confirmed_count + snapshot.offers_open  # an open offer holds its place
    freed = places - taken
    changes, notices, passed = _told(pass_place(snapshot, policy, now, places=freed))
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
    if booking.status not in ACTIVE_STATUSES:
        return f"{booking.ref} is {booking.status.value}, nothing to move"
    if booking.event_slug == target.event.slug:
        return f"{booking.ref} is already for {target.event.slug}"
    status, position = _next_place(target)
    moved = replace(
        booking, event_slug=target.event.slug, status=status, waitlist_position=position
    )
    changes = [StatusChange(booking.ref, status)]
    notices = [Notice(_OUTCOME[status], moved, in_reply=False, acted_by=Actor.ORGANISER)]
    more_changes, more_notices, passed = _told(release_place(booking, source, policy, now))
    changes += more_changes
    notices += more_notices
    return Planned(
        Decision(
            _OUTCOME[status],
            (f"moved by the organiser to {target.event.slug}",),
            changes=tuple(changes),
            notices=tuple(notices),
            moves=((booking.ref, target.event.slug),),
        ),
        "; ".join([f"{target.event.slug}: {status.value} ({_who(booking)})", *passed]),
    )


def which_event(command: Command, by_slug: dict[str, EventInfo]) -> EventInfo | str:
    """The event a command names, the only one there is, or why it is not clear which."""
    if command.event is None:
        if len(by_slug) == 1:
            return next(iter(by_slug.values()))
        return f"say which event: {', '.join(by_slug)}"
    found = by_slug.get(command.event)
    return found if found is not None else f"no event {command.event!r} ({', '.join(by_slug)})"
