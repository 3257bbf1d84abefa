"""The booking lifecycle in one table: every stage a person's booking can be in, what moves it
on, who may cause that, and the mail they are sent. Pure.

The rules (booking, decide, waitlist, organiser, event changes) ask `step` for where a booking
goes and what its holder is told, so the table is what they do; the store refuses to write a
status change the table does not list (`permits`), whichever path asked for it; and
docs/lifecycle.md shows `markdown()`, kept equal to it by tests/test_lifecycle.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mailbot.domain import BookingStatus, Notice, Outcome, Trigger

__all__ = [
    "TABLE",
    "Party",
    "Stage",
    "Transition",
    "When",
    "allows",
    "last_word",
    "markdown",
    "permits",
    "stage",
    "status_of",
    "step",
]


class Stage(StrEnum):
    """Where a person's booking for an event stands. `none` and `details-needed` have no
    booking recorded; `offered` is a waitlisted booking holding a freed place for a while;
    `erased` has nothing left to hold."""

    NONE = "none"
    DETAILS_NEEDED = "details-needed"
    HELD = "held"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    ERASED = "erased"


class Party(StrEnum):
    """Who causes a transition."""

    OFFICER = "officer, verified"  # eligible address, authenticated (where that is required)
    UNVERIFIED = "officer, not verified"  # eligible address that did not authenticate
    ELIGIBLE = "officer, verified or not"
    OUTSIDER = "sender outside the eligible domains"
    ANYONE = "anyone who writes"
    COLLEAGUE = "verified officer, for a colleague"
    ORGANISER = "organiser"  # an authenticated reply to the digest, or the command line
    ADMINISTRATOR = "administrator"  # `mailbot forget`
    SYSTEM = "mailbot"


class When(StrEnum):
    """The state of the event a transition depends on; ANY when it depends on none."""

    ANY = ""
    PLACE_FREE = "a place is free"
    FULL = "no place is free"
    DETAILS_MISSING = "name or force missing"
    REVIEW_UNKNOWN = "review_unknown is set"
    OFFERS_ON = "waitlist_offer_hours is set"
    OFFERS_OFF = "waitlist_offer_hours is not set"
    CALLED_OFF = "the event is called off"
    SOMEONE_WAITING = "someone is waiting"
    CERTIFICATES_ON = "the event gives certificates"


@dataclass(frozen=True)
class Transition:
    sources: tuple[Stage, ...]
    trigger: Trigger
    party: Party
    when: When
    target: Stage | None  # None: the booking stays in the stage it was in
    notice: Outcome | None  # the outcome of the mail the booking's holder is sent, if any
    template: str | None = None  # when the mail's template is not named by its outcome
    note: str = ""


_ACTIVE = (Stage.HELD, Stage.CONFIRMED, Stage.WAITLISTED, Stage.OFFERED)
_ENDED = (Stage.CANCELLED, Stage.DECLINED)
_NEW = (Stage.NONE, Stage.DETAILS_NEEDED, *_ENDED)  # someone holding no live booking
_HOLDS_PLACE = "its place passes to the first person waiting"

T = Transition
R, C = Trigger, Stage
TABLE: tuple[Transition, ...] = (
    # The attendee, by mail.
    T(_NEW, R.REQUEST, Party.ELIGIBLE, When.DETAILS_MISSING, C.DETAILS_NEEDED,
      Outcome.DETAILS_NEEDED, note="asked once; a reply goes on without them"),
    T(_NEW, R.REQUEST, Party.OFFICER, When.PLACE_FREE, C.CONFIRMED, Outcome.CONFIRMED),
    T(_NEW, R.REQUEST, Party.OFFICER, When.FULL, C.WAITLISTED, Outcome.WAITLISTED,
      note="joins the back of the waiting list"),
    T(_NEW, R.REQUEST, Party.UNVERIFIED, When.ANY, C.HELD, Outcome.HELD,
      note="held for the organiser to check"),
    T(_NEW, R.REQUEST, Party.OUTSIDER, When.REVIEW_UNKNOWN, C.HELD, Outcome.HELD),
    T(_NEW, R.REQUEST, Party.OUTSIDER, When.ANY, C.DECLINED, Outcome.DECLINED,
      note="colleagues named are neither booked nor written to"),
    T((C.HELD, C.CONFIRMED, C.WAITLISTED), R.REQUEST, Party.ANYONE, When.ANY, None,
      Outcome.DUPLICATE),
    T((*_NEW, *_ACTIVE), R.REQUEST, Party.ANYONE, When.CALLED_OFF, None, Outcome.INFO,
      "called-off", "no place, whoever asks"),
    T((C.OFFERED,), R.REQUEST, Party.ANYONE, When.ANY, C.CONFIRMED, Outcome.CONFIRMED,
      note="takes the place offered"),
    T(_ACTIVE, R.CANCEL, Party.ANYONE, When.ANY, C.CANCELLED, Outcome.CANCELLED,
      note=f"a confirmed or offered one: {_HOLDS_PLACE}"),
    T(_NEW, R.CANCEL, Party.ANYONE, When.ANY, None, Outcome.INFO, "no-booking"),
    T((*_NEW, *_ACTIVE), R.ACKNOWLEDGE, Party.ANYONE, When.ANY, None, None,
      note="no reply, whatever the words"),
    # Booked by a colleague.
    T(_NEW, R.COLLEAGUE_REQUEST, Party.COLLEAGUE, When.PLACE_FREE, C.CONFIRMED, Outcome.CONFIRMED,
      note="told who booked them and how to decline"),
    T(_NEW, R.COLLEAGUE_REQUEST, Party.COLLEAGUE, When.FULL, C.WAITLISTED, Outcome.WAITLISTED,
      note="told who booked them and how to decline"),
    # The organiser.
    T((C.HELD,), R.APPROVE, Party.ORGANISER, When.PLACE_FREE, C.CONFIRMED, Outcome.CONFIRMED),
    T((C.HELD,), R.APPROVE, Party.ORGANISER, When.FULL, C.WAITLISTED, Outcome.WAITLISTED,
      note="joins the back of the waiting list"),
    T(_ACTIVE, R.DECLINE, Party.ORGANISER, When.ANY, C.DECLINED, Outcome.DECLINED,
      note=_HOLDS_PLACE),
    T(_ACTIVE, R.ORGANISER_CANCEL, Party.ORGANISER, When.ANY, C.CANCELLED, Outcome.CANCELLED,
      note=_HOLDS_PLACE),
    T(_NEW, R.ADD, Party.ORGANISER, When.PLACE_FREE, C.CONFIRMED, Outcome.CONFIRMED),
    T(_NEW, R.ADD, Party.ORGANISER, When.FULL, C.WAITLISTED, Outcome.WAITLISTED),
    T(_ACTIVE, R.MOVE, Party.ORGANISER, When.PLACE_FREE, C.CONFIRMED, Outcome.CONFIRMED,
      note=f"to another event; at the first, {_HOLDS_PLACE}"),
    T(_ACTIVE, R.MOVE, Party.ORGANISER, When.FULL, C.WAITLISTED, Outcome.WAITLISTED,
      note="joins the back of the other event's waiting list"),
    T((C.CONFIRMED,), R.ATTENDED, Party.ORGANISER, When.CERTIFICATES_ON, None,
      Outcome.CERTIFICATE, note="from the event's start; the certificate once, however often"),
    T((C.CONFIRMED,), R.ATTENDED, Party.ORGANISER, When.ANY, None, None,
      note="from the event's start"),
    T((C.CONFIRMED,), R.ABSENT, Party.ORGANISER, When.ANY, None, None,
      note="from the event's start"),
    # mailbot.
    T((C.WAITLISTED,), R.PLACE_FREED, Party.SYSTEM, When.OFFERS_OFF, C.CONFIRMED,
      Outcome.PROMOTED, note="first in order of joining, when a place is given up"),
    T((C.WAITLISTED,), R.PLACE_FREED, Party.SYSTEM, When.OFFERS_ON, C.OFFERED, Outcome.PROMOTED,
      "offer", "the place is held for them; a newcomer may not take it"),
    T((C.WAITLISTED,), R.CAPACITY, Party.ORGANISER, When.OFFERS_OFF, C.CONFIRMED,
      Outcome.PROMOTED, note="one for each place added; fewer places take none away"),
    T((C.WAITLISTED,), R.CAPACITY, Party.ORGANISER, When.OFFERS_ON, C.OFFERED, Outcome.PROMOTED,
      "offer", "one for each place added"),
    T((C.CONFIRMED,), R.RECONFIRM_ASKED, Party.SYSTEM, When.ANY, None, Outcome.RECONFIRM,
      note="once, at `[booking] reconfirm` before the event; not those confirmed later"),
    T((C.CONFIRMED,), R.RECONFIRMED, Party.ANYONE, When.ANY, None, None,
      note="any plain yes, or a calendar acceptance; no reply"),
    T((C.CONFIRMED,), R.RELEASED, Party.SYSTEM, When.SOMEONE_WAITING, C.CANCELLED,
      Outcome.RELEASED, note=f"no answer within reconfirm_hours; {_HOLDS_PLACE}"),
    T((C.OFFERED,), R.OFFER_LAPSED, Party.SYSTEM, When.ANY, C.CANCELLED, Outcome.INFO,
      "offer-expired", f"{_HOLDS_PLACE}"),
    T((C.CONFIRMED, C.WAITLISTED, C.OFFERED), R.EVENT_CHANGED, Party.SYSTEM, When.ANY, None,
      Outcome.UPDATED, note="date, times or venue; a calendar update for confirmed ones"),
    T(_ACTIVE, R.EVENT_CALLED_OFF, Party.SYSTEM, When.ANY, C.CANCELLED, Outcome.EVENT_CANCELLED,
      note="a calendar cancellation for confirmed ones; later requests get no place"),
    # The administrator.
    T(_ACTIVE, R.ERASE, Party.ADMINISTRATOR, When.ANY, C.CANCELLED, None,
      note=f"{_HOLDS_PLACE}; then erased, and nothing is sent to them"),
    T(_ENDED, R.ERASE, Party.ADMINISTRATOR, When.ANY, C.ERASED, None),
)  # fmt: skip
del T, R, C


def stage(status: BookingStatus | None, offer_expires_at: datetime | None = None) -> Stage:
    """The stage of a booking with this status (None: no booking)."""
    if status is None:
        return Stage.NONE
    if status is BookingStatus.WAITLISTED and offer_expires_at is not None:
        return Stage.OFFERED
    return Stage(status.value)


def status_of(target: Stage) -> BookingStatus:
    """The status a booking in this stage is recorded with."""
    if target is Stage.OFFERED:
        return BookingStatus.WAITLISTED
    return BookingStatus(target.value)


def step(source: Stage, trigger: Trigger, party: Party, when: When = When.ANY) -> Transition:
    """The table's row for this, the most specific first (a row for `when` before one for any
    state of the event). Raises LookupError when the table allows no such move: the rules
    ask only for moves they have checked, so that is a defect, not a refusal."""
    parties = {party, Party.ANYONE}
    if party in (Party.OFFICER, Party.UNVERIFIED):
        parties.add(Party.ELIGIBLE)
    rows = [
        row
        for row in TABLE
        if source in row.sources and row.trigger is trigger and row.party in parties
    ]
    for wanted in (when, When.ANY):
        for row in rows:
            if row.when is wanted:
                return row
    raise LookupError(f"the lifecycle has no {trigger.value!r} by {party.value} from {source}")


def allows(source: Stage, trigger: Trigger) -> bool:
    """Whether any party may cause `trigger` from `source`: the organiser's commands are
    refused, with the booking's stage, when not."""
    return any(source in row.sources and row.trigger is trigger for row in TABLE)


def permits(source: Stage, trigger: Trigger, target: Stage) -> bool:
    """Whether the table lists a move from `source` to `target` for `trigger`."""
    return any(
        source in row.sources and row.trigger is trigger and row.target is target for row in TABLE
    )


def last_word(notices: Sequence[Notice]) -> tuple[Notice, ...]:
    """Each person's last notice about each event, in the order those were made: one change
    after another (APPROVE, then CANCEL) sends them one mail, saying where they ended up."""
    last: dict[tuple[str, str | None], int] = {}
    for index, notice in enumerate(notices):
        event = notice.booking.event_slug if notice.booking else None
        last[(notice.to, event)] = index
    kept = sorted(last.values())
    return tuple(notices[index] for index in kept)


def markdown() -> str:
    """The table as docs/lifecycle.md shows it."""
    lines = [
        "| from | event | by | when | to | they are sent | |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in TABLE:
        target = "(unchanged)" if row.target is None else row.target.value
        sent = "nothing" if row.notice is None else f"`{row.notice.value}`"
        if row.template:
            sent += f" ({row.template})"
        cells = (
            ", ".join(source.value for source in row.sources),
            f"`{row.trigger.value}`",
            row.party.value,
            row.when.value,
            target,
            sent,
            row.note,
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
