"""Tests for the sign-in sheet export: ordering, CSV bytes, and the printed .xlsx layout."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from mailbot.domain import BookingStatus, BookingView
from mailbot.outbound.export import HEADER, Attendee, attendees, to_csv, to_xlsx
from mailbot.records import BookingRecord
from tests.values import FORUM

T0 = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
BOM = b"\xef\xbb\xbf"
DATE = "Wednesday 10 March 2027"


def booking(
    ref: str,
    email: str,
    name: str | None,
    status: str = BookingStatus.CONFIRMED,
    *,
    minutes: int = 0,
    rank: str | None = "DC",
    force: str | None = "Lancashire Constabulary",
    unit: str | None = None,
    needs: str | None = None,
    undeliverable: str | None = None,
    waitlist_order: int | None = None,
) -> BookingRecord:
    """A booking as the store gives it to the export, made `minutes` after T0."""
    view = BookingView(ref, FORUM.slug, email, BookingStatus(status), name, rank, force, unit=unit)
    made = T0 + timedelta(minutes=minutes)
    return BookingRecord(
        view, made, made, needs=needs, undeliverable=undeliverable, waitlist_order=waitlist_order
    )


def refs(found: list[Attendee]) -> list[str]:
    return [attendee.ref for attendee in found]


def sheet_of(data: bytes) -> Worksheet:
    sheet = load_workbook(io.BytesIO(data))["Sign-in"]
    assert isinstance(sheet, Worksheet)
    return sheet


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


MIXED = [
    booking("R1", "zoe.adams@example.police.uk", "Zoe Adams"),
    booking("R2", "amir.patel@example.police.uk", "Amir Patel"),
    booking("R3", "x9@example.police.uk", None),
    booking("R4", "ben.adams@example.police.uk", "ben adams"),
    booking("R5", "w1@example.police.uk", "Wendy Late", BookingStatus.WAITLISTED, minutes=5),
    booking("R6", "w2@example.police.uk", "Aaron Early", BookingStatus.WAITLISTED, minutes=1),
    booking("R7", "c@example.police.uk", "Carl Cancelled", BookingStatus.CANCELLED),
    booking("R8", "d@example.police.uk", "Dee Declined", BookingStatus.DECLINED),
    booking("R9", "h@example.police.uk", "Hal Held", BookingStatus.HELD),
    booking("R10", "a1@example.police.uk", "   "),
    booking("R11", "mary.j@example.police.uk", "Mary Jane Kelly"),
]


def test_confirmed_by_surname_then_first_name_with_no_name_last() -> None:
    # adams (ben, zoe), kelly, patel; then the nameless by email (a1 < x9).
    assert refs(attendees(MIXED)) == ["R4", "R1", "R11", "R2", "R10", "R3"]


def test_middle_names_stay_with_the_first_name() -> None:
    (mary,) = (a for a in attendees(MIXED) if a.ref == "R11")
    assert (mary.surname, mary.first_name) == ("Kelly", "Mary Jane")


def test_waitlist_follows_confirmed_in_arrival_order_only_when_asked() -> None:
    found = attendees(MIXED, include_waitlist=True)
    assert refs(found)[-2:] == ["R6", "R5"]  # Early arrived first, whatever the alphabet says
    assert refs(found)[:-2] == refs(attendees(MIXED))
    assert not {"R5", "R6"} & set(refs(attendees(MIXED)))


def test_the_waiting_list_is_in_the_order_places_pass_on_not_the_order_of_booking() -> None:
    """A request held for the organiser and approved into a full event joins the back of
    the waiting list (issue 14), though it was made first: the sheet shows the real order."""
    rows = [
        booking("H1", "held@example.police.uk", "Hal Held", "waitlisted", waitlist_order=2),
        booking(
            "W1", "wait@example.police.uk", "Wyn Wait", "waitlisted", minutes=5, waitlist_order=1
        ),
    ]
    assert refs(attendees(rows, include_waitlist=True)) == ["W1", "H1"]


def test_waitlist_ties_on_time_break_by_ref() -> None:
    rows = [
        booking("B2", "b@example.police.uk", "Bo B", BookingStatus.WAITLISTED),
        booking("B1", "a@example.police.uk", "Al A", BookingStatus.WAITLISTED),
    ]
    assert refs(attendees(rows, include_waitlist=True)) == ["B1", "B2"]


@pytest.mark.parametrize("status", ["cancelled", "declined", "held"])
def test_inactive_or_held_bookings_are_never_listed(status: str) -> None:
    rows = [booking("X1", "x@example.police.uk", "Xena Ward", status)]
    assert attendees(rows, include_waitlist=True) == []


def test_accented_names_sort_where_a_reader_looks() -> None:
    rows = [
        booking("E1", "e@example.police.uk", "Élodie Émond"),
        booking("E2", "o@example.police.uk", "Siobhán Ó Dálaigh"),
        booking("E3", "n@example.police.uk", "Nadia Dean"),
        booking("E4", "v@example.police.uk", "Owen Evans"),
    ]
    # By code point, á and É would sort after every plain letter.
    assert refs(attendees(rows)) == ["E2", "E3", "E1", "E4"]  # Dálaigh, Dean, Émond, Evans


def test_booking_records_from_the_store_are_accepted() -> None:
    view = BookingView(
        ref="BK-1",
        event_slug=FORUM.slug,
        email="priya.shah@example.police.uk",
        name="Priya Shah",
        rank="DS",
        force="Merseyside Police",
        unit="Public Protection",
        status=BookingStatus.CONFIRMED,
    )
    row = BookingRecord(
        view=view,
        created_at=T0,
        updated_at=T0,
        needs="Vegetarian",
        undeliverable="550 mailbox unavailable",
    )
    (found,) = attendees([row])
    assert found == Attendee(
        ref="BK-1",
        name="Priya Shah",
        rank="DS",
        force="Merseyside Police",
        unit="Public Protection",
        email="priya.shah@example.police.uk",
        status="confirmed",
        needs="Vegetarian",
        undeliverable=True,
    )


def test_csv_starts_with_bom_and_parses_back() -> None:
    data = to_csv(attendees(MIXED, include_waitlist=True), FORUM.title)
    assert data.startswith(BOM)
    rows = csv_rows(data)
    assert rows[0] == list(HEADER)
    assert rows[1] == [
        "adams",
        "ben",
        "DC",
        "Lancashire Constabulary",
        "",
        "ben.adams@example.police.uk",
        "R4",
        "confirmed",
        "",
        "",
        "",
    ]
    assert [row[6] for row in rows[1:]] == ["R4", "R1", "R11", "R2", "R10", "R3", "R6", "R5"]
    assert rows[-1][7] == "waitlisted"
    assert all(len(row) == len(HEADER) and row[-1] == "" for row in rows[1:])


def test_csv_keeps_accents_apostrophes_and_multiline_needs_on_one_row() -> None:
    rows = [
        booking(
            "A1",
            "s@example.police.uk",
            "Seán O'Brien-Núñez",
            needs='Wheelchair access,\nplease; "no" nuts',
        )
    ]
    parsed = csv_rows(to_csv(attendees(rows), FORUM.title))
    assert parsed[1][:2] == ["O'Brien-Núñez", "Seán"]
    assert parsed[1][8] == 'Wheelchair access, please; "no" nuts'


def test_undeliverable_address_is_flagged_in_status() -> None:
    rows = [booking("U1", "u@example.police.uk", "Una Bounce", undeliverable="550 no such user")]
    assert csv_rows(to_csv(attendees(rows), FORUM.title))[1][7] == (
        "confirmed (email undeliverable)"
    )


HOSTILE = Attendee(
    ref="H1",
    name='=HYPERLINK("http://evil.example") +Plus',
    rank="@SUM(A1)",
    force="-2+3",
    unit="\tTabbed",
    email="h@example.police.uk",
    status="confirmed",
    needs="\r=cmd|' /C calc'!A0",
)


def test_csv_neutralises_formula_like_cells() -> None:
    row = csv_rows(to_csv([HOSTILE], FORUM.title))[1]
    # The surname "+Plus" and the first name both start like formulas.
    assert row[0] == "'+Plus"
    assert row[1] == '\'=HYPERLINK("http://evil.example")'
    assert row[2] == "'@SUM(A1)"
    assert row[3] == "'-2+3"
    assert row[4] == "'\tTabbed"
    assert row[8] == "'\r=cmd|' /C calc'!A0"


def test_xlsx_neutralises_formula_like_cells() -> None:
    sheet = sheet_of(to_xlsx([HOSTILE], FORUM.title, DATE))
    cells = [sheet.cell(row=3, column=c) for c in range(1, 10)]
    assert all(cell.data_type == "s" for cell in cells if cell.value is not None)
    assert cells[0].value == "'+Plus"
    assert cells[1].value == '\'=HYPERLINK("http://evil.example")'
    assert cells[2].value == "'@SUM(A1)"
    assert cells[3].value == "'-2+3"


def test_stray_control_characters_do_not_break_the_xlsx() -> None:
    rows = [booking("C1", "c@example.police.uk", "Cara\x0b Quinn", needs="Halal\x00")]
    sheet = sheet_of(to_xlsx(attendees(rows), FORUM.title, DATE))
    assert sheet["B3"].value == "Cara"
    assert sheet["I3"].value == "Halal"


def test_xlsx_layout_for_printing() -> None:
    found = attendees(MIXED)
    sheet = sheet_of(to_xlsx(found, FORUM.title, DATE))
    title = sheet["A1"].value
    assert isinstance(title, str) and FORUM.title in title and DATE in title
    assert [sheet.cell(row=2, column=c).value for c in range(1, 12)] == list(HEADER)
    assert all(sheet.cell(row=2, column=c).font.b for c in range(1, 11))
    assert sheet.freeze_panes == "A3"
    assert (sheet.print_title_rows or "").replace("$", "") == "1:2"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr is not None
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert [sheet.cell(row=r, column=7).value for r in range(3, 3 + len(found))] == refs(found)
    signature = sheet.column_dimensions["K"].width
    assert signature is not None and signature >= 30
    assert all(
        sheet.cell(row=r, column=11).value is None and (sheet.row_dimensions[r].height or 0) >= 30
        for r in range(3, 3 + len(found))
    )


def test_xlsx_puts_the_waiting_list_under_its_label_after_a_blank_row() -> None:
    found = attendees(MIXED, include_waitlist=True)
    sheet = sheet_of(to_xlsx(found, FORUM.title, DATE))
    last_confirmed = 2 + 6
    assert all(sheet.cell(row=last_confirmed + 1, column=c).value is None for c in range(1, 11))
    assert sheet.cell(row=last_confirmed + 2, column=1).value == "Waiting list"
    assert sheet.cell(row=last_confirmed + 2, column=1).font.b
    assert [
        sheet.cell(row=r, column=7).value for r in (last_confirmed + 3, last_confirmed + 4)
    ] == [
        "R6",
        "R5",
    ]


def test_xlsx_without_waitlist_has_no_label() -> None:
    sheet = sheet_of(to_xlsx(attendees(MIXED, include_waitlist=True)[:6], FORUM.title, DATE))
    assert "Waiting list" not in [row[0] for row in sheet.iter_rows(values_only=True)]


def test_xlsx_keeps_accents_and_apostrophes() -> None:
    rows = [booking("A1", "s@example.police.uk", "Seán O'Brien-Núñez", force="Police Scotland")]
    sheet = sheet_of(to_xlsx(attendees(rows), "Forum — Préston", DATE))
    assert sheet["A3"].value == "O'Brien-Núñez"
    assert sheet["B3"].value == "Seán"
    assert sheet["A1"].value == f"Forum — Préston — {DATE}"


def test_empty_list_still_gives_a_sheet_with_its_header() -> None:
    sheet = sheet_of(to_xlsx([], FORUM.title, DATE))
    assert sheet.max_row == 2
    assert csv_rows(to_csv([], FORUM.title)) == [list(HEADER)]
