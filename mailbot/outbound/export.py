"""Turn an event's bookings into the organiser's sign-in sheet, as CSV or .xlsx bytes."""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from mailbot.domain import BookingStatus

if TYPE_CHECKING:
    from openpyxl.styles import Border
    from openpyxl.worksheet.worksheet import Worksheet

    from mailbot.records import BookingRecord

HEADER = (
    "Surname",
    "First name",
    "Rank",
    "Force",
    "Unit",
    "Email",
    "Reference",
    "Status",
    "Needs",
    "Attended",
    "Signature",
)
SHEET_TITLE = "Sign-in"
WAITLIST_LABEL = "Waiting list"

# Excel, LibreOffice and Sheets treat a cell starting with any of these as a formula (or as
# the start of one once a tab or CR splits the field), so text from strangers' emails that
# starts so is defused with a leading quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# (min, max) widths in characters; the Signature column is fixed and wide to leave room.
_WIDTHS: dict[str, tuple[int, int]] = {
    "Surname": (12, 24),
    "First name": (12, 20),
    "Rank": (8, 20),
    "Force": (12, 28),
    "Unit": (10, 28),
    "Email": (20, 36),
    "Reference": (10, 14),
    "Status": (10, 22),
    "Needs": (14, 34),
    "Attended": (9, 9),
    "Signature": (32, 32),
}
_ROW_HEIGHT = 30.0  # points: enough to sign in by hand
_LINE_HEIGHT = 15.0  # points per wrapped line of 11-point text


@dataclass(frozen=True)
class Attendee:
    """One line of the sign-in sheet."""

    ref: str
    name: str | None
    rank: str | None
    force: str | None
    unit: str | None
    email: str
    status: str
    needs: str | None
    undeliverable: bool = False
    attended: bool | None = None  # as recorded; ticked on the sheet when it is True

    @property
    def surname(self) -> str:
        """The last word of the name: the convention the sheet is sorted and looked up by."""
        words = (self.name or "").split()
        return words[-1] if words else ""

    @property
    def first_name(self) -> str:
        """Everything before the surname, so middle names stay with the first name."""
        words = (self.name or "").split()
        return " ".join(words[:-1])

    @property
    def waitlisted(self) -> bool:
        return self.status == BookingStatus.WAITLISTED


def attendees(
    records: Iterable[BookingRecord], *, include_waitlist: bool = False
) -> list[Attendee]:
    """Confirmed bookings in sign-in order, then (if asked) the waiting list in the order
    places pass on (joining it; booking time and reference break ties)."""
    confirmed: list[Attendee] = []
    waiting: list[tuple[tuple[int, datetime, str], Attendee]] = []
    for record in records:
        if record.view.status == BookingStatus.CONFIRMED:
            confirmed.append(_attendee(record))
        elif include_waitlist and record.view.status == BookingStatus.WAITLISTED:
            order = (record.waitlist_order or 0, record.created_at, record.view.ref)
            waiting.append((order, _attendee(record)))
    confirmed.sort(key=_sign_in_key)
    waiting.sort(key=lambda item: item[0])
    return confirmed + [attendee for _, attendee in waiting]


def to_csv(attendees: Iterable[Attendee], event_title: str) -> bytes:
    """The sheet as CSV: header first, one row per attendee, waitlisted rows last.

    No title row: the first row must be the header for the file to sort, filter and
    re-import as a table. `event_title` is taken so both exports are called alike.
    """
    del event_title
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for attendee in _confirmed_then_waiting(attendees):
        writer.writerow(_cells(attendee))
    # The BOM is what makes Excel read the file as UTF-8 rather than the local code page.
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(attendees: Iterable[Attendee], event_title: str, event_date: str) -> bytes:
    """The sheet as an .xlsx workbook laid out to print as a landscape sign-in sheet."""
    # Imported here: openpyxl takes a fifth of a second to load, which every mailbot
    # command would otherwise pay, and only this export needs it.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    confirmed, waiting = _split(attendees)
    workbook = Workbook()
    sheet = workbook.active
    if not isinstance(sheet, Worksheet):  # a fresh workbook always has one; this narrows it
        raise TypeError("new workbook has no worksheet")
    sheet.title = SHEET_TITLE

    title = _clean(" — ".join(part for part in (event_title, event_date) if part))
    sheet.cell(row=1, column=1, value=_defuse(title)).font = Font(bold=True, size=14)
    header_row = 2
    box = _thin_box()
    for column, heading in enumerate(HEADER, start=1):
        cell = sheet.cell(row=header_row, column=column, value=heading)
        cell.font = Font(bold=True)
        cell.border = box

    widths = _column_widths([*confirmed, *waiting])
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width

    row_number = header_row
    for attendee in confirmed:
        row_number += 1
        _write_row(sheet, row_number, attendee, widths, box)
    if waiting:
        row_number += 2  # the blank row keeps the two lists visibly apart on paper
        sheet.cell(row=row_number, column=1, value=WAITLIST_LABEL).font = Font(bold=True)
        for attendee in waiting:
            row_number += 1
            _write_row(sheet, row_number, attendee, widths, box)

    sheet.freeze_panes = f"A{header_row + 1}"
    # The title repeats with the header so a loose page still says which event it is for.
    sheet.print_title_rows = f"1:{header_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages tall as the list needs
    footer = sheet.oddFooter
    if footer is not None:  # a new sheet always has one; the stubs allow for a loaded sheet
        footer.center.text = "Page &P of &N"  # so a dropped stack can be put back in order

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _attendee(record: BookingRecord) -> Attendee:
    booking = record.view
    return Attendee(
        ref=booking.ref,
        name=_blank_to_none(booking.name),
        rank=_blank_to_none(booking.rank),
        force=_blank_to_none(booking.force),
        unit=_blank_to_none(booking.unit),
        email=booking.email,
        status=str(booking.status),
        needs=_blank_to_none(record.needs),
        undeliverable=bool(record.undeliverable),
        attended=record.attended,
    )


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = " ".join(value.split())
    return stripped or None


