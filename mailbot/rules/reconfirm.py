"""Reconfirmation: at `[booking] reconfirm` before the event each confirmed attendee is asked
to say they are still coming; a place nobody answered for within `reconfirm_hours` goes to
someone waiting, if anyone is. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from mailbot.domain import (
    Actor,
    Decision,
    EventInfo,
    Notice,
    Outcome,
    Policy,
    Snapshot,
    StatusChange,
    Trigger,
)
from mailbot.records import Reconfirmation
from mailbot.rules import lifecycle
from mailbot.rules.lifecycle import Party, Stage, When
from mailbot.rules.reminders import due_at
from mailbot.rules.waitlist import pass_place


def requests_due(event: EventInfo, offset: str, sent_at: datetime | None, now: datetime) -> bool:
    """Whether the event's requests go out now: once, from the offset until the start."""
    return sent_at is None and due_at(event.starts_at, offset) <= now < event.starts_at


def plan_requests(attendees: Sequence[Reconfirmation], hours: int) -> tuple[Notice, ...]:
    """One request to each attendee not yet asked; it says how long they have to answer."""
    row = lifecycle.step(Stage.CONFIRMED, Trigger.RECONFIRM_ASKED, Party.SYSTEM)
    assert row.notice is not None
    return tuple(
        Notice(
            row.notice,
            each.booking,
            in_reply=False,
            acted_by=Actor.SYSTEM,
            summary=(f"{hours} hours",),
        )
        for each in attendees
        if each.asked_at is None
    )


def unanswered(
    attendees: Sequence[Reconfirmation], hours: int, now: datetime
) -> list[Reconfirmation]:
    """Those asked `hours` ago or more who have not said yes (the digest names them)."""
    return [
        each
        for each in attendees
        if each.asked_at is not None
        and each.reconfirmed_at is None
        and now >= each.asked_at + timedelta(hours=hours)
    ]


def plan_releases(
    attendees: Sequence[Reconfirmation],
    snapshot: Snapshot,
    policy: Policy,
    hours: int,
    now: datetime,
) -> Decision | None:
    """The unanswered places, one for each person waiting (oldest bookings first), released
    and passed on; None when nobody is waiting or everyone answered, and while the organiser
    has lowered capacity below the places held (a release would pass nothing on)."""
    if now >= snapshot.event.starts_at:
        return None
    if snapshot.confirmed_count + snapshot.offers_open > snapshot.event.capacity:
        return None
    waiting = [b for b in snapshot.waitlist_head if b.offer_expires_at is None]
    lapsed = unanswered(attendees, hours, now)[: len(waiting)]
    if not lapsed:
        return None
    row = lifecycle.step(Stage.CONFIRMED, Trigger.RELEASED, Party.SYSTEM, When.SOMEONE_WAITING)
    assert row.target is not None and row.notice is not None
    status = lifecycle.status_of(row.target)
    changes = [StatusChange(e.booking.ref, status, cause=Trigger.RELEASED) for e in lapsed]
    notices = [
        Notice(row.notice, replace(e.booking, status=status), in_reply=False, acted_by=Actor.SYSTEM)
        for e in lapsed
    ]
    passed_changes, passed_notices, passed = pass_place(snapshot, policy, now, places=len(lapsed))
    return Decision(
        Outcome.RELEASED,
        (*(f"{e.booking.ref}: not reconfirmed in {hours} hours" for e in lapsed), *passed),
        changes=(*changes, *passed_changes),
        notices=(*notices, *passed_notices),
    )
