"""The booking rules: one request and the current state in, one Decision out. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from mailbot.domain import (
    BookingView,
    Decision,
    Intent,
    Notice,
    Outcome,
    Policy,
    Request,
    Snapshot,
    StatusChange,
    Trigger,
)
from mailbot.rules import lifecycle
from mailbot.rules.booking import active_booking, book
from mailbot.rules.lifecycle import Party, Stage, When
from mailbot.rules.waitlist import release_place


def decide(
    request: Request,
    snapshot: Snapshot,
    policy: Policy,
    now: datetime,
    refs: list[str] | tuple[str, ...],
) -> Decision:
    """Decide one request. A refusal is an outcome, never an exception.

    `refs` are unused booking references, one for each booking the request could create
    (the sender and each colleague); `now` is passed in so the rules need no clock.
    """
    if request.intent is Intent.CANCEL:
        return _cancel(request, snapshot, policy, now)
    if request.intent is Intent.QUESTION and request.question:
        return _question(request)
    if request.intent is Intent.AMEND and request.needs:
        existing = active_booking(snapshot.senders_bookings)
        if existing is not None:
            return _amend(existing, request.needs)
    if snapshot.event.cancelled:
        return _called_off(request, snapshot)
    closed = _window_closed(snapshot, now)
    if closed is not None:
        return Decision(
            Outcome.INFO,
            (closed,),
            notices=(
                Notice(
                    Outcome.INFO,
                    active_booking(snapshot.senders_bookings),
                    template="not-open" if "not open" in closed else "closed",
                    recipient=request.sender.email,
                ),
            ),
        )
    return book(request, snapshot, policy, iter(refs), now)


def _called_off(request: Request, snapshot: Snapshot) -> Decision:
    existing = active_booking(snapshot.senders_bookings)
    source = lifecycle.stage(existing.status) if existing else Stage.NONE
    row = lifecycle.step(source, Trigger.REQUEST, Party.ANYONE, When.CALLED_OFF)
    assert row.notice is not None
    return Decision(
        row.notice,
        (f"{snapshot.event.slug} is called off",),
        notices=(
            Notice(row.notice, existing, template=row.template, recipient=request.sender.email),
        ),
    )


def _window_closed(snapshot: Snapshot, now: datetime) -> str | None:
    """Why bookings are not being taken now, or None when they are."""
    event = snapshot.event
    if event.opens_at is not None and now < event.opens_at:
        return f"bookings not open until {event.opens_at.isoformat()}"
    closes_at = event.closes_at or event.starts_at
    if now >= closes_at:
        return f"bookings closed at {closes_at.isoformat()}"
    return None


def _question(request: Request) -> Decision:
    return Decision(
        Outcome.INFO,
        ("a question for the organiser",),
        notices=(Notice(Outcome.INFO, None, template="question", recipient=request.sender.email),),
        question=request.question,
    )


def _amend(existing: BookingView, needs: str) -> Decision:
    return Decision(
        Outcome.INFO,
        (f"needs noted on {existing.ref}",),
        notices=(Notice(Outcome.INFO, existing, template="needs-noted"),),
        needs=((existing.ref, needs),),
    )


def _cancel(request: Request, snapshot: Snapshot, policy: Policy, now: datetime) -> Decision:
    existing = active_booking(snapshot.senders_bookings)
    if existing is None:
        row = lifecycle.step(Stage.NONE, Trigger.CANCEL, Party.ANYONE)
        assert row.notice is not None
        return Decision(
            row.notice,
            ("cancellation asked, but the sender holds no booking",),
            notices=(
                Notice(row.notice, None, template=row.template, recipient=request.sender.email),
            ),
        )
    row = lifecycle.step(
        lifecycle.stage(existing.status, existing.offer_expires_at), Trigger.CANCEL, Party.ANYONE
    )
    assert row.target is not None and row.notice is not None
    status = lifecycle.status_of(row.target)
    cancelled = replace(existing, status=status, waitlist_position=None, offer_expires_at=None)
    changes = [StatusChange(existing.ref, status, cause=Trigger.CANCEL)]
    notices = [Notice(row.notice, cancelled)]
    reasons = [f"{existing.ref} cancelled by its holder (was {existing.status.value})"]
    more_changes, more_notices, more_reasons = release_place(existing, snapshot, policy, now)
    changes += more_changes
    notices += more_notices
    reasons += more_reasons
    return Decision(row.notice, tuple(reasons), changes=tuple(changes), notices=tuple(notices))
