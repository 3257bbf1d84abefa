"""The booking rules: one request and the current state in, one Decision out. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from mailbot.domain import (
    ACTIVE_STATUSES,
    BookingStatus,
    BookingView,
    Decision,
    Intent,
    Notice,
    Outcome,
    Policy,
    Request,
    Snapshot,
    StatusChange,
)


def domain_is_eligible(domain: str, eligible_domains: tuple[str, ...]) -> bool:
    """True when `domain` is one of the eligible domains or a sub-domain of one.

    Matching is on whole labels after IDNA normalisation, so neither "evilpolice.uk"
    nor "police.uk.example.com" passes for "police.uk".
    """
    normalised = _ascii_domain(domain)
    if normalised is None:
        return False
    for allowed in eligible_domains:
        allowed_ascii = _ascii_domain(allowed)
        if allowed_ascii and (
            normalised == allowed_ascii or normalised.endswith("." + allowed_ascii)
        ):
            return True
    return False


def _ascii_domain(domain: str) -> str | None:
    cleaned = domain.strip().rstrip(".").lower()
    if not cleaned:
        return None
    try:
        ascii_form = cleaned.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    # A look-alike written in another script survives IDNA as an "xn--" label and so
    # can never equal an ASCII domain; anything else non-ASCII is refused outright.
    return ascii_form if ascii_form.isascii() else None


def decide(
    request: Request, snapshot: Snapshot, policy: Policy, now: datetime, new_ref: str
) -> Decision:
    """Decide one request. A refusal is an outcome, never an exception.

    `new_ref` is an unused booking reference, used only if a booking is created; `now`
    is passed in so the rules need no clock.
    """
    del now  # booking windows (a later rule) will use it; the signature is fixed now
    if request.intent is Intent.CANCEL:
        return _cancel(request, snapshot)
    return _book(request, snapshot, policy, new_ref)


def _places_reason(snapshot: Snapshot, taken_now: int = 0) -> str:
    left = snapshot.places_left - taken_now
    return f"{left} of {snapshot.event.capacity} places left"


def _active_booking(snapshot: Snapshot) -> BookingView | None:
    """The sender's live booking; the store has filled in its waitlist position."""
    for booking in snapshot.senders_bookings:
        if booking.status in ACTIVE_STATUSES:
            return booking
    return None


def _book(request: Request, snapshot: Snapshot, policy: Policy, new_ref: str) -> Decision:
    sender = request.sender
    domain = sender.email.rpartition("@")[2]
    existing = _active_booking(snapshot)
    if existing is not None:
        return Decision(
            outcome=Outcome.DUPLICATE,
            reasons=(f"already booked as {existing.ref} ({existing.status.value})",),
            notices=(Notice(Outcome.DUPLICATE, existing),),
        )

    def new_booking(status: BookingStatus, position: int | None = None) -> BookingView:
        return BookingView(
            ref=new_ref,
            event_slug=snapshot.event.slug,
            email=sender.email,
            status=status,
            name=sender.name,
            rank=sender.rank,
            force=sender.force,
            waitlist_position=position,
        )

    if not domain_is_eligible(domain, policy.eligible_domains):
        allowed = ", ".join(policy.eligible_domains)
        reasons: tuple[str, ...] = (f"{domain} is not an eligible domain ({allowed})",)
        earlier_refusal = next(
            (b for b in snapshot.senders_bookings if b.status is BookingStatus.DECLINED), None
        )
        if earlier_refusal is not None:
            # Asking again changes nothing: restate the refusal without a second record.
            return Decision(
                Outcome.DECLINED, reasons, notices=(Notice(Outcome.DECLINED, earlier_refusal),)
            )
        booking = new_booking(BookingStatus.DECLINED)
        return Decision(
            Outcome.DECLINED,
            reasons,
            new_booking=booking,
            notices=(Notice(Outcome.DECLINED, booking),),
        )

    reasons = (f"{domain} is eligible", request.authenticity.summary)
    if policy.require_authentication and not request.authenticity.verified:
        booking = new_booking(BookingStatus.HELD)
        return Decision(
            Outcome.HELD,
            (*reasons, "held for the organiser: sender not authenticated"),
            new_booking=booking,
            notices=(Notice(Outcome.HELD, booking),),
        )
    if snapshot.places_left > 0:
        booking = new_booking(BookingStatus.CONFIRMED)
        return Decision(
            Outcome.CONFIRMED,
            (*reasons, _places_reason(snapshot, taken_now=1)),
            new_booking=booking,
            notices=(Notice(Outcome.CONFIRMED, booking),),
        )
    position = snapshot.waitlist_length + 1
    booking = new_booking(BookingStatus.WAITLISTED, position)
    return Decision(
        Outcome.WAITLISTED,
        (*reasons, f"full ({snapshot.event.capacity} places), waitlist position {position}"),
        new_booking=booking,
        notices=(Notice(Outcome.WAITLISTED, booking),),
    )


def _cancel(request: Request, snapshot: Snapshot) -> Decision:
    existing = _active_booking(snapshot)
    if existing is None:
        return Decision(
            Outcome.INFO,
            ("cancellation asked, but the sender holds no booking",),
            notices=(
                Notice(Outcome.INFO, None, template="no-booking", recipient=request.sender.email),
            ),
        )
    cancelled = replace(existing, status=BookingStatus.CANCELLED, waitlist_position=None)
    changes = [StatusChange(existing.ref, BookingStatus.CANCELLED)]
    notices = [Notice(Outcome.CANCELLED, cancelled)]
    reasons = [f"{existing.ref} cancelled by its holder (was {existing.status.value})"]
    if existing.status is BookingStatus.CONFIRMED:
        promoted = next((b for b in snapshot.waitlist_head if b.ref != existing.ref), None)
        if promoted is not None:
            promoted_view = replace(
                promoted, status=BookingStatus.CONFIRMED, waitlist_position=None
            )
            changes.append(StatusChange(promoted.ref, BookingStatus.CONFIRMED))
            notices.append(Notice(Outcome.PROMOTED, promoted_view, in_reply=False))
            reasons.append(f"{promoted.ref} promoted from the waitlist")
    return Decision(
        Outcome.CANCELLED, tuple(reasons), changes=tuple(changes), notices=tuple(notices)
    )
