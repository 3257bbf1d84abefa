"""Build the iCalendar invitation (or its cancellation) for one booking: values in, bytes out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from icalendar import (
    Calendar,
    Component,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
)

from mailbot.domain import BookingView, EventInfo

__all__ = ["PRODID", "calendar_invite", "invite_uid"]

PRODID = "-//mailbot//booking//EN"

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def invite_uid(ref: str, domain: str) -> str:
    """The UID of a booking's calendar entry: one value for its whole life, so every later
    REQUEST updates the same entry and a CANCEL removes it."""
    ref, domain = ref.strip(), domain.strip()
    for part, value in (("ref", ref), ("domain", domain)):
        if not value or "@" in value or any(ch.isspace() or not ch.isprintable() for ch in value):
            raise ValueError(f"{part} {value!r} cannot appear in a calendar UID")
    # Lower-cased so a reference typed back in another case still names the same entry.
    return f"booking-{ref.lower()}@{domain.lower()}"


def calendar_invite(
    event: EventInfo,
    booking: BookingView,
    *,
    organiser_address: str,
    organiser_name: str,
    method: Literal["REQUEST", "CANCEL"],
    sequence: int,
    stamp: datetime,
) -> bytes:
    """A VCALENDAR with one VEVENT for `booking`, in the event's own zone, CRLF and folded.

    The caller owns `sequence`: it must grow with every change to the entry (a CANCEL
    after a REQUEST included), or calendars ignore the newer message.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method {method!r} is neither REQUEST nor CANCEL")
    if sequence < 0:
        raise ValueError("sequence cannot be negative")
    if not _is_aware(stamp):
        raise ValueError("stamp must be timezone-aware: DTSTAMP is written in UTC")
    zone = _named_zone(event.starts_at, "starts_at")
    _named_zone(event.ends_at, "ends_at")
    starts = event.starts_at.astimezone(zone)
    ends = event.ends_at.astimezone(zone)
    if ends <= starts:
        raise ValueError("the event must end after it starts")
    organiser = organiser_address.strip()
    local, at, domain = organiser.rpartition("@")
    if not local or not at or not domain:
        raise ValueError(f"organiser address {organiser_address!r} has no domain")

    timezone = _vtimezone_lines(zone, starts.year - 1, ends.year + 1)
    timed, location = _event_lines(
        starts, ends, event.title, event.venue, zone=zone, folds=(starts.fold, ends.fold)
    )
    # Only these lines differ between two bookings of one event: the rest comes from caches.
    entry = Event()
    entry.add("uid", invite_uid(booking.ref, domain))
    entry.add("sequence", sequence)
    entry.add("dtstamp", stamp.astimezone(UTC))
    entry.add("description", _description(booking, method))
    attendee = {"ROLE": "REQ-PARTICIPANT", "RSVP": "FALSE"}
    if method == "REQUEST":
        # The booking is confirmed before any invite goes out: nothing is left to answer.
        attendee["PARTSTAT"] = "ACCEPTED"
    if booking.name and booking.name.strip():
        attendee["CN"] = booking.name.strip()
    entry.add("attendee", _address(booking.email.strip(), attendee))
    # The order Calendar.to_ical writes one whole calendar in: each component's canonical
    # properties first, then the rest alphabetically. Any other order changes the bytes.
    return b"".join(
        (
            b"BEGIN:VCALENDAR\r\n",
            _calendar_lines(method),  # VERSION, PRODID, METHOD
            timezone,
            b"BEGIN:VEVENT\r\n",
            timed,  # SUMMARY, DTSTART, DTEND
            _property_lines(entry),  # DTSTAMP, UID, SEQUENCE, ATTENDEE, DESCRIPTION
            location,
            _organizer_line(organiser, organiser_name.strip()),
            _status_lines(method),  # STATUS, TRANSP
            b"END:VEVENT\r\nEND:VCALENDAR\r\n",
        )
    )


# ---- serialised fragments ----------------------------------------------------------------
#
# icalendar spends most of an invite's time turning properties into content lines, and all
# but a handful of them are the same for every booking of an event. These helpers serialise
# those once per distinct value; bytes are immutable, so a cached fragment cannot be altered
# by a caller.


def _property_lines(component: Component) -> bytes:
    """The folded, CRLF-ended property lines of a component that holds properties only."""
    assert not component.subcomponents  # nested BEGIN/END lines would be cut into pieces
    data: bytes = component.to_ical()  # icalendar leaves to_ical's return type untyped
    begin = f"BEGIN:{component.name}\r\n".encode()
    end = f"END:{component.name}\r\n".encode()
    assert data.startswith(begin) and data.endswith(end), data
    return data[len(begin) : -len(end)]


