"""Turn a snapshot of the bookings into the organiser's daily digest: values in, text out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jinja2

from mailbot.domain import BookingStatus, BookingView
from mailbot.outbound.render import Sender, long_date
from mailbot.records import DigestState, EventDigest

__all__ = [
    "COMMAND_HELP",
    "digest_subject",
    "fill_bar",
    "fill_percent",
    "has_news",
    "render_digest",
]


# Written out here rather than borrowed from commands.py, whose usage strings are terse;
# a test checks every Verb is covered, so a new command cannot be left out of the help.
COMMAND_HELP: tuple[tuple[str, str], ...] = (
    ("APPROVE <reference>", "give a held request a place (or a waiting-list spot if full)"),
    ("DECLINE <reference>", "turn a held request down"),
    ("CANCEL <reference>", "cancel a booking; its place passes to the next person waiting"),
    ("ADD <email> <name> [event]", "book someone yourself"),
    ("MOVE <reference> <event>", "move a booking to another event"),
    ("CAPACITY <event> <number>", "change the number of places"),
    ("LIST [event]", "get the attendee list as a spreadsheet"),
    ("ATTENDED <reference> ...", "from the event's start: they came (certificates go out)"),
    ("ABSENT <reference> ...", "from the event's start: they did not come"),
)


def has_news(state: DigestState) -> bool:
    """Whether there is anything to tell: held requests count until someone resolves them."""
    if state.questions or state.undeliverable or state.quarantined or state.delivery_failures:
        return True
    if state.from_outside:
        return True
    return any(e.held or e.new_bookings or e.cancellations or e.promotions for e in state.events)


def _filled(taken: int, capacity: int, width: int) -> int:
    if taken <= 0:
        return 0
    if capacity <= 0 or taken >= capacity:
        return width
    # Never round a booked event down to empty, nor a part-full one up to full: either
    # would tell the organiser something untrue at a glance.
    return min(width - 1, max(1, taken * width // capacity))


def fill_bar(taken: int, capacity: int, width: int = 20) -> str:
    """'[##########----------] 30/60'; the bar is capped at full, the numbers are not."""
    filled = _filled(taken, capacity, width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {taken}/{capacity}"


def fill_percent(taken: int, capacity: int) -> int:
    """How much of the HTML bar to colour, 0 to 100, by the same rules as `fill_bar`."""
    return _filled(taken, capacity, 100)


def _short_date(value: datetime) -> str:
    # The digest is about today: the year only lengthens a subject line.
    return long_date(value).rpartition(" ")[0]


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def digest_subject(state: DigestState) -> str:
    """'Bookings digest, Wednesday 25 November: 37 of 60 places taken, 2 to review'."""
    parts: list[str] = []
    if len(state.events) == 1:
        only = state.events[0]
        parts.append(f"{only.confirmed} of {only.event.capacity} places taken")
    elif state.events:
        taken = sum(e.confirmed for e in state.events)
        places = sum(e.event.capacity for e in state.events)
        parts.append(f"{len(state.events)} events, {taken} of {places} places taken")
    else:
        parts.append("no events")
    held = sum(len(e.held) for e in state.events)
    if held:
        parts.append(f"{held} to review")
    if state.questions:
        parts.append(_plural(len(state.questions), "question"))
    if state.from_outside:
        parts.append(f"{_plural(len(state.from_outside), 'message')} from outside")
    problems = len(state.undeliverable) + len(state.quarantined) + len(state.delivery_failures)
    if problems:
        parts.append(_plural(problems, "problem"))
    if not has_news(state):
        parts.append("no changes")
    return f"Bookings digest, {_short_date(state.generated_at)}: {', '.join(parts)}"


_STATUS_WORDS = {
    BookingStatus.CONFIRMED: "has a place",
    BookingStatus.WAITLISTED: "waiting list",
    BookingStatus.HELD: "held for review",
    BookingStatus.DECLINED: "declined",
    BookingStatus.CANCELLED: "cancelled",
}


def _status(booking: BookingView) -> str:
    if booking.status is BookingStatus.WAITLISTED and booking.waitlist_position is not None:
        return f"waiting list, number {booking.waitlist_position}"
    return _STATUS_WORDS[booking.status]


def _who(booking: BookingView) -> str:
    """'DC Jane Smith, Lancashire Constabulary' or just the address when nothing is known."""
    name = " ".join(part for part in (booking.rank, booking.name) if part)
    label = name or booking.email
    return f"{label}, {booking.force}" if booking.force else label


@dataclass(frozen=True)
class _EventView:
    """One event with the numbers the templates show, worked out once here."""

    digest: EventDigest
    bar: str
    percent: int
    over: int  # confirmed beyond capacity, after the organiser lowered it
    more_waiting: int  # waiting but not listed
    forces: tuple[tuple[str, int], ...]
    force_width: int


def _event_view(digest: EventDigest) -> _EventView:
    capacity = digest.event.capacity
    forces = tuple((force or "Force not given", count) for force, count in digest.per_force)
    return _EventView(
        digest=digest,
        bar=fill_bar(digest.confirmed, capacity),
        percent=fill_percent(digest.confirmed, capacity),
        over=max(0, digest.confirmed - capacity),
        more_waiting=max(0, digest.waitlisted - len(digest.waitlist)),
        forces=forces,
        force_width=max((len(force) for force, _ in forces), default=0),
    )


def render_digest(env: jinja2.Environment, state: DigestState, sender: Sender) -> tuple[str, str]:
    """The digest as (text, html), from `digest.txt.j2` and `digest.html.j2`; `sender` names
    the booking mailbox and the folder that mail set aside is in."""
    zone = state.generated_at.tzinfo

    def when(value: datetime) -> str:
        local = value.astimezone(zone) if zone is not None and value.tzinfo else value
        return f"{_short_date(local)}, {local:%H:%M}"

    held = [(e.event, b) for e in state.events for b in e.held]
    titles = {e.event.slug: e.event.title for e in state.events}
    context: dict[str, object] = {
        "state": state,
        "events": [_event_view(e) for e in state.events],
        "held": held,
        "several": len(state.events) > 1,
        "titles": titles,
        "news": has_news(state),
        "needs_you": bool(
            held
            or state.questions
            or state.undeliverable
            or state.quarantined
            or state.delivery_failures
        ),
        "commands": COMMAND_HELP,
        "sender": sender,
        "today": long_date(state.generated_at),
        "when": when,
        "who": _who,
        "status": _status,
    }
    text = env.get_template("digest.txt.j2").render(context)
    html = env.get_template("digest.html.j2").render(context)
    return text, html
