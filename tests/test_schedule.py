"""`mailbot run` with its scheduler, as a process against the private Dovecot and aiosmtpd;
retention and the right to be forgotten."""

from __future__ import annotations

import json
import pickle
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, text
from sqlmodel import Session, select

from mailbot.pipeline.retention import erase_ended_events
from mailbot.runtime.jobs import JOB_STORE_TABLE, build_scheduler
from mailbot.store.database import connect
from mailbot.store.store import Store
from mailbot.store.tables import BookingRow, OutboxRow
from tests.harness import FIXED_NOW, Workspace, compose
from tests.processes import run_mailbot as run_cli
from tests.processes import stop_service, wait_until
from tests.realmail import RealMailbot, officer_request
from tests.servers.dovecot import PrivateDovecot
from tests.servers.smtp import LoopbackSmtpServer

# Every test here starts processes or servers of its own.
pytestmark = pytest.mark.integration


def digests(smtp: LoopbackSmtpServer) -> int:
    return sum(1 for m in smtp.messages if m.rcpt_tos == ("organiser@example.ac.uk",))


def test_run_answers_every_request_once_catches_up_a_missed_digest_and_stops_cleanly(
    tmp_path: Path, dovecot: PrivateDovecot, imap_user: str, smtp_server: LoopbackSmtpServer
) -> None:
    bot = RealMailbot(tmp_path, dovecot, imap_user, smtp_server, poll_seconds=1)
    service = bot.start("run")
    try:
        for wave in range(3):
            bot.append(*(officer_request(10 * wave + i) for i in range(5)))
            assert wait_until(lambda w=wave: len(smtp_server.messages) >= 5 * (w + 1), 30)
            time.sleep(1.5)  # several poll cycles between waves
    finally:
        code, err = stop_service(service)
    assert code == 0, err[-3000:]
    replies = bot.replies_by_request()
    assert len(replies) == 15 and all(len(ids) == 1 for ids in replies.values())
    with connect(bot.database_url).begin() as connection:
        jobs = dict(
            connection.execute(text("SELECT id, next_run_time FROM mailbot_scheduled_jobs")).all()
        )
    assert set(jobs) == {"digest", "reminders", "retention"}

    # Downtime: the stored digest run time passed (three days ago) while mailbot was stopped.
    jobs_table = SQLAlchemyJobStore(url=bot.database_url, tablename=JOB_STORE_TABLE)
    jobs_table.start(BackgroundScheduler(), "default")
    job = jobs_table.lookup_job("digest")
    job._modify(next_run_time=datetime.now(UTC) - timedelta(days=3))
    jobs_table.update_job(job)
    jobs_table.shutdown()
    before = digests(smtp_server)
    again = bot.start("run")
    try:
        ran = wait_until(lambda: digests(smtp_server) > before, 30)
        time.sleep(2)
    finally:
        code, err = stop_service(again)
    assert ran, f"the missed digest runs: {err[-3000:]}"
    assert code == 0, err[-3000:]
    assert digests(smtp_server) == before + 1, "once, not once per missed day"


