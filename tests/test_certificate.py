"""The certificate of attendance, read back as a screen reader or a search would: text."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from mailbot.domain import BookingStatus, BookingView, EventInfo
from mailbot.outbound import certificate
from mailbot.outbound.certificate import certificate_pdf, hours_attended

LONDON = ZoneInfo("Europe/London")
EVENT = EventInfo(
    slug="cse-forum-preston",
    title=(
        "Working together to enhance police responses to child sexual exploitation and "
        "related vulnerabilities"
    ),
    starts_at=datetime(2027, 3, 10, 11, 0, tzinfo=LONDON),
    ends_at=datetime(2027, 3, 10, 15, 45, tzinfo=LONDON),
    venue="University of Central Lancashire, Preston, PR1 2HE",
    capacity=60,
)
BOOKING = BookingView(
    ref="K7Q-4MZ",
    event_slug=EVENT.slug,
    email="sam.hale@kent.police.uk",
    status=BookingStatus.CONFIRMED,
    name="Sam Hale",
    rank="DS",
    force="Kent Police",
)
ISSUED = datetime(2027, 3, 10, 16, 0, tzinfo=UTC)


def read(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", " ", text)


def test_one_page_naming_the_person_the_event_its_date_venue_and_hours() -> None:
    pages, text = read(
        certificate_pdf(BOOKING, EVENT, organiser_name="Forum Organiser", issued=ISSUED)
    )
    assert pages == 1
    for expected in (
        "Certificate of attendance",
        "DS Sam Hale",
        "Kent Police",
        EVENT.title,
        "Wednesday 10 March 2027",
        "11:00 to 15:45",
        "4 hours 45 minutes",
        EVENT.venue,
        "Forum Organiser",
        "K7Q-4MZ",
    ):
        assert expected in text, expected
    assert "None" not in text


def test_the_same_booking_gives_the_same_bytes() -> None:
    made = [
        certificate_pdf(BOOKING, EVENT, organiser_name="Forum Organiser", issued=ISSUED)
        for _ in range(2)
    ]
    assert made[0] == made[1]


def test_without_rank_or_force_nothing_stands_in_for_them() -> None:
    bare = replace(BOOKING, rank=None, force=None)
    _, text = read(certificate_pdf(bare, EVENT, organiser_name="Forum Organiser", issued=ISSUED))
    assert "Sam Hale" in text and "None" not in text


@pytest.mark.parametrize("unicode_font", [True, False], ids=["system-font", "core-font"])
def test_names_outside_latin_1(monkeypatch: pytest.MonkeyPatch, unicode_font: bool) -> None:
    if not unicode_font:  # a machine without DejaVu: accents Latin-1 lacks are dropped
        monkeypatch.setattr(certificate, "_UNICODE_FONTS", ())
    elif not any(path.is_file() for path in certificate._UNICODE_FONTS):
        pytest.fail("this machine has no DejaVu font: install fonts-dejavu-core")
    person = replace(BOOKING, name="Zoë Łukasik", rank="PC")
    _, text = read(certificate_pdf(person, EVENT, organiser_name="Forum Organiser", issued=ISSUED))
    assert ("PC Zoë Łukasik" if unicode_font else "PC Zoë Lukasik") in text


def test_hours() -> None:
    assert hours_attended(EVENT) == "4 hours 45 minutes"
    assert hours_attended(replace(EVENT, ends_at=EVENT.starts_at.replace(hour=12))) == "1 hour"
