"""The booking rules: one request and the current state in, one Decision out. Pure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

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
    SenderDetails,
    Snapshot,
    StatusChange,
)

_STATUS_OUTCOME = {
    BookingStatus.CONFIRMED: Outcome.CONFIRMED,
    BookingStatus.WAITLISTED: Outcome.WAITLISTED,
    BookingStatus.HELD: Outcome.HELD,
    BookingStatus.DECLINED: Outcome.DECLINED,
}


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
        existing = _active(snapshot.senders_bookings)
        if existing is not None:
            return _amend(existing, request.needs)
    closed = _window_closed(snapshot, now)
    if closed is not None:
        return Decision(
            Outcome.INFO,
            (closed,),
            notices=(
                Notice(
                    Outcome.INFO,
                    _active(snapshot.senders_bookings),
                    template="not-open" if "not open" in closed else "closed",
                    recipient=request.sender.email,
                ),
            ),
        )
    return _book(request, snapshot, policy, iter(refs), now)


def _window_closed(snapshot: Snapshot, now: datetime) -> str | None:
    """Why bookings are not being taken now, or None when they are."""
    event = snapshot.event
    if event.opens_at is not None and now < event.opens_at:
        return f"bookings not open until {event.opens_at.isoformat()}"
    closes_at = event.closes_at or event.starts_at
    if now >= closes_at:
        return f"bookings closed at {closes_at.isoformat()}"
    return None


def _active(bookings: tuple[BookingView, ...]) -> BookingView | None:
    """The live booking among someone's bookings; the store has filled in positions."""
    return next((b for b in bookings if b.status in ACTIVE_STATUSES), None)


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


@dataclass
class _Places:
    """Places and waitlist as they stand while one decision books several people."""

    left: int
    waiting: int
    per_force: int | None = None  # the event's cap on confirmed places for one force
    force_counts: dict[str, int] = field(default_factory=dict)

    def take(self, force: str | None = None) -> tuple[BookingStatus, int | None]:
        capped = (
            self.per_force is not None
            and force is not None
            and self.force_counts.get(force, 0) >= self.per_force
        )
        if self.left > 0 and not capped:
            self.left -= 1
            if force is not None:
                self.force_counts[force] = self.force_counts.get(force, 0) + 1
            return BookingStatus.CONFIRMED, None
        self.waiting += 1
        return BookingStatus.WAITLISTED, self.waiting


def _missing_details(sender: SenderDetails, policy: Policy) -> tuple[str, ...]:
    return tuple(name for name in policy.required_details if getattr(sender, name, None) is None)


def _book(
    request: Request, snapshot: Snapshot, policy: Policy, refs: Iterator[str], now: datetime
) -> Decision:
    sender = request.sender
    places = _Places(
        snapshot.places_left,
        snapshot.waitlist_length,
        snapshot.event.places_per_force,
        dict(snapshot.force_counts),
    )
    trusted = request.authenticity.verified or not policy.require_authentication
    # The sender's own place is taken before any colleague's.
    own = (
        _own_booking(request, snapshot, policy, next(refs), places=places, trusted=trusted, now=now)
        if request.include_sender
        else None
    )
    colleagues, skipped, reasons = _colleagues(request, snapshot, policy)
    limit = snapshot.event.bookings_per_sender
    if limit is not None:
        allowed = max(0, limit - (1 if request.include_sender else 0))
        over = colleagues[allowed:]
        colleagues = colleagues[:allowed]
        extra = tuple(f"{c.email}: at most {limit} places per request" for c in over)
        skipped = (*skipped, *extra)
        reasons += [f"colleague {line}" for line in extra]
    related: list[BookingView] = []
    colleague_notices: list[Notice] = []
    for colleague in colleagues:
        status, position = places.take(colleague.force) if trusted else (BookingStatus.HELD, None)
        booking = new_booking(next(refs), snapshot, colleague, status, position)
        related.append(booking)
        colleague_notices.append(Notice(_STATUS_OUTCOME[status], booking, in_reply=False))

    if own is None:
        reasons.append(f"booked on behalf of colleagues by {sender.email}")
        reply = Notice(
            Outcome.INFO,
            None,
            template="colleagues-booked",
            recipient=sender.email,
            related=tuple(related),
            skipped=skipped,
        )
        return Decision(
            Outcome.INFO,
            tuple(reasons),
            new_bookings=tuple(related),
            notices=(reply, *colleague_notices),
            question=request.question,
        )

    created = (own.booking,) if own.booking is not None and own.created else ()
    needs = ((created[0].ref, request.needs),) if created and request.needs else ()
    return Decision(
        own.outcome,
        (*own.reasons, *reasons),
        changes=own.changes,
        new_bookings=(*created, *related),
        notices=(replace(own.notice, related=tuple(related), skipped=skipped), *colleague_notices),
        needs=needs,
        question=request.question,
    )


@dataclass(frozen=True)
class _Own:
    outcome: Outcome
    reasons: tuple[str, ...]
    notice: Notice
    booking: BookingView | None = None
    created: bool = False
    changes: tuple[StatusChange, ...] = ()


def new_booking(
    ref: str,
    snapshot: Snapshot,
    person: SenderDetails,
    status: BookingStatus,
    position: int | None = None,
) -> BookingView:
    """The booking `person` gets for the snapshot's event (by mail or the organiser's ADD)."""
    return BookingView(
        ref=ref,
        event_slug=snapshot.event.slug,
        email=person.email,
        status=status,
        name=person.name,
        rank=person.rank,
        force=person.force,
        waitlist_position=position,
        unit=person.unit,
    )


