"""The organiser's command-line tools: approve/cancel/capacity, history, export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.harness import Workspace, compose
from tests.processes import run_mailbot as run
from tests.realmail import officer_request

pytestmark = pytest.mark.integration  # every test runs mailbot as a process


def booked(tmp_path: Path) -> tuple[Workspace, dict[str, str]]:
    ws = Workspace(tmp_path, capacity=2)
    ws.deliver(*(officer_request(i) for i in range(3)))
    ws.deliver(
        compose(
            "Chris Doyle <chris.doyle@cumbria.police.uk>",
            "Please book me.\n\nChris Doyle",
            message_id="<h@c>",
            authenticated=False,
        )
    )
    ws.poll()
    refs = {r.to: r.booking for r in ws.new_replies() if r.booking}
    return ws, {email: ref for email, ref in refs.items() if ref}


def test_cancel_from_the_command_line_promotes_and_tells_the_attendees(tmp_path: Path) -> None:
    ws, refs = booked(tmp_path)
    result = run("cancel", refs["officer0@lancashire.police.uk"], "--config", str(ws.config))
    assert result.returncode == 0, result.stderr
    assert "cancelled" in result.stdout and "promoted" in result.stdout
    told = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert told == [
        ("officer0@lancashire.police.uk", "cancelled"),
        ("officer2@lancashire.police.uk", "promoted"),
    ]

    history = run("history", refs["officer0@lancashire.police.uk"], "--config", str(ws.config))
    assert history.returncode == 0
    assert "created confirmed" in history.stdout
    assert "confirmed -> cancelled" in history.stdout
    assert "organiser@example.ac.uk" in history.stdout


def test_unknown_reference_exits_2_and_changes_nothing(tmp_path: Path) -> None:
    ws, _refs = booked(tmp_path)
    result = run("approve", "ZZZ-999", "--config", str(ws.config))
    assert result.returncode == 2
    assert "no booking ZZZ-999" in result.stderr
    assert ws.new_replies() == []


def test_approve_and_capacity(tmp_path: Path) -> None:
    ws, refs = booked(tmp_path)
    held = refs["chris.doyle@cumbria.police.uk"]
    assert run("approve", held, "--config", str(ws.config)).returncode == 0
    (told,) = ws.new_replies()
    assert (told.to, told.outcome) == ("chris.doyle@cumbria.police.uk", "waitlisted")
    result = run("capacity", "cse-forum-preston", "4", "--config", str(ws.config))
    assert result.returncode == 0, result.stderr
    promoted = sorted(r.to for r in ws.new_replies() if r.outcome == "promoted")
    assert promoted == ["chris.doyle@cumbria.police.uk", "officer2@lancashire.police.uk"]


def test_export_csv_and_xlsx(tmp_path: Path) -> None:
    ws, _refs = booked(tmp_path)
    sheet = tmp_path / "signin.xlsx"
    result = run("export", str(sheet), "--waitlist", "--config", str(ws.config))
    assert result.returncode == 0, result.stderr
    book = load_workbook(sheet)
    cells = [c.value for row in book["Sign-in"].iter_rows() for c in row if c.value]
    assert "officer0@lancashire.police.uk" in cells and "Waiting list" in cells
    as_csv = tmp_path / "signin.csv"
    assert run("export", str(as_csv), "--config", str(ws.config)).returncode == 0
    rows = list(csv.reader(io.StringIO(as_csv.read_text(encoding="utf-8-sig"))))
    assert rows[0][:2] == ["Surname", "First name"]
    assert len(rows) == 3, "confirmed only, without --waitlist"


def test_attendance_from_the_command_line_is_refused_before_the_event_and_names_bad_files(
    tmp_path: Path,
) -> None:
    ws, refs = booked(tmp_path)
    sheet = tmp_path / "signin.csv"
    exported = run("export", str(sheet), "--config", str(ws.config))
    assert exported.returncode == 0, exported.stderr
    early = run("attendance", str(sheet), "--config", str(ws.config))
    assert early.returncode == 2
    assert "attendance is recorded from the start of the event" in early.stderr
    marked = run("attended", refs["officer0@lancashire.police.uk"], "--config", str(ws.config))
    assert marked.returncode == 2 and "from the start of the event" in marked.stderr

    notes = tmp_path / "notes.csv"
    notes.write_text("Name,Came\nAnn,yes\n", encoding="utf-8")
    wrong = run("attendance", str(notes), "--config", str(ws.config))
    assert wrong.returncode == 2
    assert "notes.csv" in wrong.stderr and "Reference and Attended" in wrong.stderr
    assert ws.new_replies() == []
