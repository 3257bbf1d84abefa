"""Conversations: .eml files through the whole pipeline into the Maildir sink, replies checked."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mailbot.outbound.render import make_environment
from mailbot.store.database import connect
from mailbot.store.store import Store
from tests.harness import Workspace, eml


def statuses(ws: Workspace) -> dict[str, str]:
    store = Store(connect(ws.settings.database_url()))
    return {row.view.email: row.view.status for row in store.bookings()}


def test_a_morning_of_booking_mail(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=2)
    ws.deliver(
        eml("01-officer-wmp.eml"),
        eml("02-officer-lancs.eml"),
        eml("03-non-police.eml"),
        eml("04-out-of-office.eml"),
        eml("05-no-headers.eml"),
        eml("06-officer-durham.eml"),
        eml("07-repeat-wmp.eml"),
        eml("08-list.eml"),
        eml("10-unauthenticated.eml"),
    )
    summary = ws.poll()

    replies = ws.new_replies()
    by_recipient = sorted((r.to, r.outcome) for r in replies)
    assert by_recipient == [
        ("alex.morgan@gmail.example.com", "declined"),
        ("chris.doyle@cumbria.police.uk", "held"),
        ("jane.smith@westmidlands.police.uk", "confirmed"),
        ("jane.smith@westmidlands.police.uk", "duplicate"),
        ("priya.ramanathan@durham.police.uk", "waitlisted"),
        ("tom.halloran@lancashire.police.uk", "confirmed"),
    ]
    assert statuses(ws) == {
        "jane.smith@westmidlands.police.uk": "confirmed",
        "tom.halloran@lancashire.police.uk": "confirmed",
        "alex.morgan@gmail.example.com": "declined",
        "priya.ramanathan@durham.police.uk": "waitlisted",
        "chris.doyle@cumbria.police.uk": "held",
    }
    # Nobody automated was answered; the unreadable message was set aside, not lost.
    assert not {"gareth.pugh@southwales.police.uk", "news@lists.example.org"} & {
        r.to for r in replies
    }
    assert summary.results["ignored"] == 2
    assert summary.results["set aside"] == 1
    assert ws.folder_count("Quarantine") == 1
    assert ws.folder_count("Processed") == 8
    assert len(ws.inbox) == 0

    # The duplicate restates the first booking's reference; the confirmations thread.
    jane = [r for r in replies if r.to == "jane.smith@westmidlands.police.uk"]
    assert jane[0].booking == jane[1].booking
    confirmed = next(r for r in jane if r.outcome == "confirmed")
    assert confirmed.message["In-Reply-To"] == "<c1.jane@westmidlands.police.uk>"
    assert confirmed.message["Subject"] == "Re: Booking - CSE forum"
    assert confirmed.message["Auto-Submitted"] == "auto-replied"
    body = confirmed.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert confirmed.booking is not None and confirmed.booking in text
    assert "Tuesday 10 March 2099" in text and "11:00" in text and "PR1 2HE" in text
    assert "CANCEL" in text

    waitlisted = next(r for r in replies if r.outcome == "waitlisted")
    waitlisted_body = waitlisted.message.get_body(("plain",))
    assert waitlisted_body is not None and "1" in waitlisted_body.get_content()

    declined = next(r for r in replies if r.outcome == "declined")
    declined_body = declined.message.get_body(("plain",))
    assert declined_body is not None
    declined_text = declined_body.get_content()
    assert "police" in declined_text.lower() and "organiser@example.ac.uk" in declined_text


def test_cancellation_promotes_the_waitlist_and_each_is_told_once(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=2)
    ws.deliver(eml("01-officer-wmp.eml"), eml("02-officer-lancs.eml"), eml("06-officer-durham.eml"))
    ws.poll()
    assert [r.outcome for r in ws.new_replies()].count("waitlisted") == 1

    ws.deliver(eml("09-cancel-wmp.eml"))
    ws.poll()
    replies = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert replies == [
        ("jane.smith@westmidlands.police.uk", "cancelled"),
        ("priya.ramanathan@durham.police.uk", "promoted"),
    ]
    promoted = next(r for r in ws.all_replies() if r.outcome == "promoted")
    assert promoted.message["Auto-Submitted"] == "auto-generated"
    assert promoted.message["In-Reply-To"] is None
    assert statuses(ws)["priya.ramanathan@durham.police.uk"] == "confirmed"
    assert statuses(ws)["jane.smith@westmidlands.police.uk"] == "cancelled"


def test_polling_twice_sends_nothing_the_second_time(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=5)
    ws.deliver(eml("01-officer-wmp.eml"), eml("02-officer-lancs.eml"), eml("03-non-police.eml"))
    first = ws.poll()
    assert first.delivery.sent == 3
    assert len(ws.new_replies()) == 3
    second = ws.poll()
    assert second.handled == 0 and second.delivery.sent == 0
    assert ws.new_replies() == []


def test_replies_go_out_while_a_backlog_is_still_being_read(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=5)
    ws.deliver(eml("01-officer-wmp.eml"), eml("02-officer-lancs.eml"), eml("03-non-police.eml"))
    sent_when_handled = []
    with ws.bot() as bot:
        bot.deliver_every_seconds = 0.0
        summary = bot.poll(on_message=lambda _result: sent_when_handled.append(ws.all_replies()))
    assert [len(replies) for replies in sent_when_handled] == [1, 2, 3]
    assert summary.delivery.sent == 3


def test_a_message_seen_again_after_a_crash_before_the_move_is_not_answered_twice(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path, capacity=5)
    ws.deliver(eml("01-officer-wmp.eml"))
    ws.poll()
    assert len(ws.new_replies()) == 1
    # The same message back in the inbox, as after a crash between commit and move, or
    # a second copy delivered under another name: the ledger knows its Message-ID.
    ws.deliver(eml("01-officer-wmp.eml"))
    summary = ws.poll()
    assert summary.results["already handled"] == 1
    assert ws.new_replies() == []
    assert len(ws.inbox) == 0


def test_bad_messages_never_block_the_ones_after_them(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=5)
    ws.deliver(
        eml("05-no-headers.eml"),
        b"",
        b"From: \r\n\r\n",
        eml("11-truncated-officer.eml"),
        eml("02-officer-lancs.eml"),
    )
    ws.poll()
    outcomes = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert ("tom.halloran@lancashire.police.uk", "confirmed") in outcomes
    assert ("kim.lowe@kent.police.uk", "held") in outcomes  # no authentication results
    assert ws.folder_count("Quarantine") == 3
    store = Store(connect(ws.settings.database_url()))
    reasons = {row.reason for row in store.ledger() if row.disposition == "set-aside"}
    assert any("no headers" in reason for reason in reasons)
    assert any("empty" in reason for reason in reasons)


@pytest.mark.integration
def test_poll_and_bookings_commands(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=1)
    ws.deliver(eml("01-officer-wmp.eml"), eml("02-officer-lancs.eml"), eml("03-non-police.eml"))
    run = [sys.executable, "-m", "mailbot"]
    polled = subprocess.run(
        [*run, "poll", "--config", str(ws.config)], capture_output=True, text=True, timeout=120
    )
    assert polled.returncode == 0, polled.stderr
    assert "handled 3" in polled.stdout and "confirmed 1" in polled.stdout

    listed = subprocess.run(
        [*run, "bookings", "--config", str(ws.config), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr

    records = json.loads(listed.stdout)
    assert [r["status"] for r in records] == ["confirmed", "waitlisted", "declined"]
    first = records[0]
    assert set(first) >= {"ref", "event", "status", "email", "name", "rank", "force", "created_at"}
    assert first["event"] == "cse-forum-preston"
    assert first["email"] == "jane.smith@westmidlands.police.uk"
    assert first["force"] == "West Midlands Police"
    assert first["unit"] == "Child Abuse Investigation Unit"
    assert records[2]["rank"] is None

    as_csv = subprocess.run(
        [*run, "bookings", "--config", str(ws.config), "--format", "csv", "--status", "waitlisted"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = as_csv.stdout.strip().splitlines()
    assert lines[0] == (
        "ref,event,status,email,name,rank,force,unit,created_at,reconfirmed,attended"
    )
    assert len(lines) == 2 and "tom.halloran@lancashire.police.uk" in lines[1]


def test_a_message_that_keeps_crashing_is_set_aside_after_max_failures(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(Path(__file__).parent.parent / "templates", templates)
    confirmed = templates / "confirmed.txt.j2"
    # A template bug that only Tom's booking trips over: his message crashes every time.
    confirmed.write_text(
        '{% if booking.email.startswith("tom.") %}{{ booking.no_such_field }}{% endif %}'
        + confirmed.read_text()
    )
    ws = Workspace(tmp_path / "ws", capacity=5)
    ws.deliver(eml("02-officer-lancs.eml"), eml("01-officer-wmp.eml"))
    results = []
    for _ in range(3):
        with ws.bot() as bot:
            bot.templates = make_environment(templates)
            results.append(dict(bot.poll().results))
    assert results[0] == {"failed": 1, "confirmed": 1}, "the next message is not blocked"
    assert results[1] == {"failed": 1}
    assert results[2] == {"set aside": 1}
    assert [r.to for r in ws.new_replies()] == ["jane.smith@westmidlands.police.uk"]
    assert ws.folder_count("Quarantine") == 1 and len(ws.inbox) == 0
    store = Store(connect(ws.settings.database_url()))
    (set_aside,) = [row for row in store.ledger() if row.disposition == "set-aside"]
    assert set_aside.reason.startswith("failed 3 times, last: UndefinedError")
    assert statuses(ws) == {"jane.smith@westmidlands.police.uk": "confirmed"}