def _own_booking(
    request: Request,
    snapshot: Snapshot,
    policy: Policy,
    ref: str,
    *,
    places: _Places,
    trusted: bool,
    now: datetime,
) -> _Own:
    sender = request.sender
    domain = sender.email.rpartition("@")[2]
    existing = _active(snapshot.senders_bookings)
    if existing is not None and existing.has_offer(now):
        taken = replace(
            existing, status=BookingStatus.CONFIRMED, waitlist_position=None, offer_expires_at=None
        )
        return _Own(
            Outcome.CONFIRMED,
            (f"{existing.ref} accepted the place offered",),
            Notice(Outcome.CONFIRMED, taken),
            taken,
            changes=(StatusChange(existing.ref, BookingStatus.CONFIRMED),),
        )
    if existing is not None:
        return _Own(
            Outcome.DUPLICATE,
            (f"already booked as {existing.ref} ({existing.status.value})",),
            Notice(Outcome.DUPLICATE, existing),
            existing,
        )

    if not domain_is_eligible(domain, policy.eligible_domains) and policy.review_unknown:
        held = new_booking(ref, snapshot, sender, BookingStatus.HELD)
        return _Own(
            Outcome.HELD,
            (f"{domain} is not a listed domain: held for the organiser to review",),
            Notice(Outcome.HELD, held),
            held,
            True,
        )
    if not domain_is_eligible(domain, policy.eligible_domains):
        allowed = ", ".join(policy.eligible_domains)
        refusal = (f"{domain} is not an eligible domain ({allowed})",)
        earlier = next(
            (b for b in snapshot.senders_bookings if b.status is BookingStatus.DECLINED), None
        )
        if earlier is not None:
            # Asking again changes nothing: restate the refusal without a second record.
            return _Own(Outcome.DECLINED, refusal, Notice(Outcome.DECLINED, earlier), earlier)
        declined = new_booking(ref, snapshot, sender, BookingStatus.DECLINED)
        return _Own(Outcome.DECLINED, refusal, Notice(Outcome.DECLINED, declined), declined, True)

    missing = _missing_details(sender, policy)
    if missing and not request.details_already_asked:
        return _Own(
            Outcome.DETAILS_NEEDED,
            (f"missing {', '.join(missing)}",),
            Notice(
                Outcome.DETAILS_NEEDED,
                None,
                template="details-needed",
                recipient=sender.email,
                missing=missing,
            ),
        )

    reasons = (f"{domain} is eligible", request.authenticity.summary)
    if not trusted:
        held = new_booking(ref, snapshot, sender, BookingStatus.HELD)
        return _Own(
            Outcome.HELD,
            (*reasons, "held for the organiser: sender not authenticated"),
            Notice(Outcome.HELD, held),
            held,
            True,
        )
    status, position = places.take(sender.force)
    booking = new_booking(ref, snapshot, sender, status, position)
    if status is BookingStatus.CONFIRMED:
        detail = f"{places.left} of {snapshot.event.capacity} places left"
    else:
        detail = f"full ({snapshot.event.capacity} places), waitlist position {position}"
    return _Own(
        _STATUS_OUTCOME[status],
        (*reasons, detail),
        Notice(_STATUS_OUTCOME[status], booking),
        booking,
        True,
    )


def _colleagues(
    request: Request, snapshot: Snapshot, policy: Policy
) -> tuple[list[SenderDetails], tuple[str, ...], list[str]]:
    """The colleagues to book, and those set aside with why (for the sender's reply)."""
    to_book: list[SenderDetails] = []
    skipped: list[str] = []
    reasons: list[str] = []
    seen = {request.sender.email}
    for colleague in request.colleagues:
        if colleague.email in seen:
            continue
        seen.add(colleague.email)
        domain = colleague.email.rpartition("@")[2]
        existing = _active(snapshot.colleagues_bookings.get(colleague.email, ()))
        if existing is not None:
            skipped.append(f"{colleague.email}: already booked ({existing.status.value})")
        elif not domain_is_eligible(domain, policy.eligible_domains):
            skipped.append(f"{colleague.email}: places are reserved for police addresses")
        else:
            to_book.append(colleague)
            continue
        reasons.append(f"colleague {skipped[-1]}")
    return to_book, tuple(skipped), reasons


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
            notices.append(Notice(Outcome.PROMOTED, offered, in_reply=False, template="offer"))
            reasons.append(f"{booking.ref} offered the place until {expires.isoformat()}")
            continue
        promoted = replace(booking, status=BookingStatus.CONFIRMED, waitlist_position=None)
        changes.append(StatusChange(booking.ref, BookingStatus.CONFIRMED))
        notices.append(Notice(Outcome.PROMOTED, promoted, in_reply=False))
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
        notices=(Notice(Outcome.INFO, lapsed, in_reply=False, template="offer-expired"), *notices),
    )


def _cancel(request: Request, snapshot: Snapshot, policy: Policy, now: datetime) -> Decision:
    existing = _active(snapshot.senders_bookings)
    if existing is None:
        return Decision(
            Outcome.INFO,
            ("cancellation asked, but the sender holds no booking",),
            notices=(
                Notice(Outcome.INFO, None, template="no-booking", recipient=request.sender.email),
            ),
        )
    cancelled = replace(
        existing, status=BookingStatus.CANCELLED, waitlist_position=None, offer_expires_at=None
    )
    changes = [StatusChange(existing.ref, BookingStatus.CANCELLED)]
    notices = [Notice(Outcome.CANCELLED, cancelled)]
    reasons = [f"{existing.ref} cancelled by its holder (was {existing.status.value})"]
    more_changes, more_notices, more_reasons = release_place(existing, snapshot, policy, now)
    changes += more_changes
    notices += more_notices
    reasons += more_reasons
    return Decision(
        Outcome.CANCELLED, tuple(reasons), changes=tuple(changes), notices=tuple(notices)
    )
