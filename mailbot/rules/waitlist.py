"""What happens to the waitlist when a place comes free: passed on at once, or offered for
a while; an offer nobody takes lapses. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from mailbot.domain import (
    Actor,
    BookingStatus,
    BookingView,
    Decision,
    Notice,
    Outcome,
    Policy,
    Snapshot,
    StatusChange,
    Trigger,
)
from mailbot.rules import lifecycle
from mailbot.rules.lifecycle import Party, Stage, When


def pass_place(
    snapshot: Snapshot,
    policy: Policy,
    now: datetime,
    skip: str | None = None,
    *,
    places: int = 1,
    cause: Trigger = Trigger.PLACE_FREED,
) -> tuple[list[StatusChange], list[Notice], list[str]]:
    """Freed places go to the first on the waitlist, one each: confirmed at once, or offered
    for `offer_hours` when the organiser wants people to accept first."""
    following = [b for b in snapshot.waitlist_head if b.ref != skip][: max(0, places)]
    expires = now + timedelta(hours=policy.offer_hours) if policy.offer_hours else None
    when = When.OFFERS_ON if expires is not None else When.OFFERS_OFF
    party = Party.ORGANISER if cause is Trigger.CAPACITY else Party.SYSTEM
    row = lifecycle.step(Stage.WAITLISTED, cause, party, when)
    assert row.target is not None and row.notice is not None
    status = lifecycle.status_of(row.target)
    changes: list[StatusChange] = []
    notices: list[Notice] = []
    reasons: list[str] = []
    for booking in following:
        if expires is not None:
            after = replace(booking, offer_expires_at=expires)
            reasons.append(f"{booking.ref} offered the place until {expires.isoformat()}")
        else:
            after = replace(booking, status=status, waitlist_position=None)
            reasons.append(f"{booking.ref} promoted from the waitlist")
        changes.append(StatusChange(booking.ref, status, offer_expires_at=expires, cause=cause))
        notices.append(
            Notice(row.notice, after, in_reply=False, template=row.template, acted_by=Actor.SYSTEM)
        )
    return changes, notices, reasons


def release_place(
    booking: BookingView, snapshot: Snapshot, policy: Policy, now: datetime
) -> tuple[list[StatusChange], list[Notice], list[str]]:
    """What `booking` ending (cancelled, declined, moved away) does for the waitlist.

    A confirmed booking holds a place, and so does an open offer (a newcomer may not take
    it); either passes on by `pass_place`. Any other booking frees nothing. The holder's own
    cancellation and the organiser's commands both ask here, so neither can leave a place
    standing empty while someone waits for it.
    """
    if booking.status is not BookingStatus.CONFIRMED and not booking.has_offer(now):
        return [], [], []
    return pass_place(snapshot, policy, now, skip=booking.ref, places=_freed(snapshot))


def _freed(snapshot: Snapshot) -> int:
    """The places one booking ending frees: none while the organiser has lowered capacity
    below the places still held after it."""
    held_after = snapshot.confirmed_count + snapshot.offers_open - 1
    return 1 if held_after < snapshot.event.capacity else 0


def expire_offer(
    booking: BookingView, snapshot: Snapshot, policy: Policy, now: datetime
) -> Decision:
    """An offer nobody took lapses: that booking leaves the waitlist, the place moves on."""
    row = lifecycle.step(Stage.OFFERED, Trigger.OFFER_LAPSED, Party.SYSTEM)
    assert row.target is not None and row.notice is not None
    status = lifecycle.status_of(row.target)
    lapsed = replace(booking, status=status, waitlist_position=None)
    changes, notices, reasons = pass_place(
        snapshot, policy, now, skip=booking.ref, places=_freed(snapshot)
    )
    return Decision(
        Outcome.CANCELLED,
        (f"{booking.ref}: offer not taken up in time", *reasons),
        changes=(StatusChange(booking.ref, status, cause=Trigger.OFFER_LAPSED), *changes),
        notices=(
            Notice(
                row.notice, lapsed, in_reply=False, template=row.template, acted_by=Actor.SYSTEM
            ),
            *notices,
        ),
    )
