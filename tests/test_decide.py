"""The booking rules, driven from tables of (request, state, now) -> outcome."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mailbot.decide import decide, domain_is_eligible
from mailbot.domain import (
    Authenticity,
    BookingStatus,
    BookingView,
    EventInfo,
    Intent,
    Outcome,
    Policy,
    Request,
    SenderDetails,
    Snapshot,
    StatusChange,
)

LONDON = ZoneInfo("Europe/London")
EVENT = EventInfo(
    slug="cse-forum-preston",
    title="Working together to enhance police responses to child sexual exploitation",
    starts_at=datetime(2027, 3, 10, 11, 0, tzinfo=LONDON),
    ends_at=datetime(2027, 3, 10, 15, 45, tzinfo=LONDON),
    venue="University of Central Lancashire, Preston, PR1 2HE",
    capacity=3,
)
POLICY = Policy(
    eligible_domains=("police.uk",),
    require_authentication=True,
    organiser_name="Forum Organiser",
    organiser_email="organiser@example.ac.uk",
)
OPEN_POLICY = Policy(("police.uk",), False, "Forum Organiser", "organiser@example.ac.uk")
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
VERIFIED = Authenticity(True, "DMARC pass (mx.example.ac.uk)")
UNVERIFIED = Authenticity(False, "DMARC fail (mx.example.ac.uk)")
OFFICER = "jane.smith@westmidlands.police.uk"


def booking(ref: str, status: BookingStatus, email: str = "x@durham.police.uk") -> BookingView:
    return BookingView(ref=ref, event_slug=EVENT.slug, email=email, status=status)


def state(
    confirmed: int = 0,
    waitlist: tuple[BookingView, ...] = (),
    mine: tuple[BookingView, ...] = (),
) -> Snapshot:
    return Snapshot(
        event=EVENT,
        confirmed_count=confirmed,
        waitlist_length=len(waitlist),
        waitlist_head=waitlist[:2],
        senders_bookings=mine,
    )


def request(
    email: str = OFFICER, intent: Intent = Intent.BOOK, auth: Authenticity = VERIFIED
) -> Request:
    return Request(intent, SenderDetails(email, name="Jane Smith"), auth)


WAITING = (
    booking("WA1-AAA", BookingStatus.WAITLISTED, "a@met.police.uk"),
    booking("WA2-BBB", BookingStatus.WAITLISTED, "b@met.police.uk"),
)


@dataclass(frozen=True)
class Case:
    name: str
    request: Request
    snapshot: Snapshot
    policy: Policy
    outcome: Outcome
    new_status: BookingStatus | None  # status of the booking created, None if none is
    position: int | None = None


CASES = [
    Case(
        "eligible with places",
        request(),
        state(0),
        POLICY,
        Outcome.CONFIRMED,
        BookingStatus.CONFIRMED,
    ),
    Case("last place", request(), state(2), POLICY, Outcome.CONFIRMED, BookingStatus.CONFIRMED),
    Case(
        "full, empty waitlist",
        request(),
        state(3),
        POLICY,
        Outcome.WAITLISTED,
        BookingStatus.WAITLISTED,
        1,
    ),
    Case(
        "full, two waiting",
        request(),
        state(3, WAITING),
        POLICY,
        Outcome.WAITLISTED,
        BookingStatus.WAITLISTED,
        3,
    ),
    Case(
        "not police",
        request("alex@gmail.example.com"),
        state(0),
        POLICY,
        Outcome.DECLINED,
        BookingStatus.DECLINED,
    ),
    Case(
        "look-alike domain",
        request("x@evilpolice.uk"),
        state(0),
        POLICY,
        Outcome.DECLINED,
        BookingStatus.DECLINED,
    ),
    Case(
        "police.uk as a sub-domain of another",
        request("x@met.police.uk.example.com"),
        state(0),
        POLICY,
        Outcome.DECLINED,
        BookingStatus.DECLINED,
    ),
    Case(
        "unauthenticated officer is held, even with places",
        request(auth=UNVERIFIED),
        state(0),
        POLICY,
        Outcome.HELD,
        BookingStatus.HELD,
    ),
    Case(
        "unauthenticated officer confirmed when not required",
        request(auth=UNVERIFIED),
        state(0),
        OPEN_POLICY,
        Outcome.CONFIRMED,
        BookingStatus.CONFIRMED,
    ),
    Case(
        "same person again: confirmed",
        request(),
        state(1, mine=(booking("OLD-REF", BookingStatus.CONFIRMED, OFFICER),)),
        POLICY,
        Outcome.DUPLICATE,
        None,
    ),
    Case(
        "same person again while held",
        request(),
        state(1, mine=(booking("OLD-REF", BookingStatus.HELD, OFFICER),)),
        POLICY,
        Outcome.DUPLICATE,
        None,
    ),
    Case(
        "rebooking after cancelling is a new booking",
        request(),
        state(1, mine=(booking("OLD-REF", BookingStatus.CANCELLED, OFFICER),)),
        POLICY,
        Outcome.CONFIRMED,
        BookingStatus.CONFIRMED,
    ),
    Case(
        "declined sender asking again gets no second record",
        request("alex@gmail.example.com"),
        state(0, mine=(booking("DEC-REF", BookingStatus.DECLINED, "alex@gmail.example.com"),)),
        POLICY,
        Outcome.DECLINED,
        None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_booking_rules(case: Case) -> None:
    decision = decide(case.request, case.snapshot, case.policy, NOW, "NEW-REF")
    assert decision.outcome is case.outcome
    created = decision.new_booking
    assert (created.status if created else None) == case.new_status
    if created is not None:
        assert created.ref == "NEW-REF"
        assert created.email == case.request.sender.email
        assert created.waitlist_position == case.position
    assert len(decision.notices) == 1, "every request gets exactly one reply"
    assert decision.notices[0].outcome is case.outcome
    assert decision.reasons, "every decision keeps its reasons"


def test_duplicate_restates_the_existing_booking_with_its_waitlist_position() -> None:
    mine = replace(booking("WA2-BBB", BookingStatus.WAITLISTED, OFFICER), waitlist_position=2)
    waiting = (WAITING[0], mine)
    decision = decide(request(), state(3, waiting, (mine,)), POLICY, NOW, "NEW-REF")
    notice = decision.notices[0]
    assert decision.outcome is Outcome.DUPLICATE
    assert decision.new_booking is None and not decision.changes
    assert notice.booking is not None
    assert notice.booking.ref == "WA2-BBB"
    assert notice.booking.waitlist_position == 2


def test_confirmed_reasons_say_domain_authentication_and_places_left() -> None:
    decision = decide(request(), state(1), POLICY, NOW, "NEW-REF")
    assert decision.reasons == (
        "westmidlands.police.uk is eligible",
        "DMARC pass (mx.example.ac.uk)",
        "1 of 3 places left",
    )


def test_cancelling_a_confirmed_place_promotes_the_first_on_the_waitlist() -> None:
    mine = booking("MIN-EEE", BookingStatus.CONFIRMED, OFFICER)
    decision = decide(
        request(intent=Intent.CANCEL), state(3, WAITING, (mine,)), POLICY, NOW, "NEW-REF"
    )
    assert decision.outcome is Outcome.CANCELLED
    assert decision.changes == (
        StatusChange("MIN-EEE", BookingStatus.CANCELLED),
        StatusChange("WA1-AAA", BookingStatus.CONFIRMED),
    )
    outcomes = [
        (n.outcome, n.booking.ref if n.booking else None, n.in_reply) for n in decision.notices
    ]
    assert outcomes == [
        (Outcome.CANCELLED, "MIN-EEE", True),
        (Outcome.PROMOTED, "WA1-AAA", False),
    ]


def test_cancelling_a_waitlisted_place_promotes_nobody() -> None:
    mine = booking("WA2-BBB", BookingStatus.WAITLISTED, OFFICER)
    decision = decide(
        request(intent=Intent.CANCEL), state(3, (WAITING[0], mine), (mine,)), POLICY, NOW, "X"
    )
    assert decision.changes == (StatusChange("WA2-BBB", BookingStatus.CANCELLED),)
    assert [n.outcome for n in decision.notices] == [Outcome.CANCELLED]


def test_cancelling_without_a_booking_is_answered_without_changes() -> None:
    decision = decide(request(intent=Intent.CANCEL), state(2), POLICY, NOW, "X")
    assert decision.outcome is Outcome.INFO
    assert decision.new_booking is None and not decision.changes
    assert decision.notices[0].to == OFFICER
    assert decision.notices[0].template_name == "no-booking"


@pytest.mark.parametrize(
    ("domain", "eligible"),
    [
        ("police.uk", True),
        ("met.police.uk", True),
        ("West-Midlands.PNN.Police.UK", True),
        ("met.police.uk.", True),
        ("evilpolice.uk", False),
        ("police.uk.example.com", False),
        ("police-uk.example.com", False),
        ("xn--plice-7ve.uk", False),  # IDNA form of a Cyrillic-o look-alike
        ("pоlice.uk", False),  # Cyrillic "о"
        ("met.pоlice.uk", False),
        ("", False),
    ],
)
def test_domain_eligibility_matches_whole_labels_only(domain: str, eligible: bool) -> None:
    assert domain_is_eligible(domain, ("police.uk",)) is eligible
