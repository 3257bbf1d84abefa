"""Plain values shared by the tests of the pure stages: the forum as an EventInfo."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from mailbot.domain import EventInfo

LONDON = ZoneInfo("Europe/London")
FORUM = EventInfo(
    slug="cse-forum-preston",
    title="Working together to enhance police responses to child sexual exploitation",
    starts_at=datetime(2027, 3, 10, 11, 0, tzinfo=LONDON),
    ends_at=datetime(2027, 3, 10, 15, 45, tzinfo=LONDON),
    venue="University of Central Lancashire, Preston, PR1 2HE",
    capacity=60,
)
