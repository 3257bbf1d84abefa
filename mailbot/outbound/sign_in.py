"""The sign-in sheet read back (CSV or .xlsx, as `mailbot export` wrote it and the organiser
ticked it): who came, as the organiser's ATTENDED and ABSENT commands."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from mailbot.outbound.export import HEADER

__all__ = ["SheetError", "attendance_commands"]

_REFERENCE = HEADER.index("Reference")
_STATUS = HEADER.index("Status")
_ATTENDED = HEADER.index("Attended")


class SheetError(ValueError):
    """The file is not a sign-in sheet this version of mailbot wrote."""


def attendance_commands(data: bytes, filename: str) -> str:
    """ "ATTENDED ..." for each row with any mark in Attended, "ABSENT ..." for each confirmed
    row without one; waiting-list rows left blank say nothing."""
    rows = _xlsx_rows(data) if filename.lower().endswith(".xlsx") else _csv_rows(data)
    came: list[str] = []
    absent: list[str] = []
    found_header = False
    for row in rows:
        cells = [("" if cell is None else str(cell)).strip() for cell in row]
        cells += [""] * (len(HEADER) - len(cells))
        if not found_header:
            found_header = cells[_REFERENCE] == "Reference" and cells[_ATTENDED] == "Attended"
            continue
        ref = cells[_REFERENCE].lstrip("'")
        if not ref:
            continue  # a section heading ("Waiting list") or a blank line
        if cells[_ATTENDED]:
            came.append(ref)
        elif cells[_STATUS].lower().startswith("confirmed"):
            absent.append(ref)
    if not found_header:
        raise SheetError(f"{filename}: no header row with Reference and Attended columns")
    lines = [f"ATTENDED {' '.join(came)}"] if came else []
    lines += [f"ABSENT {' '.join(absent)}"] if absent else []
    if not lines:
        raise SheetError(f"{filename}: no bookings listed")
    return "\n".join(lines)


def _csv_rows(data: bytes) -> Iterable[Sequence[object]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # re-saved by Excel in a local code page
    return list(csv.reader(io.StringIO(text)))


def _xlsx_rows(data: bytes) -> Iterable[Sequence[object]]:
    from openpyxl import load_workbook  # slow to import; only this command needs it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not .xlsx
        raise SheetError(f"not an .xlsx workbook ({exc})") from None
    sheet = workbook.active
    if sheet is None:
        raise SheetError("the workbook has no sheet")
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]
