"""Issue 15: the organiser records who came, from the event's start, by mail; those who came
get one certificate of attendance where the event gives them."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import Session, select

from mailbot.cli.people import booking_record
from mailbot.outbound.export import HEADER, attendees, to_xlsx
from mailbot.outbound.sign_in import SheetError, attendance_commands
from mailbot.pipeline.tasks import send_digest
from mailbot.store.database import connect
from mailbot.store.store import Store
from mailbot.store.tables import BookingRow
from tests.harness import Reply, Workspace, compose
from tests.realmail import officer_request

ORGANISER = "Forum Organiser <organiser@example.ac.uk>"
STARTS = datetime.fromisoformat("2099-03-10T11:00:00+00:00")


def with_certificates(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path, capacity=3)
    ws.config.write_text(ws.config.read_text() + "certificate = true\n")
    ws.deliver(*(officer_request(i) for i in range(4)))  # three places, one waiting
    ws.poll()
    ws.new_replies()
    return ws


def rows(ws: Workspace) -> dict[str, BookingRow]:
    with Session(connect(ws.settings.database_url())) as session:
        return {r.email: r for r in session.exec(select(BookingRow)).all()}


def ref(ws: Workspace, index: int) -> str:
    return rows(ws)[f"officer{index}@lancashire.police.uk"].ref


def command_at(ws: Workspace, moment: datetime, text: str, key: str) -> list[Reply]:
    ws.deliver(compose(ORGANISER, text, subject="Re: digest", message_id=f"<{key}@x>"))
    with ws.bot(clock=lambda: moment) as bot:
        bot.deliver_every_seconds = float("inf")
        bot.poll()
    return ws.new_replies()


def organiser_reply(replies: list[Reply]) -> str:
    (reply,) = [r for r in replies if r.to == "organiser@example.ac.uk"]
    body = reply.message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_attendance_before_the_event_starts_changes_nothing(tmp_path: Path) -> None:
    ws = with_certificates(tmp_path)
    replies = command_at(ws, STARTS - timedelta(minutes=5), f"ATTENDED {ref(ws, 0)}", "early")
    assert [r.to for r in replies] == ["organiser@example.ac.uk"]
    assert "attendance is recorded from the start of the event" in organiser_reply(replies)
    assert {row.attended for row in rows(ws).values()} == {None}


def test_who_came_is_recorded_and_each_gets_one_certificate(tmp_path: Path) -> None:
    ws = with_certificates(tmp_path)
    text = f"ATTENDED {ref(ws, 0)} {ref(ws, 1)}\nABSENT {ref(ws, 2)}"
    replies = command_at(ws, STARTS + timedelta(hours=5), text, "after")
    summary = organiser_reply(replies)
    assert "certificate sent" in summary and "absent" in summary
    certificates = {r.to: r for r in replies if r.outcome == "certificate"}
    assert sorted(certificates) == [
        "officer0@lancashire.police.uk",
        "officer1@lancashire.police.uk",
    ]
    (pdf,) = [
        p
        for p in certificates["officer0@lancashire.police.uk"].message.iter_attachments()
        if p.get_content_type() == "application/pdf"
    ]
    reader = PdfReader(io.BytesIO(pdf.get_content()))
    text = " ".join((page.extract_text() or "").replace("\n", " ") for page in reader.pages)
    assert "Ann Lee" in text and "Lancashire" in text
    assert "Working together to enhance police responses" in text
    assert "Tuesday 10 March 2099" in text and ref(ws, 0) in text
    state = rows(ws)
    assert [state[f"officer{i}@lancashire.police.uk"].attended for i in range(4)] == [
        True,
        True,
        False,
        None,
    ]

    again = command_at(ws, STARTS + timedelta(hours=6), f"ATTENDED {ref(ws, 0)}", "again")
    assert [r.outcome for r in again if r.to != "organiser@example.ac.uk"] == []
    waiting = command_at(ws, STARTS + timedelta(hours=6), f"ATTENDED {ref(ws, 3)}", "wait")
    assert "only confirmed places are marked" in organiser_reply(waiting)


def test_attendance_from_a_ticked_sign_in_sheet(tmp_path: Path) -> None:
    ws = with_certificates(tmp_path)
    records = Store(connect(ws.settings.database_url())).bookings()
    sheet = tmp_path / "sign-in.xlsx"
    sheet.write_bytes(to_xlsx(attendees(records, include_waitlist=True), "Forum", "10 March"))
    workbook = load_workbook(sheet)
    page = workbook.active
    assert page is not None
    attended = HEADER.index("Attended") + 1
    reference = HEADER.index("Reference") + 1
    for row in range(3, page.max_row + 1):
        if page.cell(row=row, column=reference).value in (ref(ws, 0), ref(ws, 2)):
            page.cell(row=row, column=attended, value="✓")  # any mark will do
    workbook.save(sheet)

    text = attendance_commands(sheet.read_bytes(), sheet.name)
    assert text == f"ATTENDED {ref(ws, 0)} {ref(ws, 2)}\nABSENT {ref(ws, 1)}", "waiting: nothing"
    with ws.bot(clock=lambda: STARTS + timedelta(hours=5)) as bot:
        result = bot.organiser_commands(text)
        bot.deliver()
    assert result.carried_out, result.summary
    state = rows(ws)
    assert [state[f"officer{i}@lancashire.police.uk"].attended for i in range(4)] == [
        True,
        False,
        True,
        None,
    ]
    told = sorted(r.to for r in ws.new_replies() if r.outcome == "certificate")
    assert told == ["officer0@lancashire.police.uk", "officer2@lancashire.police.uk"]


def test_a_file_that_is_not_a_sign_in_sheet_is_refused_by_name(tmp_path: Path) -> None:
    other = tmp_path / "notes.csv"
    other.write_text("Name,Came\nAnn,yes\n", encoding="utf-8")
    with pytest.raises(SheetError, match=r"notes\.csv: no header row with Reference and Attended"):
        attendance_commands(other.read_bytes(), other.name)


def test_the_digest_after_the_event_shows_who_came_by_force(tmp_path: Path) -> None:
    ws = with_certificates(tmp_path)
    text = f"ATTENDED {ref(ws, 0)}\nABSENT {ref(ws, 1)}"
    command_at(ws, STARTS + timedelta(hours=5), text, "after")
    with ws.bot(clock=lambda: STARTS + timedelta(days=1)) as bot:
        digest = send_digest(bot.scheduled(), "organiser@example.ac.uk", dry_run=True).text
    assert "Attendance: 1 came, 1 did not, 1 not marked yet." in digest
    assert "- Lancashire Constabulary: 1 came, 1 did not" in digest
    listed = {
        b["ref"]: b["attended"]
        for b in map(booking_record, Store(connect(ws.settings.database_url())).bookings())
    }
    assert (listed[ref(ws, 0)], listed[ref(ws, 1)], listed[ref(ws, 2)]) == (True, False, None)
