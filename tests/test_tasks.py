"""The digest and reminders with a controllable clock, end to end into the Maildir sink."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailbot.pipeline.tasks import send_digest, send_reminders
from tests.harness import Workspace, compose
from tests.processes import run_mailbot as run
from tests.realmail import officer_request

ORGANISER = "organiser@example.ac.uk"
START = datetime(2026, 12, 10, 11, 0, tzinfo=UTC)  # the test event, in winter: GMT == UTC


def soon(tmp_path: Path, capacity: int = 2) -> Workspace:
    ws = Workspace(tmp_path, capacity=capacity)
    text = ws.config.read_text().replace("2099-03-10", "2026-12-10")
    text = text.replace(
        f"capacity = {capacity}", f'capacity = {capacity}\nprogramme = "11:00 Arrival and coffee"'
    )
    ws.config.write_text(text)
    return ws


def at(moment: datetime):  # type: ignore[no-untyped-def]
    return lambda: moment


def test_the_digest_shows_what_needs_the_organiser_and_is_sent_only_with_news(
    tmp_path: Path,
) -> None:
    ws = soon(tmp_path)
    ws.deliver(*(officer_request(i) for i in range(3)))
    ws.deliver(
        compose(
            "Chris Doyle <chris.doyle@cumbria.police.uk>",
            "Please book me.\n\nChris Doyle",
            message_id="<held@c>",
            authenticated=False,
        ),
        compose(
            "Jane Smith <jane.smith@westmidlands.police.uk>",
            "Is there parking at the venue?\n\nJane Smith",
            subject="Parking",
            message_id="<q@w>",
        ),
    )
    ws.poll()
    ws.new_replies()
    held_ref = next(r.booking for r in ws.all_replies() if r.outcome == "held")

    with ws.bot(clock=at(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))) as bot:
        result = send_digest(bot.scheduled(), ORGANISER)
    assert result.sent
    (digest,) = ws.new_replies()
    assert digest.to == ORGANISER
    assert digest.message["Auto-Submitted"] == "auto-generated"
    assert "2 of 2 places taken" in str(digest.message["Subject"])
    body = digest.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert f"APPROVE {held_ref}" in text and f"DECLINE {held_ref}" in text
    assert "Is there parking at the venue?" in text and "jane.smith@westmidlands.police.uk" in text
    assert "Lancashire Constabulary" in text

    with ws.bot(clock=at(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))) as bot:
        again = send_digest(bot.scheduled(), ORGANISER)
    assert again.sent, "a request still held for review is news every day"

    ws.deliver(
        compose(
            "Forum Organiser <organiser@example.ac.uk>", f"DECLINE {held_ref}", message_id="<d@o>"
        )
    )
    with ws.bot(clock=at(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))) as bot:
        bot.poll()
    ws.new_replies()
    with ws.bot(clock=at(datetime(2026, 11, 29, 8, 0, tzinfo=UTC))) as bot:
        quiet = send_digest(bot.scheduled(), ORGANISER)
    assert not quiet.sent and ws.new_replies() == []
    with ws.bot(clock=at(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))) as bot:
        assert send_digest(bot.scheduled(), ORGANISER, always=True).sent


def test_each_reminder_once_late_bookers_skip_early_ones_and_downtime_sends_one(
    tmp_path: Path,
) -> None:
    ws = soon(tmp_path, capacity=5)
    ws.deliver(officer_request(1))
    ws.poll()  # booked 2026-11-25
    ws.new_replies()
    offsets = ("7d", "1d")

    def run_at(moment: datetime) -> list[tuple[str, str]]:
        with ws.bot(clock=at(moment)) as bot:
            return [(p.email, p.offset) for p in send_reminders(bot.scheduled(), offsets)]

    assert run_at(START - timedelta(days=8)) == []
    assert run_at(START - timedelta(days=7)) == [("officer1@lancashire.police.uk", "7d")]
    assert run_at(START - timedelta(days=6)) == [], "never twice"
    (reminder,) = ws.new_replies()
    assert reminder.outcome == "reminder"
    assert reminder.message["Auto-Submitted"] == "auto-generated"
    assert len(list(reminder.message.iter_attachments())) == 1, "the .ics again"
    body = reminder.message.get_body(("plain",))
    assert body is not None and "Reply CANCEL" in body.get_content()
    assert "11:00 Arrival and coffee" in body.get_content()

    with ws.bot(clock=at(START - timedelta(days=3))) as bot:  # a late booking
        ws.deliver(officer_request(2))
        bot.poll()
    ws.new_replies()
    assert run_at(START - timedelta(hours=20)) == [
        ("officer1@lancashire.police.uk", "1d"),
        ("officer2@lancashire.police.uk", "1d"),
    ]
    assert run_at(START - timedelta(hours=2)) == []


def test_after_downtime_only_the_latest_reminder_goes_out(tmp_path: Path) -> None:
    ws = soon(tmp_path, capacity=5)
    ws.deliver(officer_request(1))
    ws.poll()
    ws.new_replies()
    with ws.bot(clock=at(START - timedelta(hours=12))) as bot:
        plans = send_reminders(bot.scheduled(), ("7d", "1d"))
    assert [(p.offset, p.skipped) for p in plans] == [("1d", ("7d",))]
    assert [r.outcome for r in ws.new_replies()] == ["reminder"]
    with ws.bot(clock=at(START - timedelta(hours=11))) as bot:
        assert send_reminders(bot.scheduled(), ("7d", "1d")) == []


@pytest.mark.integration
def test_dry_runs_send_nothing_and_status_reports_the_last_poll(tmp_path: Path) -> None:
    ws = soon(tmp_path)
    ws.deliver(officer_request(1))
    ws.poll()
    ws.new_replies()
    digest = run("digest", "--dry-run", "--config", str(ws.config))
    assert digest.returncode == 0, digest.stderr
    assert "Subject: Bookings digest" in digest.stdout
    reminders = run("reminders", "--dry-run", "--config", str(ws.config))
    assert reminders.returncode == 0, reminders.stderr
    assert ws.new_replies() == []
    status = run("status", "--config", str(ws.config))
    assert status.returncode == 0, status.stderr
    assert "poll" in status.stdout and "2026-11-25" in status.stdout
    assert "1 sent" in status.stdout
