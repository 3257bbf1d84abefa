"""The rules for a booking request: the sender's own place and each colleague's, checked for
eligibility, missing details, authentication, places left and the event's caps. Pure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from mailbot.domain import (
    ACTIVE_STATUSES,
    Actor,
    BookingStatus,
    BookingView,
    Decision,
    Notice,
    Outcome,
    Policy,
    Request,
    SenderDetails,
    Snapshot,
    StatusChange,
    Trigger,
)
from mailbot.rules import lifecycle
from mailbot.rules.lifecycle import Party, Stage, When


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


def active_booking(bookings: tuple[BookingView, ...]) -> BookingView | None:
    """The live booking among someone's bookings; the store has filled in positions."""
    return next((b for b in bookings if b.status in ACTIVE_STATUSES), None)


@dataclass
class _Places:
    """Places and waitlist as they stand while one decision books several people."""

    left: int
    waiting: int
    per_force: int | None = None  # the event's cap on confirmed places for one force
    force_counts: dict[str, int] = field(default_factory=dict)

    def take(self, force: str | None = None) -> tuple[When, int | None]:
        """Take a place if one is free (within the force's cap), or join the waitlist."""
        capped = (
            self.per_force is not None
            and force is not None
            and self.force_counts.get(force, 0) >= self.per_force
        )
        if self.left > 0 and not capped:
            self.left -= 1
            if force is not None:
                self.force_counts[force] = self.force_counts.get(force, 0) + 1
            return When.PLACE_FREE, None
        self.waiting += 1
        return When.FULL, self.waiting


def _missing_details(sender: SenderDetails, policy: Policy) -> tuple[str, ...]:
    return tuple(name for name in policy.required_details if getattr(sender, name, None) is None)


def book(
    request: Request, snapshot: Snapshot, policy: Policy, refs: Iterator[str], now: datetime
) -> Decision:
    """Book the sender (unless only colleagues are asked for) and each colleague, drawing
    one unused reference from `refs` for each booking made."""
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
    colleagues, skipped, reasons = _colleagues(request, snapshot, policy, trusted=trusted)
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
        when, position = places.take(colleague.force)
        moved = _step(Stage.NONE, Trigger.COLLEAGUE_REQUEST, Party.COLLEAGUE, when)
        booking = new_booking(next(refs), snapshot, colleague, moved.status, position)
        related.append(booking)
        colleague_notices.append(
            Notice(
                moved.outcome,
                booking,
                in_reply=False,
                acted_by=Actor.COLLEAGUE,
                booked_by=sender,
            )
        )

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


@dataclass(frozen=True)
class _Moved:
    """Where the lifecycle sends a booking, and what its holder is told."""

    status: BookingStatus
    outcome: Outcome


