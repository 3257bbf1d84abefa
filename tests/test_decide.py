"""The booking rules, driven from tables of (request, state, now) -> outcome."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from mailbot.domain import (
    Authenticity,
    BookingStatus,
    BookingView,
    Intent,
    Outcome,
    Policy,
    Request,
    SenderDetails,
    Snapshot,
    StatusChange,
    Trigger,
)
from mailbot.rules.booking import domain_is_eligible
from mailbot.rules.decide import decide
from tests.values import FORUM

EVENT = replace(FORUM, capacity=3)
POLICY = Policy(
    eligible_domains=("police.uk",),
    require_authentication=True,
    organiser_name="Forum Organiser",
    organiser_email="organiser@example.ac.uk",
)
OPEN_POLICY = Policy(("police.uk",), False, "Forum Organiser", "organiser@example.ac.uk")
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
REFS = ["NEW-REF", "NEW-RF2", "NEW-RF3"]
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
    return Request(
        intent, SenderDetails(email, name="Jane Smith", force="Durham Constabulary"), auth
    )


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
    decision = decide(case.request, case.snapshot, case.policy, NOW, REFS)
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
    decision = decide(request(), state(3, waiting, (mine,)), POLICY, NOW, REFS)
    notice = decision.notices[0]
    assert decision.outcome is Outcome.DUPLICATE
    assert decision.new_booking is None and not decision.changes
    assert notice.booking is not None
    assert notice.booking.ref == "WA2-BBB"
    assert notice.booking.waitlist_position == 2


def test_confirmed_reasons_say_domain_authentication_and_places_left() -> None:
    decision = decide(request(), state(1), POLICY, NOW, REFS)
    assert decision.reasons == (
        "westmidlands.police.uk is eligible",
        "DMARC pass (mx.example.ac.uk)",
        "1 of 3 places left",
    )


def test_cancelling_a_confirmed_place_promotes_the_first_on_the_waitlist() -> None:
    mine = booking("MIN-EEE", BookingStatus.CONFIRMED, OFFICER)
    decision = decide(request(intent=Intent.CANCEL), state(3, WAITING, (mine,)), POLICY, NOW, REFS)
    assert decision.outcome is Outcome.CANCELLED
    assert decision.changes == (
        StatusChange("MIN-EEE", BookingStatus.CANCELLED, cause=Trigger.CANCEL),
        StatusChange("WA1-AAA", BookingStatus.CONFIRMED, cause=Trigger.PLACE_FREED),
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
        request(intent=Intent.CANCEL), state(3, (WAITING[0], mine), (mine,)), POLICY, NOW, REFS
    )
    assert decision.changes == (
        StatusChange("WA2-BBB", BookingStatus.CANCELLED, cause=Trigger.CANCEL),
    )
    assert [n.outcome for n in decision.notices] == [Outcome.CANCELLED]


def test_cancelling_without_a_booking_is_answered_without_changes() -> None:
    decision = decide(request(intent=Intent.CANCEL), state(2), POLICY, NOW, REFS)
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


def colleague(email: str, name: str = "Alan Brown") -> SenderDetails:
    return SenderDetails(email, name=name, rank="Detective Constable", force="Durham Constabulary")


def test_colleagues_each_get_their_own_booking_after_the_sender_and_their_own_mail() -> None:
    asking = replace(
        request(),
        colleagues=(colleague("alan.brown@durham.police.uk"), colleague("sam.k@durham.police.uk")),
    )
    decision = decide(asking, state(1), POLICY, NOW, REFS)  # two places left of three
    statuses = [(b.email, b.status, b.waitlist_position) for b in decision.new_bookings]
    assert statuses == [
        (OFFICER, BookingStatus.CONFIRMED, None),
        ("alan.brown@durham.police.uk", BookingStatus.CONFIRMED, None),
        ("sam.k@durham.police.uk", BookingStatus.WAITLISTED, 1),
    ]
    assert [(n.to, n.outcome, n.in_reply) for n in decision.notices] == [
        (OFFICER, Outcome.CONFIRMED, True),
        ("alan.brown@durham.police.uk", Outcome.CONFIRMED, False),
        ("sam.k@durham.police.uk", Outcome.WAITLISTED, False),
    ]
    assert [b.ref for b in decision.notices[0].related] == ["NEW-RF2", "NEW-RF3"]


def test_ineligible_or_already_booked_colleagues_are_not_booked_and_the_sender_is_told() -> None:
    already = booking("OLD-AAA", BookingStatus.CONFIRMED, "alan.brown@durham.police.uk")
    asking = replace(
        request(),
        colleagues=(colleague("alan.brown@durham.police.uk"), colleague("pat@gmail.example.com")),
        include_sender=False,
    )
    snapshot = replace(state(0), colleagues_bookings={"alan.brown@durham.police.uk": (already,)})
    decision = decide(asking, snapshot, POLICY, NOW, REFS)
    assert decision.new_bookings == ()
    (only,) = decision.notices
    assert only.to == OFFICER and only.template_name == "colleagues-booked"
    assert only.skipped == (
        "alan.brown@durham.police.uk: already booked (confirmed)",
        "pat@gmail.example.com: places are reserved for police addresses",
    )


def test_colleagues_of_an_unauthenticated_sender_are_not_booked_and_the_sender_is_told() -> None:
    asking = replace(
        request(auth=UNVERIFIED), colleagues=(colleague("alan.brown@durham.police.uk"),)
    )
    decision = decide(asking, state(0), POLICY, NOW, REFS)
    assert [b.email for b in decision.new_bookings] == [OFFICER]
    assert decision.new_bookings[0].status is BookingStatus.HELD
    assert [n.to for n in decision.notices] == [OFFICER]
    assert decision.notices[0].skipped == (
        "alan.brown@durham.police.uk: colleagues are booked only when your address can be verified",
    )


def test_colleagues_of_a_sender_outside_the_eligible_domains_are_not_booked() -> None:
    outsider = replace(request(), sender=replace(request().sender, email="pat@gmail.example.com"))
    asking = replace(outsider, colleagues=(colleague("alan.brown@durham.police.uk"),))
    decision = decide(asking, state(0), POLICY, NOW, REFS)
    assert all(b.email != "alan.brown@durham.police.uk" for b in decision.new_bookings)
    assert [n.to for n in decision.notices] == ["pat@gmail.example.com"]


def test_needs_are_noted_on_an_existing_booking() -> None:
    mine = booking("MIN-EEE", BookingStatus.CONFIRMED, OFFICER)
    amend = replace(request(intent=Intent.AMEND), needs="I use a wheelchair.")
    decision = decide(amend, state(1, mine=(mine,)), POLICY, NOW, REFS)
    assert decision.needs == (("MIN-EEE", "I use a wheelchair."),)
    assert decision.notices[0].template_name == "needs-noted"
    assert decision.new_bookings == () and decision.changes == ()


def test_needs_with_a_booking_request_go_on_the_new_booking() -> None:
    asking = replace(request(), needs="I am vegetarian.")
    decision = decide(asking, state(0), POLICY, NOW, REFS)
    assert decision.outcome is Outcome.CONFIRMED
    assert decision.needs == (("NEW-REF", "I am vegetarian."),)


def test_a_question_is_acknowledged_and_kept_for_the_organiser() -> None:
    asking = replace(request(intent=Intent.QUESTION), question="Is there parking on site?")
    decision = decide(asking, state(0), POLICY, NOW, REFS)
    assert decision.question == "Is there parking on site?"
    assert decision.new_bookings == ()
    assert [n.template_name for n in decision.notices] == ["question"]


def test_missing_details_are_asked_for_once() -> None:
    nameless = Request(Intent.BOOK, SenderDetails(OFFICER, force="Durham Constabulary"), VERIFIED)
    first = decide(nameless, state(0), POLICY, NOW, REFS)
    assert first.outcome is Outcome.DETAILS_NEEDED
    assert first.new_bookings == ()
    assert first.notices[0].missing == ("name",)
    second = decide(replace(nameless, details_already_asked=True), state(0), POLICY, NOW, REFS)
    assert second.outcome is Outcome.CONFIRMED, "never asked twice: book with what we have"


def test_a_force_at_its_cap_is_waitlisted_while_other_forces_still_get_places() -> None:
    capped = replace(state(0), event=replace(EVENT, places_per_force=1))
    durham_full = replace(capped, force_counts={"Durham Constabulary": 1})
    held_back = decide(request(), durham_full, POLICY, NOW, REFS)
    assert held_back.outcome is Outcome.WAITLISTED
    other = Request(
        Intent.BOOK,
        SenderDetails("a@met.police.uk", name="Ann Lee", force="Metropolitan Police Service"),
        VERIFIED,
    )
    assert decide(other, durham_full, POLICY, NOW, REFS).outcome is Outcome.CONFIRMED


def test_one_request_takes_at_most_bookings_per_sender_places() -> None:
    limited = replace(state(0), event=replace(EVENT, bookings_per_sender=2))
    asking = replace(
        request(),
        colleagues=(colleague("alan.brown@durham.police.uk"), colleague("sam.k@durham.police.uk")),
    )
    decision = decide(asking, limited, POLICY, NOW, REFS)
    assert [b.email for b in decision.new_bookings] == [OFFICER, "alan.brown@durham.police.uk"]
    assert decision.notices[0].skipped == ("sam.k@durham.police.uk: at most 2 places per request",)


def test_unknown_domains_are_held_for_review_when_asked() -> None:
    reviewing = replace(POLICY, review_unknown=True)
    decision = decide(request("pat@nca.example.gov.uk"), state(0), reviewing, NOW, REFS)
    assert decision.outcome is Outcome.HELD
    assert decision.new_booking is not None and decision.new_booking.status is BookingStatus.HELD
