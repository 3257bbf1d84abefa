"""Decide which event reminders fall due for which attendees at a given moment (pure, no I/O)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mailbot.domain import BookingStatus, EventInfo

# ASCII digits only: `\d` would also accept other scripts' digits, which config never means.
_OFFSET = re.compile(r"([0-9]+)([dhm])")
_MINUTES = {"d": 24 * 60, "h": 60, "m": 1}
# Ten years: longer than any reminder is meant to run ahead of its event, and short enough
# that taking it from an event's start stays within the calendar datetime can hold (a
# million days does not, and the reminder job would fail on it).
_LONGEST = timedelta(days=3660)


def parse_offset(text: str) -> timedelta:
    """The time before an event's start that a label such as "7d", "12h" or "30m" names.

    The one reading of an offset: config.toml is checked with it, so an offset that loads
    is one the reminder job can use.
    """
    match = _OFFSET.fullmatch(text)
    if match is None:
        raise ValueError(f'{text!r} is not a reminder offset like "7d", "12h" or "30m"')
    digits, unit = match[1].lstrip("0"), match[2]
    if not digits:
        # A zero offset would fall due at the start itself, when no reminder is ever sent.
        raise ValueError(f"{text!r} is not a usable reminder offset: it must be more than zero")
    # Counting the digits first keeps a thousand-digit number from reaching int().
    longest = _LONGEST // timedelta(minutes=1)
    if len(digits) > len(str(longest)) or int(digits) * _MINUTES[unit] > longest:
        raise ValueError(f"{text!r} is too large for a reminder offset: at most {_LONGEST.days}d")
    return timedelta(minutes=int(digits) * _MINUTES[unit])


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime (with a time zone), got {moment!r}")


@dataclass(frozen=True)
class Attendee:
    """A booking as the reminder rules see it; `booked_at` is aware."""

    ref: str
    email: str
    status: BookingStatus
    booked_at: datetime

    def __post_init__(self) -> None:
        _require_aware(self.booked_at, f"booked_at of {self.ref}")


@dataclass(frozen=True)
class Due:
    """One reminder to send now, and the earlier ones it replaces.

    `skipped` must be recorded as sent, so that a reminder passed over after downtime is
    never sent later, out of order.
    """

    ref: str
    offset: str
    due_at: datetime
    skipped: tuple[str, ...] = ()


def due_at(starts_at: datetime, label: str) -> datetime:
    """When an offset such as "7d" falls due before `starts_at`."""
    delta = parse_offset(label)
    zone = starts_at.tzinfo
    if label.endswith("d"):
        # People read "a day before" as the same clock time the day before, even across a
        # clock change; arithmetic on a zoned datetime keeps the wall clock. The round trip
        # through UTC moves a time that the change skipped to one that exists.
        return (starts_at - delta).astimezone(UTC).astimezone(zone)
    # Hours and minutes are elapsed time: "12h" is twelve real hours whatever the clocks do.
    return (starts_at.astimezone(UTC) - delta).astimezone(zone)


def _schedule(event: EventInfo, offsets: Sequence[str]) -> list[tuple[datetime, str]]:
    """(due time, label) for each distinct label, earliest first; bad labels raise."""
    _require_aware(event.starts_at, f"the start of {event.slug}")
    labels = dict.fromkeys(offsets)
    return sorted((due_at(event.starts_at, label), label) for label in labels)


def due_reminders(
    event: EventInfo,
    attendees: Iterable[Attendee],
    offsets: Sequence[str],
    sent: Collection[tuple[str, str]],
    now: datetime,
) -> list[Due]:
    """The reminders to send at `now`: at most one per confirmed attendee, in attendee order.

    A reminder is due from its offset's moment until the event starts, unless its
    (ref, label) is in `sent`, a reminder due no earlier is in `sent`, or the attendee
    booked after that moment. When several are due at once (the scheduler was down), only
    the one closest to the event is sent and the others are returned in `skipped`.
    """
    _require_aware(now, "now")
    schedule = _schedule(event, offsets)
    if now >= event.starts_at:
        return []
    done = set(sent)
    seen: set[str] = set()
    result: list[Due] = []
    for attendee in attendees:
        if attendee.status != BookingStatus.CONFIRMED or attendee.ref in seen:
            continue
        seen.add(attendee.ref)
        # Once a reminder has gone, an earlier one would arrive out of order (say after an
        # offset was added to the config), so only those due after it are still owed.
        last_sent = max(
            (at for at, label in schedule if (attendee.ref, label) in done), default=None
        )
        pending = [
            (at, label)
            for at, label in schedule
            if attendee.booked_at <= at <= now and (last_sent is None or at > last_sent)
        ]
        if not pending:
            continue
        *earlier, (at, label) = pending
        result.append(Due(attendee.ref, label, at, tuple(label for _, label in earlier)))
    return result


def next_due_at(event: EventInfo, offsets: Sequence[str], now: datetime) -> datetime | None:
    """The first moment after `now` at which some offset falls due; None once all have."""
    _require_aware(now, "now")
    return min((at for at, _ in _schedule(event, offsets) if at > now), default=None)
