"""Read a meeting reply (an iCalendar text/calendar part): who answered, and how."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from icalendar import Calendar, Component

_MAILTO = "mailto:"
# Replies normally describe one event; these are the components a reply can answer.
_ANSWERABLE = ("VEVENT", "VTODO", "VJOURNAL")


@dataclass(frozen=True)
class CalendarReply:
    """The calendar's METHOD and the first attendee's answer; unknowns are None."""

    method: str  # upper case, e.g. "REPLY", "REQUEST"
    partstat: str | None  # upper case, e.g. "ACCEPTED", "DECLINED", "TENTATIVE"
    uid: str | None
    attendee: str | None  # lower-cased address, without "mailto:"


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _address(value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if text.lower().startswith(_MAILTO):
        text = text[len(_MAILTO) :]
    return text.strip().lower() or None


def _attendees(component: Component) -> list[object]:
    found = component.get("ATTENDEE")
    if found is None:
        return []
    # icalendar gives one value for a single ATTENDEE line and a list for several.
    return list(found) if isinstance(found, list) else [found]


def _partstat(attendee: object) -> str | None:
    params = getattr(attendee, "params", None)
    if params is None:
        return None
    return _text(params.get("PARTSTAT"))


def _reply_from(calendar: Calendar) -> CalendarReply | None:
    method = _text(calendar.get("METHOD"))
    if method is None:
        return None
    for component in calendar.walk():
        if component.name not in _ANSWERABLE:
            continue
        attendees = _attendees(component)
        # Prefer an attendee who actually answered; a bare ATTENDEE line says nothing.
        chosen = next((a for a in attendees if _partstat(a)), attendees[0] if attendees else None)
        partstat = _partstat(chosen) if chosen is not None else None
        return CalendarReply(
            method=method.upper(),
            partstat=partstat.upper() if partstat else None,
            uid=_text(component.get("UID")),
            attendee=_address(chosen),
        )
    return CalendarReply(method=method.upper(), partstat=None, uid=None, attendee=None)


def calendar_reply(ics_text: str) -> CalendarReply | None:
    """The reply a text/calendar part carries; None for anything unreadable or method-less."""
    if not ics_text.strip():
        return None
    # Only here: most mail has no calendar part, and icalendar takes 40 ms to import.
    from icalendar import Calendar

    try:
        parsed = Calendar.from_ical(ics_text)
        if not isinstance(parsed, Calendar):
            return None
        return _reply_from(parsed)
    except Exception:
        # The part comes from strangers' mail clients: a broken one must never stop a booking.
        return None
