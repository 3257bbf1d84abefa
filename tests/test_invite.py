"""Tests for mailbot.outbound.invite: the invitation bytes, parsed back with icalendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from mailbot.domain import BookingStatus, BookingView, EventInfo
from mailbot.outbound.invite import calendar_invite, invite_uid
from tests.values import FORUM, LONDON

ORGANISER = "cse-forum@uni.example.ac.uk"
ORGANISER_NAME = "Dr Rhiannon Example"
STAMP = datetime(2027, 1, 5, 9, 30, tzinfo=UTC)

SIAN = BookingView(
    ref="CSE-7Q2K",
    event_slug=FORUM.slug,
    email="sian.llewelyn-jones@police.example.uk",
    status=BookingStatus.CONFIRMED,
    name="Llewelyn-Jones, Siân",
)
NIAMH = BookingView(
    ref="CSE-M4TX",
    event_slug=FORUM.slug,
    email="niamh.oconnor@police.example.uk",
    status=BookingStatus.CONFIRMED,
    name="Niamh O'Connor",
)


def invite(
    method: Literal["REQUEST", "CANCEL"] = "REQUEST",
    *,
    booking: BookingView = SIAN,
    event: EventInfo = FORUM,
    sequence: int = 0,
    stamp: datetime = STAMP,
) -> bytes:
    return calendar_invite(
        event,
        booking,
        organiser_address=ORGANISER,
        organiser_name=ORGANISER_NAME,
        method=method,
        sequence=sequence,
        stamp=stamp,
    )


def parse(data: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(data)
    assert isinstance(calendar, Calendar)
    events = calendar.events
    assert len(events) == 1
    return calendar, events[0]


def on(day: int, month: int, zone: ZoneInfo = LONDON) -> EventInfo:
    return replace(
        FORUM,
        starts_at=datetime(2027, month, day, 11, 0, tzinfo=zone),
        ends_at=datetime(2027, month, day, 15, 45, tzinfo=zone),
    )


def param(value: Any, name: str) -> str | None:
    found = value.params.get(name)
    return None if found is None else str(found)


# ---- the calendar and its event --------------------------------------------------------------


def test_request_calendar_properties() -> None:
    calendar, _ = parse(invite("REQUEST"))
    assert str(calendar["PRODID"]) == "-//mailbot//booking//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "REQUEST"


def test_request_event_fields() -> None:
    _, event = parse(invite("REQUEST", sequence=3))
    assert str(event["UID"]) == "booking-cse-7q2k@uni.example.ac.uk"
    assert event.decoded("SEQUENCE") == 3
    assert event.decoded("DTSTAMP") == STAMP
    assert str(event["SUMMARY"]) == FORUM.title
    assert str(event["LOCATION"]) == FORUM.venue
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["TRANSP"]) == "OPAQUE"
    description = str(event["DESCRIPTION"])
    assert "CSE-7Q2K" in description
    assert "Reply CANCEL to the booking email" in description


def test_request_organiser_and_attendee() -> None:
    _, event = parse(invite("REQUEST"))
    organiser = event["ORGANIZER"]
    assert str(organiser) == f"mailto:{ORGANISER}"
    assert param(organiser, "CN") == ORGANISER_NAME
    attendee = event["ATTENDEE"]
    assert str(attendee) == f"mailto:{SIAN.email}"
    assert param(attendee, "CN") == "Llewelyn-Jones, Siân"
    assert param(attendee, "ROLE") == "REQ-PARTICIPANT"
    assert param(attendee, "PARTSTAT") == "ACCEPTED"
    assert param(attendee, "RSVP") == "FALSE"


def test_cancel_fields() -> None:
    calendar, event = parse(invite("CANCEL", sequence=1))
    assert str(calendar["PRODID"]) == "-//mailbot//booking//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["UID"]) == "booking-cse-7q2k@uni.example.ac.uk"
    assert event.decoded("SEQUENCE") == 1
    assert event.decoded("DTSTAMP") == STAMP
    assert event.decoded("DTSTART") == FORUM.starts_at
    assert event.decoded("DTEND") == FORUM.ends_at
    assert str(event["SUMMARY"]) == FORUM.title
    assert str(event["LOCATION"]) == FORUM.venue
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["TRANSP"]) == "OPAQUE"
    assert "CSE-7Q2K" in str(event["DESCRIPTION"])
    assert str(event["ORGANIZER"]) == f"mailto:{ORGANISER}"
    assert param(event["ORGANIZER"], "CN") == ORGANISER_NAME
    attendee = event["ATTENDEE"]
    assert str(attendee) == f"mailto:{SIAN.email}"
    assert param(attendee, "CN") == "Llewelyn-Jones, Siân"
    assert param(attendee, "ROLE") == "REQ-PARTICIPANT"
    assert param(attendee, "RSVP") == "FALSE"
    # The organiser does not speak for the attendee about a place that no longer exists.
    assert param(attendee, "PARTSTAT") is None


def test_stamp_is_written_in_utc() -> None:
    summer_stamp = datetime(2026, 7, 1, 10, 15, tzinfo=LONDON)
    data = invite(stamp=summer_stamp)
    assert b"DTSTAMP:20260701T091500Z\r\n" in data
    _, event = parse(data)
    assert event.decoded("DTSTAMP") == summer_stamp


def test_attendee_without_a_name_has_no_cn() -> None:
    _, event = parse(invite(booking=replace(SIAN, name=None)))
    assert param(event["ATTENDEE"], "CN") is None
    assert str(event["ATTENDEE"]) == f"mailto:{SIAN.email}"


def test_same_inputs_give_the_same_bytes() -> None:
    assert invite("REQUEST") == invite("REQUEST")


# ---- identity and ordering of updates ---------------------------------------------------------


def test_uid_is_shared_by_request_and_cancel_of_one_booking() -> None:
    _, request = parse(invite("REQUEST", sequence=0))
    _, cancel = parse(invite("CANCEL", sequence=1))
    assert str(request["UID"]) == str(cancel["UID"])


def test_uid_differs_between_bookings() -> None:
    _, first = parse(invite(booking=SIAN))
    _, second = parse(invite(booking=NIAMH))
    assert str(first["UID"]) != str(second["UID"])


def test_cancel_sequence_follows_the_request() -> None:
    _, request = parse(invite("REQUEST", sequence=0))
    _, cancel = parse(invite("CANCEL", sequence=1))
    assert cancel.decoded("SEQUENCE") > request.decoded("SEQUENCE")


def test_invite_uid_is_stable_and_lower_cased() -> None:
    assert invite_uid("CSE-7Q2K", "uni.example.ac.uk") == "booking-cse-7q2k@uni.example.ac.uk"
    assert invite_uid("cse-7q2k", "Uni.Example.AC.uk") == invite_uid(
        "CSE-7Q2K", "uni.example.ac.uk"
    )


@pytest.mark.parametrize(
    ("ref", "domain"),
    [("", "example.org"), ("CSE 7Q2K", "example.org"), ("CSE-7Q2K", ""), ("a@b", "example.org")],
)
def test_invite_uid_rejects_what_cannot_be_a_uid(ref: str, domain: str) -> None:
    with pytest.raises(ValueError):
        invite_uid(ref, domain)


# ---- times and the VTIMEZONE ------------------------------------------------------------------


def vtimezone_zone(calendar: Calendar) -> Any:
    """The zone described by the calendar's own VTIMEZONE, not the system's tz database."""
    timezones = calendar.timezones
    assert len(timezones) == 1
    return timezones[0].to_tz(lookup_tzid=False)


@pytest.mark.parametrize(
    ("event", "utc_start", "utc_end"),
    [
        (FORUM, datetime(2027, 3, 10, 11, 0), datetime(2027, 3, 10, 15, 45)),
        (on(10, 6), datetime(2027, 6, 10, 10, 0), datetime(2027, 6, 10, 14, 45)),
    ],
    ids=["winter-gmt", "summer-bst"],
)
def test_times_round_trip_through_the_vtimezone(
    event: EventInfo, utc_start: datetime, utc_end: datetime
) -> None:
    calendar, parsed = parse(invite(event=event))
    start, end = parsed["DTSTART"], parsed["DTEND"]
    assert param(start, "TZID") == "Europe/London"
    assert param(end, "TZID") == "Europe/London"
    assert parsed.decoded("DTSTART") == event.starts_at
    assert parsed.decoded("DTSTART").replace(tzinfo=None) == event.starts_at.replace(tzinfo=None)

    zone = vtimezone_zone(calendar)
    local_start = parsed.decoded("DTSTART").replace(tzinfo=zone)
    local_end = parsed.decoded("DTEND").replace(tzinfo=zone)
    assert local_start.astimezone(UTC) == utc_start.replace(tzinfo=UTC)
    assert local_end.astimezone(UTC) == utc_end.replace(tzinfo=UTC)


def test_wall_clock_times_are_written_with_tzid() -> None:
    data = invite()
    assert b"DTSTART;TZID=Europe/London:20270310T110000\r\n" in data
    assert b"DTEND;TZID=Europe/London:20270310T154500\r\n" in data


def test_vtimezone_has_gmt_and_bst_rules() -> None:
    calendar, _ = parse(invite())
    (component,) = calendar.timezones
    assert str(component["TZID"]) == "Europe/London"
    observances = {sub.name: sub for sub in component.subcomponents}
    assert set(observances) == {"STANDARD", "DAYLIGHT"}
    standard, daylight = observances["STANDARD"], observances["DAYLIGHT"]
    assert str(standard["TZNAME"]) == "GMT"
    assert standard.decoded("TZOFFSETFROM") == timedelta(hours=1)
    assert standard.decoded("TZOFFSETTO") == timedelta(0)
    assert str(daylight["TZNAME"]) == "BST"
    assert daylight.decoded("TZOFFSETFROM") == timedelta(0)
    assert daylight.decoded("TZOFFSETTO") == timedelta(hours=1)
    # Outlook follows RRULEs; lists of dates (RDATE) it reads unreliably.
    assert standard["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"
    assert daylight["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"
    assert "RDATE" not in standard
    assert "RDATE" not in daylight
    # The rules must already be in force on the day of the event.
    assert standard.decoded("DTSTART") < FORUM.starts_at.replace(tzinfo=None)
    assert daylight.decoded("DTSTART") < FORUM.starts_at.replace(tzinfo=None)


def test_vtimezone_covers_the_clock_changes_around_the_event() -> None:
    calendar, _ = parse(invite())
    zone = vtimezone_zone(calendar)
    for moment, hours in [
        (datetime(2027, 3, 28, 0, 59), 0),  # just before BST begins at 01:00 UTC
        (datetime(2027, 3, 28, 2, 0), 1),
        (datetime(2027, 10, 31, 0, 30), 1),
        (datetime(2027, 10, 31, 2, 0), 0),
        (datetime(2028, 7, 1, 12, 0), 1),
    ]:
        utc = moment.replace(tzinfo=UTC)
        assert utc.astimezone(zone).utcoffset() == timedelta(hours=hours), moment


@pytest.mark.parametrize("key", ["Australia/Sydney", "America/New_York", "Asia/Tokyo"])
def test_other_zones_get_a_matching_vtimezone(key: str) -> None:
    zone = ZoneInfo(key)
    for month in (1, 7):
        event = on(10, month, zone)
        calendar, parsed = parse(invite(event=event))
        assert str(calendar.timezones[0]["TZID"]) == key
        assert param(parsed["DTSTART"], "TZID") == key
        local = parsed.decoded("DTSTART").replace(tzinfo=vtimezone_zone(calendar))
        assert local.astimezone(UTC) == event.starts_at.astimezone(UTC)


# ---- text that needs escaping ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Llewelyn-Jones, Siân",
        "Niamh O'Connor",
        "Seán Ó Súilleabháin; DS: Unit 4",
        'Sgt "Jo" Bloggs',
    ],
)
def test_attendee_names_survive(name: str) -> None:
    _, event = parse(invite(booking=replace(SIAN, name=name)))
    assert param(event["ATTENDEE"], "CN") == name
    assert str(event["ATTENDEE"]) == f"mailto:{SIAN.email}"


def test_organiser_name_with_apostrophe_survives() -> None:
    data = calendar_invite(
        FORUM,
        NIAMH,
        organiser_address=ORGANISER,
        organiser_name="Dr Siobhán O'Brien, Forum Lead",
        method="REQUEST",
        sequence=0,
        stamp=STAMP,
    )
    _, event = parse(data)
    assert param(event["ORGANIZER"], "CN") == "Dr Siobhán O'Brien, Forum Lead"
    assert param(event["ATTENDEE"], "CN") == "Niamh O'Connor"


def test_venue_with_commas_and_semicolons_is_escaped() -> None:
    venue = "Harrington Building; Room 104, University of Central Lancashire, Preston, PR1 2HE"
    data = invite(event=replace(FORUM, venue=venue))
    unfolded = data.replace(b"\r\n ", b"")
    assert (
        b"LOCATION:Harrington Building\\; Room 104\\, University of Central Lancashire\\, "
        b"Preston\\, PR1 2HE\r\n"
    ) in unfolded
    _, event = parse(data)
    assert str(event["LOCATION"]) == venue


# ---- the wire format -------------------------------------------------------------------------


def test_lines_end_in_crlf_and_fit_75_octets() -> None:
    long_name = "Llewelyn-Jones, Siân Ffion Angharad Ó Súilleabháin-Nic Giolla Phádraig"
    event = replace(FORUM, title=FORUM.title + " — a forum for Siân, Niamh and colleagues")
    data = invite(booking=replace(SIAN, name=long_name), event=event)
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines), "nothing was long enough to fold"
    data.decode("utf-8")  # folding never splits a multi-byte character
    _, parsed = parse(data)
    assert param(parsed["ATTENDEE"], "CN") == long_name
    assert str(parsed["SUMMARY"]) == event.title


# ---- parts shared between invites -----------------------------------------------------------
#
# The lines an event's invites have in common are serialised once and spliced around each
# booking's own lines; these tests catch a splice out of order or a part reused for the
# wrong event.


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
@pytest.mark.parametrize(
    "event",
    [
        FORUM,
        on(10, 6),
        on(10, 1, ZoneInfo("Asia/Kolkata")),
        on(10, 7, ZoneInfo("Australia/Sydney")),
    ],
    ids=["london-winter", "london-summer", "kolkata", "sydney"],
)
def test_icalendar_writes_back_the_same_bytes(
    event: EventInfo, method: Literal["REQUEST", "CANCEL"]
) -> None:
    # icalendar writes properties in its own order and folds and escapes them its own way,
    # so a misplaced or mangled fragment comes back different.
    booking = replace(SIAN, name="Seán Ó Súilleabháin; DS: Unit 4, Lancashire Constabulary")
    data = invite(method, booking=booking, event=event, sequence=2)
    assert Calendar.from_ical(data).to_ical() == data


def test_each_booking_of_one_event_gets_one_whole_calendar() -> None:
    for booking in (SIAN, NIAMH, SIAN):
        data = invite(booking=booking)
        assert data.count(b"BEGIN:VCALENDAR\r\n") == data.count(b"END:VCALENDAR\r\n") == 1
        calendar, event = parse(data)
        assert len(calendar.timezones) == 1
        assert len(calendar.subcomponents) == 2
        assert str(event["UID"]) == invite_uid(booking.ref, "uni.example.ac.uk")
        assert str(event["ATTENDEE"]) == f"mailto:{booking.email}"
        assert param(event["ATTENDEE"], "CN") == booking.name
        assert event.decoded("DTSTART") == FORUM.starts_at
        assert event.decoded("DTEND") == FORUM.ends_at
        assert param(event["ORGANIZER"], "CN") == ORGANISER_NAME


@pytest.mark.parametrize(
    "other",
    [
        # Equal datetimes to the forum's (both zones are at +00:00 in January): a cache
        # keyed on the times alone would hand back London's lines.
        on(10, 1, ZoneInfo("Europe/Dublin")),
        replace(
            FORUM,
            title="Second forum; Sydney, NSW",
            venue="Harbour Room, Sydney",
            starts_at=datetime(2027, 3, 11, 10, 0, tzinfo=ZoneInfo("Australia/Sydney")),
            ends_at=datetime(2027, 3, 11, 16, 0, tzinfo=ZoneInfo("Australia/Sydney")),
        ),
        replace(
            FORUM,
            starts_at=datetime(2090, 3, 10, 11, 0, tzinfo=LONDON),
            ends_at=datetime(2090, 3, 10, 15, 45, tzinfo=LONDON),
        ),
    ],
    ids=["dublin-same-instant", "sydney-other-text", "london-other-years"],
)
def test_another_event_does_not_reuse_the_first_events_lines(other: EventInfo) -> None:
    first = on(10, 1)
    before = invite(event=first)
    calendar, event = parse(invite(event=other))
    key = str(other.starts_at.tzinfo)
    (component,) = calendar.timezones
    assert str(component["TZID"]) == key
    assert param(event["DTSTART"], "TZID") == key
    assert event.decoded("DTSTART").replace(tzinfo=None) == other.starts_at.replace(tzinfo=None)
    assert event.decoded("DTEND").replace(tzinfo=None) == other.ends_at.replace(tzinfo=None)
    assert str(event["SUMMARY"]) == other.title
    assert str(event["LOCATION"]) == other.venue
    # The observances start the year before the event, whatever year an earlier invite had.
    for observance in component.subcomponents:
        assert observance.decoded("DTSTART").year == other.starts_at.year - 1
    assert invite(event=first) == before


# ---- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_naive_event_time_is_refused(field: str) -> None:
    naive = getattr(FORUM, field).replace(tzinfo=None)
    with pytest.raises(ValueError, match="naive"):
        invite(event=replace(FORUM, **{field: naive}))


def test_naive_stamp_is_refused() -> None:
    with pytest.raises(ValueError):
        invite(stamp=datetime(2027, 1, 5, 9, 30))


def test_fixed_offset_event_time_is_refused() -> None:
    fixed = timezone(timedelta(hours=0))
    with pytest.raises(ValueError, match="named zone"):
        invite(event=replace(FORUM, starts_at=FORUM.starts_at.replace(tzinfo=fixed)))


def test_organiser_address_needs_a_domain() -> None:
    with pytest.raises(ValueError):
        calendar_invite(
            FORUM,
            SIAN,
            organiser_address="cse-forum",
            organiser_name=ORGANISER_NAME,
            method="REQUEST",
            sequence=0,
            stamp=STAMP,
        )


def test_negative_sequence_is_refused() -> None:
    with pytest.raises(ValueError):
        invite(sequence=-1)