def test_a_bad_schedule_fails_at_start_with_exit_2(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.config.write_text(ws.config.read_text() + '\n[schedule]\ndigest_at = "25:00"\n')
    result = run_cli("run", "--config", str(ws.config))
    assert result.returncode == 2
    assert "schedule.digest_at" in result.stderr and "time of day" in result.stderr


def test_retention_erases_exactly_the_ended_events_people(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=5)
    ws.config.write_text(
        ws.config.read_text() + '\n[[events]]\nslug = "old-forum"\ntitle = "Last year\'s forum"\n'
        "starts_at = 2026-01-10T11:00:00\nends_at = 2026-01-10T15:00:00\n"
        'venue = "Preston"\ncapacity = 5\n'
    )
    ws.deliver(
        compose(
            "Jane Smith <jane.smith@westmidlands.police.uk>",
            "Book me for old-forum.\n\nJane Smith",
            message_id="<o@w>",
        ),
        compose(
            "Tom Reid <tom.reid@lancashire.police.uk>",
            "Book me for cse-forum-preston.\n\nTom Reid",
            message_id="<n@l>",
        ),
    )
    with ws.bot(clock=lambda: datetime(2026, 1, 5, tzinfo=UTC)) as bot:
        bot.poll()
    store = Store(connect(ws.settings.database_url()))
    erased = erase_ended_events(store, ws.settings.event_infos(), 90, FIXED_NOW)
    assert erased == 1
    rows = {r.view.event_slug: r.view for r in store.bookings()}
    old, current = rows["old-forum"], rows["cse-forum-preston"]
    assert old.name is None and old.email.endswith("@erased.invalid") and old.status == "confirmed"
    assert current.email == "tom.reid@lancashire.police.uk" and current.name == "Tom Reid"
    with Session(store.engine) as session:
        bodies = {o.recipient: o.data for o in session.exec(select(OutboxRow)).all()}
    assert bodies[old.email] == b"" and bodies["tom.reid@lancashire.police.uk"] != b""
    assert erase_ended_events(store, ws.settings.event_infos(), 90, FIXED_NOW) == 0


def test_export_person_then_forget(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, capacity=5)
    ws.deliver(officer_request(1))
    ws.poll()
    held = run_cli("export-person", "officer1@lancashire.police.uk", "--config", str(ws.config))
    assert held.returncode == 0, held.stderr
    record = json.loads(held.stdout)
    assert record["bookings"][0]["name"] == "Ben Lee"
    assert record["messages_received_from"] == 1 and record["messages_sent_to"] == 1
    gone = run_cli("forget", "officer1@lancashire.police.uk", "--config", str(ws.config))
    assert gone.returncode == 0 and "1 booking(s)" in gone.stdout
    after = json.loads(
        run_cli("export-person", "officer1@lancashire.police.uk", "--config", str(ws.config)).stdout
    )
    assert after["bookings"] == [] and after["messages_received_from"] == 0
    with Session(connect(ws.settings.database_url())) as session:
        (row,) = session.exec(select(BookingRow)).all()
    assert row.status == "cancelled" and row.name is None, "the place was passed on first"


def test_forgetting_a_confirmed_attendee_passes_their_place_on_and_writes_to_nobody_erased(
    tmp_path: Path,
) -> None:
    # Issue 14, defect 4: the place was never passed on, the sign-in sheet showed an empty row
    # and the reminder job wrote "the 1d reminder" to an erased address.
    ws = Workspace(tmp_path, capacity=1)
    ws.deliver(officer_request(0), officer_request(1))
    ws.poll()
    assert sorted(r.outcome for r in ws.new_replies()) == ["confirmed", "waitlisted"]

    gone = run_cli("forget", "officer0@lancashire.police.uk", "--config", str(ws.config))
    assert gone.returncode == 0, gone.stderr
    told = [(r.to, r.outcome) for r in ws.new_replies()]
    assert told == [("officer1@lancashire.police.uk", "promoted")]
    with Session(connect(ws.settings.database_url())) as session:
        rows = {row.ref: row for row in session.exec(select(BookingRow)).all()}
    confirmed = [row for row in rows.values() if row.status == "confirmed"]
    assert [row.email for row in confirmed] == ["officer1@lancashire.police.uk"]

    sheet = tmp_path / "sheet.csv"
    exported = run_cli("export", str(sheet), "--config", str(ws.config))
    assert exported.returncode == 0, exported.stderr
    assert "officer1@lancashire.police.uk" in sheet.read_text(encoding="utf-8-sig")
    assert "erased" not in sheet.read_text(encoding="utf-8-sig")
    reminders = run_cli("reminders", "--dry-run", "--config", str(ws.config))
    assert "erased" not in reminders.stdout and "officer0" not in reminders.stdout
    with Session(connect(ws.settings.database_url())) as session:
        waiting = [
            row.recipient
            for row in session.exec(select(OutboxRow)).all()
            if row.status in ("queued", "sending")
        ]
    assert waiting == [], "mail still waiting to go out after the erasure"


def test_jobs_stored_by_the_flat_layout_are_replaced_when_the_service_starts(
    tmp_path: Path,
) -> None:
    # Before the package layout the scheduler stored its jobs as "mailbot.jobs:run_digest";
    # that module is gone. An administrator who upgrades must still get a working schedule.
    ws = Workspace(tmp_path)
    settings = ws.settings
    connect(settings.database_url())
    build_scheduler(settings).shutdown(wait=False)
    engine = create_engine(settings.database_url())
    with engine.begin() as connection:
        for job_id, state in connection.execute(
            text(f"SELECT id, job_state FROM {JOB_STORE_TABLE}")
        ).all():
            old = pickle.loads(state)
            old["func"] = old["func"].replace("mailbot.runtime.jobs:", "mailbot.jobs:")
            connection.execute(
                text(f"UPDATE {JOB_STORE_TABLE} SET job_state = :state WHERE id = :id"),
                {"state": pickle.dumps(old), "id": job_id},
            )

    scheduler = build_scheduler(settings)
    try:
        jobs = {job.id: job.func_ref for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert jobs == {
        "digest": "mailbot.runtime.jobs:run_digest",
        "reminders": "mailbot.runtime.jobs:run_reminders",
        "retention": "mailbot.runtime.jobs:run_retention",
    }