def _sign_in_key(attendee: Attendee) -> tuple[bool, str, str, str, str]:
    return (
        attendee.name is None,
        _collate(attendee.surname),
        _collate(attendee.first_name),
        attendee.email.casefold(),
        attendee.ref,
    )


def _collate(text: str) -> str:
    """Fold case and accents so Élodie files under E, where a reader scanning the sheet looks."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _split(attendees: Iterable[Attendee]) -> tuple[list[Attendee], list[Attendee]]:
    confirmed: list[Attendee] = []
    waiting: list[Attendee] = []
    for attendee in attendees:
        (waiting if attendee.waitlisted else confirmed).append(attendee)
    return confirmed, waiting


def _confirmed_then_waiting(attendees: Iterable[Attendee]) -> list[Attendee]:
    confirmed, waiting = _split(attendees)
    return confirmed + waiting


def _status_text(attendee: Attendee) -> str:
    # Someone whose mail bounced never got the joining instructions: the organiser should know
    # at the door, and the fixed header has no other column for it.
    if attendee.undeliverable:
        return f"{attendee.status} (email undeliverable)"
    return attendee.status


def _cells(attendee: Attendee) -> list[str]:
    values = (
        attendee.surname,
        attendee.first_name,
        attendee.rank or "",
        attendee.force or "",
        attendee.unit or "",
        attendee.email,
        attendee.ref,
        _status_text(attendee),
        attendee.needs or "",
        "yes" if attendee.attended else "",
        "",
    )
    return [_defuse(value) for value in values]


def _defuse(value: str) -> str:
    """Stop a spreadsheet from reading text as a formula."""
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _thin_box() -> Border:
    from openpyxl.styles import Border, Side

    thin = Side(style="thin")
    return Border(left=thin, right=thin, top=thin, bottom=thin)


def _clean(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # openpyxl refuses control characters that XML 1.0 cannot carry; a stray one in a
    # stranger's email must not make the whole export fail.
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _write_row(
    sheet: Worksheet, row_number: int, attendee: Attendee, widths: Sequence[int], box: Border
) -> None:
    from openpyxl.styles import Alignment

    cells = _cells(attendee)
    for column, value in enumerate(cells, start=1):
        cell = sheet.cell(row=row_number, column=column, value=_clean(value) or None)
        cell.border = box
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    sheet.row_dimensions[row_number].height = _row_height(cells, widths)


def _row_height(cells: Sequence[str], widths: Sequence[int]) -> float:
    # Excel does not re-measure a row whose height is set, so make room for wrapped text here.
    lines = max(
        (
            math.ceil(len(value) / max(1, width - 2))
            for value, width in zip(cells, widths, strict=True)
        ),
        default=1,
    )
    return max(_ROW_HEIGHT, lines * _LINE_HEIGHT)


def _column_widths(attendees: Sequence[Attendee]) -> list[int]:
    """Wide enough for the longest entry within bounds; longer text wraps."""
    rows = [_cells(attendee) for attendee in attendees]
    widths: list[int] = []
    for index, heading in enumerate(HEADER):
        low, high = _WIDTHS[heading]
        longest = max((len(row[index]) for row in rows), default=0)
        widths.append(min(high, max(low, len(heading), longest) + 2))
    return widths
