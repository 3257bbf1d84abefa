"""The reminder timing rules, driven by a simulated scheduler on a controllable clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mailbot.domain import BookingStatus, EventInfo
from mailbot.rules.reminders import Attendee, Due, due_reminders, next_due_at, parse_offset
from tests.values import FORUM, LONDON

START = FORUM.starts_at
OFFSETS = ("7d", "1d")
HOUR = timedelta(hours=1)


def attendee(
    ref: str, booked_before: timedelta, status: BookingStatus = BookingStatus.CONFIRMED
) -> Attendee:
    return Attendee(ref, f"{ref.lower()}@lancashire.police.uk", status, START - booked_before)


def hourly(event: EventInfo, skip: tuple[timedelta, timedelta] | None = None) -> Iterator[datetime]:
    """Ticks every real hour from 10 days before the start to a day after, in London time.

    `skip` is a (from, until) window before the start during which the scheduler is down.
    """
    start = event.starts_at.astimezone(UTC)
    now = start - timedelta(days=10)
    while now <= start + timedelta(days=1):
        down = skip is not None and start - skip[0] <= now < start - skip[1]
        if not down:
            yield now.astimezone(LONDON)
        now += HOUR


def run(
    event: EventInfo,
    attendees: list[Attendee],
    ticks: Iterator[datetime],
    offsets: tuple[str, ...] = OFFSETS,
) -> list[tuple[datetime, Due]]:
    """Every reminder sent, with the tick that sent it; skipped ones count as sent."""
    sent: set[tuple[str, str]] = set()
    log: list[tuple[datetime, Due]] = []
    for now in ticks:
        for due in due_reminders(event, attendees, offsets, sent, now):
            log.append((now, due))
            sent.add((due.ref, due.offset))
            sent.update((due.ref, label) for label in due.skipped)
    return log


def sent_to(log: list[tuple[datetime, Due]], ref: str) -> list[tuple[str, datetime]]:
    return [(due.offset, now) for now, due in log if due.ref == ref]


# --- offsets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("1d", timedelta(days=1)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("90m", timedelta(minutes=90)),
        ("007d", timedelta(days=7)),
        ("3660d", timedelta(days=3660)),  # ten years, the longest
        ("87840h", timedelta(days=3660)),
    ],
)
def test_offsets_parse(text: str, expected: timedelta) -> None:
    assert parse_offset(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "7",
        "d",
        "7w",
        "7D",
        "-1d",
        "+1d",
        "1.5h",
        " 7d",
        "7d ",
        "7d\n",
        "7 d",
        "1d12h",
        "0d",
        "0m",
        "\u0667d",
        "99999999999d",
        "3661d",
        "87841h",
        "999999d",  # a timedelta, but a million days before 2099 is before the year 1
        "9999999999m",
        "1" * 5000 + "d",  # more digits than int() reads
    ],
)
def test_bad_offsets_raise(text: str) -> None:
    with pytest.raises(ValueError, match="offset"):
        parse_offset(text)


def test_the_longest_offset_falls_due_within_the_calendar() -> None:
    assert next_due_at(FORUM, ["3660d"], START - timedelta(days=4000)) is not None


def test_a_bad_offset_raises_even_when_nobody_is_due() -> None:
    with pytest.raises(ValueError, match="'1week'"):
        due_reminders(FORUM, [], ["7d", "1week"], set(), START - timedelta(days=30))
    with pytest.raises(ValueError, match="'1week'"):
        next_due_at(FORUM, ["1week"], START - timedelta(days=30))


# --- a scheduler running every hour ----------------------------------------------------------

EVERYONE = [
    attendee("EARLY", timedelta(days=30)),
    attendee("WAIT", timedelta(days=30), BookingStatus.WAITLISTED),
    attendee("GONE", timedelta(days=30), BookingStatus.CANCELLED),
    attendee("HELD", timedelta(days=30), BookingStatus.HELD),
    attendee("NO", timedelta(days=30), BookingStatus.DECLINED),
    attendee("LATE", timedelta(days=3)),
    attendee("ON-THE-DOT", timedelta(days=7)),
    attendee("JUST-AFTER", timedelta(days=7) - timedelta(minutes=1)),
    attendee("LAST-MINUTE", timedelta(hours=2)),
]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("EARLY", [("7d", START - timedelta(days=7)), ("1d", START - timedelta(days=1))]),
        ("WAIT", []),
        ("GONE", []),
        ("HELD", []),
        ("NO", []),
        ("LATE", [("1d", START - timedelta(days=1))]),
        ("ON-THE-DOT", [("7d", START - timedelta(days=7)), ("1d", START - timedelta(days=1))]),
        ("JUST-AFTER", [("1d", START - timedelta(days=1))]),
        ("LAST-MINUTE", []),
    ],
)
def test_hourly_scheduler_sends_each_reminder_once_at_its_time(
    ref: str, expected: list[tuple[str, datetime]]
) -> None:
    log = run(FORUM, EVERYONE, hourly(FORUM))
    assert sent_to(log, ref) == expected
    assert all(due.skipped == () for _, due in log)
    assert all(due.due_at == now for now, due in log)  # on-the-hour ticks hit each moment


def test_a_scheduler_off_the_hour_sends_at_the_first_tick_after_each_moment() -> None:
    ticks = (now + timedelta(minutes=20) for now in hourly(FORUM))
    log = run(FORUM, [attendee("EARLY", timedelta(days=30))], ticks)
    assert [(due.offset, now - due.due_at) for now, due in log] == [
        ("7d", timedelta(minutes=20)),
        ("1d", timedelta(minutes=20)),
    ]


def test_after_downtime_only_the_latest_reminder_is_sent_and_the_rest_recorded_skipped() -> None:
    ticks = hourly(FORUM, skip=(timedelta(days=8), timedelta(hours=12)))
    log = run(FORUM, EVERYONE, ticks)
    catch_up = START - timedelta(hours=12)
    assert sent_to(log, "EARLY") == [("1d", catch_up)]
    assert sent_to(log, "ON-THE-DOT") == [("1d", catch_up)]
    assert sent_to(log, "LATE") == [("1d", catch_up)]
    skipped = {due.ref: due.skipped for _, due in log}
    # A late booker was never owed the "7d" reminder, so it is not passed over either.
    assert skipped == {"EARLY": ("7d",), "ON-THE-DOT": ("7d",), "LATE": (), "JUST-AFTER": ()}


def test_a_scheduler_that_sleeps_until_next_due_at_sends_the_same() -> None:
    def ticks() -> Iterator[datetime]:
        now: datetime | None = START - timedelta(days=10)
        while now is not None:
            yield now
            now = next_due_at(FORUM, OFFSETS, now)

    log = run(FORUM, EVERYONE, ticks())
    assert [(due.ref, due.offset, now) for now, due in log] == [
        ("EARLY", "7d", START - timedelta(days=7)),
        ("ON-THE-DOT", "7d", START - timedelta(days=7)),
        ("EARLY", "1d", START - timedelta(days=1)),
        ("LATE", "1d", START - timedelta(days=1)),
        ("ON-THE-DOT", "1d", START - timedelta(days=1)),
        ("JUST-AFTER", "1d", START - timedelta(days=1)),
    ]


# --- single calls --------------------------------------------------------------------------

EARLY = attendee("EARLY", timedelta(days=30))
NONE: frozenset[tuple[str, str]] = frozenset()


@pytest.mark.parametrize(
    ("now", "offsets", "sent", "expected"),
    [
        (START - timedelta(days=7, microseconds=1), OFFSETS, NONE, []),
        (START - timedelta(days=7), OFFSETS, NONE, [Due("EARLY", "7d", START - timedelta(days=7))]),
        (START - timedelta(days=2), OFFSETS, {("EARLY", "7d")}, []),
        (
            START - timedelta(minutes=1),
            OFFSETS,
            NONE,
            [Due("EARLY", "1d", START - timedelta(days=1), ("7d",))],
        ),
        (START - timedelta(minutes=1), OFFSETS, {("EARLY", "1d")}, []),
        (START - timedelta(minutes=1), OFFSETS, {("EARLY", "7d"), ("EARLY", "1d")}, []),
        (START, OFFSETS, NONE, []),
        (START + timedelta(hours=1), OFFSETS, NONE, []),
        (START + timedelta(days=3), OFFSETS, NONE, []),
        # Order and repeats in the configured list make no difference.
        (
            START - timedelta(hours=1),
            ("1d", "7d", "1d", "12h"),
            NONE,
            [Due("EARLY", "12h", START - timedelta(hours=12), ("7d", "1d"))],
        ),
        (
            START - timedelta(hours=1),
            ("12h", "12h"),
            NONE,
            [Due("EARLY", "12h", START - timedelta(hours=12))],
        ),
        (START - timedelta(hours=1), (), NONE, []),
        # Two labels for the same moment make one mail, not two.
        (
            START - timedelta(hours=1),
            ("24h", "1d"),
            NONE,
            [Due("EARLY", "24h", START - timedelta(days=1), ("1d",))],
        ),
        (START - timedelta(hours=1), ("24h", "1d"), {("EARLY", "1d")}, []),
    ],
)
def test_one_call(
    now: datetime,
    offsets: tuple[str, ...],
    sent: frozenset[tuple[str, str]],
    expected: list[Due],
) -> None:
    assert due_reminders(FORUM, [EARLY], offsets, sent, now) == expected


def test_at_most_one_reminder_per_attendee_even_when_listed_twice() -> None:
    now = START - timedelta(days=6)
    due = due_reminders(FORUM, [EARLY, EARLY], OFFSETS, set(), now)
    assert due == [Due("EARLY", "7d", START - timedelta(days=7))]


def test_status_may_be_given_as_its_stored_string() -> None:
    held = Attendee("X", "x@lancashire.police.uk", BookingStatus("held"), START - timedelta(days=9))
    assert due_reminders(FORUM, [held], OFFSETS, set(), START - timedelta(days=6)) == []


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (START - timedelta(days=10), START - timedelta(days=7)),
        (START - timedelta(days=7, microseconds=1), START - timedelta(days=7)),
        (START - timedelta(days=7), START - timedelta(days=1)),  # strictly after now
        (START - timedelta(days=3), START - timedelta(days=1)),
        (START - timedelta(days=1), None),
        (START + timedelta(days=1), None),
    ],
)
def test_next_due_at(now: datetime, expected: datetime | None) -> None:
    assert next_due_at(FORUM, ["1d", "7d", "7d"], now) == expected


# --- naive datetimes -----------------------------------------------------------------------


def test_naive_datetimes_raise() -> None:
    naive = datetime(2027, 3, 1, 9, 0)
    with pytest.raises(ValueError, match="now must be an aware datetime"):
        due_reminders(FORUM, [EARLY], OFFSETS, set(), naive)
    with pytest.raises(ValueError, match="now must be an aware datetime"):
        next_due_at(FORUM, OFFSETS, naive)
    with pytest.raises(ValueError, match="booked_at of R1"):
        Attendee("R1", "r1@lancashire.police.uk", BookingStatus.CONFIRMED, naive)
    naive_event = replace(FORUM, starts_at=START.replace(tzinfo=None))
    with pytest.raises(ValueError, match="start of cse-forum-preston"):
        due_reminders(naive_event, [], OFFSETS, set(), START - timedelta(days=2))
    with pytest.raises(ValueError, match="start of cse-forum-preston"):
        next_due_at(naive_event, OFFSETS, START - timedelta(days=2))


# --- clock changes in Europe/London --------------------------------------------------------


def on(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def event_at(starts_at: datetime) -> EventInfo:
    return replace(FORUM, starts_at=starts_at, ends_at=starts_at + timedelta(hours=4, minutes=45))


# Clocks go forward on 28 March 2027 and back on 31 October 2027. Days keep the clock time;
# hours and minutes are real elapsed time.
@pytest.mark.parametrize(
    ("starts_at", "offset", "due_at", "utc_offset_hours"),
    [
        (on(2027, 3, 30, 11), "7d", on(2027, 3, 23, 11), 0),
        (on(2027, 3, 30, 11), "1d", on(2027, 3, 29, 11), 1),
        (on(2027, 3, 28, 11), "1d", on(2027, 3, 27, 11), 0),
        (on(2027, 3, 28, 11), "12h", on(2027, 3, 27, 22), 0),
        (on(2027, 3, 28, 3), "2h", on(2027, 3, 28, 0), 0),
        (on(2027, 11, 2, 11), "7d", on(2027, 10, 26, 11), 1),
        (on(2027, 10, 31, 11), "1d", on(2027, 10, 30, 11), 1),
        (on(2027, 10, 31, 11), "12h", on(2027, 10, 31, 0), 1),
        # 01:30 on 28 March never shows on a London clock; the reminder goes at 02:30 instead.
        (on(2027, 4, 4, 1, 30), "7d", on(2027, 3, 28, 2, 30), 1),
    ],
)
def test_clock_changes(
    starts_at: datetime, offset: str, due_at: datetime, utc_offset_hours: int
) -> None:
    event = event_at(starts_at)
    assert next_due_at(event, [offset], starts_at - timedelta(days=30)) == due_at
    log = run(
        event,
        [Attendee("R1", "r1@x", BookingStatus.CONFIRMED, starts_at - timedelta(days=30))],
        hourly_utc_minutes(event),
        (offset,),
    )
    [(now, due)] = log
    assert now == due.due_at == due_at
    assert due.due_at.utcoffset() == timedelta(hours=utc_offset_hours)


def hourly_utc_minutes(event: EventInfo) -> Iterator[datetime]:
    """Every quarter hour of real time, so that each due moment in the table is a tick."""
    start = event.starts_at.astimezone(UTC)
    now = start - timedelta(days=10)
    while now <= start + timedelta(days=1):
        yield now.astimezone(LONDON)
        now += timedelta(minutes=15)


def test_an_hourly_scheduler_across_the_spring_change_sends_both_reminders_once() -> None:
    event = event_at(on(2027, 3, 30, 11))
    log = run(event, [attendee("EARLY", timedelta(days=40))], hourly(event))
    assert [(due.offset, now) for now, due in log] == [
        ("7d", on(2027, 3, 23, 11)),
        ("1d", on(2027, 3, 29, 11)),
    ]


def test_an_hourly_scheduler_across_the_autumn_change_sends_both_reminders_once() -> None:
    event = event_at(on(2027, 11, 2, 11))
    log = run(event, [attendee("EARLY", timedelta(days=40))], hourly(event))
    assert [(due.offset, now) for now, due in log] == [
        ("7d", on(2027, 10, 26, 11)),
        ("1d", on(2027, 11, 1, 11)),
    ]