@lru_cache(maxsize=2)
def _calendar_lines(method: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    return _property_lines(calendar)


@lru_cache(maxsize=2)
def _status_lines(method: str) -> bytes:
    entry = Event()
    entry.add("status", "CONFIRMED" if method == "REQUEST" else "CANCELLED")
    entry.add("transp", "OPAQUE")
    return _property_lines(entry)


@lru_cache(maxsize=64)
def _event_lines(
    starts: datetime,
    ends: datetime,
    title: str,
    venue: str,
    *,
    zone: ZoneInfo,
    folds: tuple[int, int],
) -> tuple[bytes, bytes]:
    """SUMMARY, DTSTART and DTEND, then LOCATION, which sorts after the per-booking lines.

    `zone` and `folds` only complete the cache key: aware datetimes in two zones are equal
    at one instant (London and Dublin in winter), and so are the two readings of a wall time
    a clock change repeats, yet each can be written differently (TZID, or for a ZoneInfo
    without a key the zone's abbreviation at that moment).
    """
    timed = Event()
    timed.add("dtstart", starts)
    timed.add("dtend", ends)
    timed.add("summary", title)
    where = Event()
    where.add("location", venue)
    return _property_lines(timed), _property_lines(where)


@lru_cache(maxsize=64)
def _organizer_line(address: str, name: str) -> bytes:
    entry = Event()
    entry.add("organizer", _address(address, {"CN": name}))
    return _property_lines(entry)


def _is_aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


def _named_zone(moment: datetime, label: str) -> ZoneInfo:
    if not _is_aware(moment):
        raise ValueError(f"event {label} is naive: an invite needs the event's time zone")
    if not isinstance(moment.tzinfo, ZoneInfo):
        # A bare offset has no TZID, and calendars cannot move it across a clock change.
        raise ValueError(f"event {label} must be in a named zone such as Europe/London")
    return moment.tzinfo


def _address(email: str, params: dict[str, str]) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    for key, value in params.items():
        address.params[key] = value
    return address


def _description(booking: BookingView, method: str) -> str:
    reference = f"Booking reference: {booking.ref}"
    if method == "CANCEL":
        return f"{reference}\nThis place has been cancelled."
    return f"{reference}\nTo cancel: Reply CANCEL to the booking email."


# ---- VTIMEZONE ---------------------------------------------------------------------------
#
# icalendar's Timezone.from_tzid lists each clock change as a dated observance or an RDATE,
# never as an RRULE, and a window that holds only the event's day yields a STANDARD
# observance alone. Outlook reads only RRULE-based observances reliably, so for a zone whose
# clocks change twice a year on an "nth weekday of the month" (as Europe/London does) the
# rules are written out here; any other zone falls back to icalendar's generator.


@dataclass(frozen=True)
class _Change:
    """One clock change, described as the yearly rule it follows."""

    month: int
    weekday: int
    nth: int  # 1-4, or -1 for the last such weekday of the month
    wall: timedelta  # local time of day (before the change) at which it happens
    offset_from: timedelta
    offset_to: timedelta
    name: str
    onset: datetime  # naive local wall time, as an observance's DTSTART is written


@lru_cache(maxsize=64)
def _vtimezone_lines(zone: ZoneInfo, first_year: int, last_year: int) -> bytes:
    """The whole VTIMEZONE block, BEGIN and END lines included."""
    data: bytes = _vtimezone(zone, first_year, last_year).to_ical()
    return data


def _vtimezone(zone: ZoneInfo, first_year: int, last_year: int) -> Timezone:
    years = range(first_year, last_year + 1)
    per_year = [_changes(zone, year) for year in years]
    rules = {tuple(_rule(change) for change in changes) for changes in per_year}
    if len(rules) == 1 and len(per_year[0]) == 2:
        return _rule_timezone(zone.key, per_year[0])
    return Timezone.from_tzid(
        zone.key, first_date=date(years[0], 1, 1), last_date=date(years[-1] + 1, 1, 1)
    )


def _rule(change: _Change) -> tuple[object, ...]:
    return (
        change.month,
        change.weekday,
        change.nth,
        change.wall,
        change.offset_from,
        change.offset_to,
        change.name,
    )


def _rule_timezone(tzid: str, changes: tuple[_Change, ...]) -> Timezone:
    component = Timezone()
    component.add("tzid", tzid)
    # Some zones (Europe/Dublin) call winter the exception, so "daylight" is the larger offset.
    summer = max(change.offset_to for change in changes)
    for change in changes:
        observance = TimezoneDaylight() if change.offset_to == summer else TimezoneStandard()
        observance.add("dtstart", change.onset)
        byday = f"{change.nth}{_WEEKDAYS[change.weekday]}"
        observance.add("rrule", {"freq": "yearly", "bymonth": change.month, "byday": byday})
        observance.add("tzoffsetfrom", change.offset_from)
        observance.add("tzoffsetto", change.offset_to)
        observance.add("tzname", change.name)
        component.add_component(observance)
    return component


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset for an aware instant
    return offset


@lru_cache(maxsize=64)
def _changes(zone: ZoneInfo, year: int) -> tuple[_Change, ...]:
    """The clock changes of `zone` during `year`, found by sampling and then bisecting,
    since zoneinfo does not expose its transition table. Cached: finding them takes
    thousands of conversions, and every invite for an event asks for the same years."""
    found: list[_Change] = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    while day < end:
        following = day + timedelta(hours=12)
        before, after = _offset(zone, day), _offset(zone, following)
        if before != after:
            found.append(_change(zone, _bisect(zone, day, following), before, after))
        day = following
    return tuple(found)


def _bisect(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    first = _offset(zone, low)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _offset(zone, middle) == first:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def _change(zone: ZoneInfo, instant: datetime, before: timedelta, after: timedelta) -> _Change:
    onset = (instant + before).replace(tzinfo=None)
    following_week = onset + timedelta(days=7)
    return _Change(
        month=onset.month,
        weekday=onset.weekday(),
        nth=-1 if following_week.month != onset.month else (onset.day - 1) // 7 + 1,
        wall=onset - onset.replace(hour=0, minute=0, second=0),
        offset_from=before,
        offset_to=after,
        name=instant.astimezone(zone).tzname() or "",
        onset=onset,
    )