def _step(source: Stage, trigger: Trigger, party: Party, when: When = When.ANY) -> _Moved:
    row = lifecycle.step(source, trigger, party, when)
    assert row.target is not None and row.notice is not None, row
    return _Moved(lifecycle.status_of(row.target), row.notice)


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
    existing = active_booking(snapshot.senders_bookings)
    if existing is not None:
        # An offer past its time is not taken by a late reply: it is lapsing.
        source = Stage.OFFERED if existing.has_offer(now) else lifecycle.stage(existing.status)
        row = lifecycle.step(source, Trigger.REQUEST, Party.ANYONE)
        if row.target is None:  # already booked: the stage stays, the reply says so
            return _Own(
                Outcome.DUPLICATE,
                (f"already booked as {existing.ref} ({existing.status.value})",),
                Notice(Outcome.DUPLICATE, existing),
                existing,
            )
        taken = replace(
            existing,
            status=lifecycle.status_of(row.target),
            waitlist_position=None,
            offer_expires_at=None,
        )
        assert row.notice is not None
        return _Own(
            row.notice,
            (f"{existing.ref} accepted the place offered",),
            Notice(row.notice, taken),
            taken,
            changes=(StatusChange(existing.ref, taken.status, cause=Trigger.REQUEST),),
        )

    eligible = domain_is_eligible(domain, policy.eligible_domains)
    if not eligible:
        when = When.REVIEW_UNKNOWN if policy.review_unknown else When.ANY
        moved = _step(Stage.NONE, Trigger.REQUEST, Party.OUTSIDER, when)
        if moved.status is BookingStatus.HELD:
            held = new_booking(ref, snapshot, sender, moved.status)
            reason = f"{domain} is not a listed domain: held for the organiser to review"
            return _Own(moved.outcome, (reason,), Notice(moved.outcome, held), held, True)
        allowed = ", ".join(policy.eligible_domains)
        refusal = (f"{domain} is not an eligible domain ({allowed})",)
        earlier = next(
            (b for b in snapshot.senders_bookings if b.status is BookingStatus.DECLINED), None
        )
        if earlier is not None:
            # Asking again changes nothing: restate the refusal without a second record.
            return _Own(moved.outcome, refusal, Notice(moved.outcome, earlier), earlier)
        declined = new_booking(ref, snapshot, sender, moved.status)
        return _Own(moved.outcome, refusal, Notice(moved.outcome, declined), declined, True)

    party = Party.OFFICER if trusted else Party.UNVERIFIED
    missing = _missing_details(sender, policy)
    if missing and not request.details_already_asked:
        row = lifecycle.step(Stage.NONE, Trigger.REQUEST, party, When.DETAILS_MISSING)
        assert row.notice is not None
        return _Own(
            row.notice,
            (f"missing {', '.join(missing)}",),
            Notice(
                row.notice,
                None,
                template=row.template or row.notice.value,
                recipient=sender.email,
                missing=missing,
            ),
        )

    reasons = (f"{domain} is eligible", request.authenticity.summary)
    if not trusted:
        moved = _step(Stage.NONE, Trigger.REQUEST, party)
        held = new_booking(ref, snapshot, sender, moved.status)
        return _Own(
            moved.outcome,
            (*reasons, "held for the organiser: sender not authenticated"),
            Notice(moved.outcome, held),
            held,
            True,
        )
    when, position = places.take(sender.force)
    moved = _step(Stage.NONE, Trigger.REQUEST, party, when)
    booking = new_booking(ref, snapshot, sender, moved.status, position)
    if moved.status is BookingStatus.CONFIRMED:
        detail = f"{places.left} of {snapshot.event.capacity} places left"
    else:
        detail = f"full ({snapshot.event.capacity} places), waitlist position {position}"
    return _Own(moved.outcome, (*reasons, detail), Notice(moved.outcome, booking), booking, True)


def _colleagues(
    request: Request, snapshot: Snapshot, policy: Policy, *, trusted: bool
) -> tuple[list[SenderDetails], tuple[str, ...], list[str]]:
    """The colleagues to book, and those set aside with why (for the sender's reply).

    Only an eligible sender whose address is authenticated (where the policy asks for it)
    books colleagues: anyone else could fill the event with real officers' addresses, and
    colleagues set aside are neither booked nor written to.
    """
    to_book: list[SenderDetails] = []
    skipped: list[str] = []
    reasons: list[str] = []
    sender_domain = request.sender.email.rpartition("@")[2]
    if not domain_is_eligible(sender_domain, policy.eligible_domains):
        refusal = "colleagues are booked only at the request of an officer's own police address"
    elif not trusted:
        refusal = "colleagues are booked only when your address can be verified"
    else:
        refusal = None
    seen = {request.sender.email}
    for colleague in request.colleagues:
        if colleague.email in seen:
            continue
        seen.add(colleague.email)
        domain = colleague.email.rpartition("@")[2]
        existing = active_booking(snapshot.colleagues_bookings.get(colleague.email, ()))
        if refusal is not None:
            skipped.append(f"{colleague.email}: {refusal}")
        elif existing is not None:
            skipped.append(f"{colleague.email}: already booked ({existing.status.value})")
        elif not domain_is_eligible(domain, policy.eligible_domains):
            skipped.append(f"{colleague.email}: places are reserved for police addresses")
        else:
            to_book.append(colleague)
            continue
        reasons.append(f"colleague {skipped[-1]}")
    return to_book, tuple(skipped), reasons
