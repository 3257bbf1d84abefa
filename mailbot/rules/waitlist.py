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
)


def pass_place(
    snapshot: Snapshot,
    policy: Policy,
    now: datetime,
    skip: str | None = None,
    *,
    places: int = 1,
) -> tuple[list[StatusChange], list[Notice], list[str]]:
    """Freed places go to the first on the waitlist, one each: confirmed at once, or offered
    for `offer_hours` when the organiser wants people to accept first."""
    following = [b for b in snapshot.waitlist_head if b.ref != skip][: max(0, places)]
    expires = now + timedelta(hours=policy.offer_hours) if policy.offer_hours else None
    changes: list[StatusChange] = []
    notices: list[Notice] = []
    reasons: list[str] = []
    for booking in following:
        if expires is not None:
            offered = replace(booking, offer_expires_at=expires)
            changes.append(
                StatusChange(booking.ref, BookingStatus.WAITLISTED, offer_expires_at=expires)
            )
            notices.append(
                Notice(
                    Outcome.PROMOTED,
                    offered,
                    in_reply=False,
                    template="offer",
                    acted_by=Actor.SYSTEM,
                )
            )
            reasons.append(f"{booking.ref} offered the place until {expires.isoformat()}")
            continue
        promoted = replace(booking, status=BookingStatus.CONFIRMED, waitlist_position=None)
        changes.append(StatusChange(booking.ref, BookingStatus.CONFIRMED))
        notices.append(Notice(Outcome.PROMOTED, promoted, in_reply=False, acted_by=Actor.SYSTEM))
        reasons.append(f"{booking.ref} promoted from the waitlist")
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
    return pass_place(snapshot, policy, now, skip=booking.ref)


def expire_offer(
    booking: BookingView, snapshot: Snapshot, policy: Policy, now: datetime
) -> Decision:
    """An offer nobody took lapses: that booking leaves the waitlist, the place moves on."""
    lapsed = replace(booking, status=BookingStatus.CANCELLED, waitlist_position=None)
    changes, notices, reasons = pass_place(snapshot, policy, now, skip=booking.ref)
    return Decision(
        Outcome.CANCELLED,
        (f"{booking.ref}: offer not taken up in time", *reasons),
        changes=(StatusChange(booking.ref, BookingStatus.CANCELLED), *changes),
        notices=(
            Notice(
                Outcome.INFO,
                lapsed,
                in_reply=False,
                template="offer-expired",
                acted_by=Actor.SYSTEM,
            ),
            *notices,
        ),
    )
