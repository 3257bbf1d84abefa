"""End to end against the private Dovecot and aiosmtpd: exactly one reply per request, through
crashes, outages and cut connections."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from mailbot.store.database import connect
from mailbot.store.tables import BookingRow, InboundRow
from tests.harness import eml
from tests.processes import stop_service, wait_until
from tests.realmail import RealMailbot, officer_request
from tests.servers.dovecot import PrivateDovecot
from tests.servers.smtp import LoopbackSmtpServer

# Every test here starts processes or servers of its own.
pytestmark = pytest.mark.integration


def bookings(bot: RealMailbot) -> list[BookingRow]:
    with Session(connect(bot.database_url)) as session:
        return list(session.exec(select(BookingRow)).all())


def test_poll_answers_over_imap_and_smtp_and_moves_the_mail(
    tmp_path: Path, dovecot: PrivateDovecot, imap_user: str, smtp_server: LoopbackSmtpServer
) -> None:
    bot = RealMailbot(tmp_path, dovecot, imap_user, smtp_server, capacity=1)
    bot.append(
        eml("01-officer-wmp.eml"),
        eml("02-officer-lancs.eml"),
        eml("04-out-of-office.eml"),
        eml("05-no-headers.eml"),
        eml("03-non-police.eml"),
    )
    result = bot.run("poll")
    assert result.returncode == 0, result.stderr
    assert "handled 5" in result.stdout and "sent 3" in result.stdout

    outcomes = sorted(
        (str(m["To"].addresses[0].addr_spec), str(m["X-Mailbot-Outcome"])) for m in bot.replies()
    )
    assert outcomes == [
        ("alex.morgan@gmail.example.com", "declined"),
        ("jane.smith@westmidlands.police.uk", "confirmed"),
        ("tom.halloran@lancashire.police.uk", "waitlisted"),
    ]
    envelope = smtp_server.messages[0]
    assert envelope.mail_from == "bookings@example.ac.uk"
    assert bot.folder_count("INBOX") == 0
    assert bot.folder_count("Processed") == 4
    assert bot.folder_count("Quarantine") == 1

    again = bot.run("poll")
    assert again.returncode == 0 and "handled 0" in again.stdout
    assert len(smtp_server.messages) == 3


BURST = 600
BURST_CAPACITY = 450


def _handled_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(InboundRow)).one()[0])


def test_kill_9_at_many_points_of_a_burst_loses_and_repeats_nothing(
    tmp_path: Path, dovecot: PrivateDovecot, imap_user: str, smtp_server: LoopbackSmtpServer
) -> None:
    bot = RealMailbot(tmp_path, dovecot, imap_user, smtp_server, capacity=BURST_CAPACITY)
    bot.append(*(officer_request(i) for i in range(BURST)))
    # Read as a reader: mailbot's own engine would take the write lock for every count.
    ledger = connect(bot.database_url, serialise=False)
    # Each kill waits for progress, not for a time, so that it lands on a fast machine too:
    # before the fetch (during start-up), after n more commits (moves go in batches, so
    # mostly before the move), then, with a backlog of replies queued, after n more mails
    # accepted by the server (mid-send). The handled steps are small so the burst outlasts
    # them; the sends work through the backlog, which is larger than all of them together.
    kill_points: list[tuple[str, float]] = [
        ("seconds", 0.3),
        ("handled", 10),
        ("handled", 1),
        ("handled", 40),
        ("seconds", 0.8),
        ("handled", 5),
        ("handled", 80),
        ("sent", 1),
        ("sent", 40),
        ("sent", 5),
    ]

    def progress(kind: str) -> float:
        if kind == "handled":
            return _handled_count(ledger)
        if kind == "sent":
            return len(smtp_server.messages)
        return time.monotonic()

    missed: list[str] = []
    for kind, amount in kill_points:
        target = progress(kind) + amount
        process = bot.start("poll")
        while process.poll() is None and progress(kind) < target:
            time.sleep(0.005)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        _out, err = process.communicate(timeout=60)
        if process.returncode != -signal.SIGKILL:
            missed.append(
                f"{kind} +{amount}: poll exited {process.returncode} at {progress(kind)}"
                f" (target {target}), handled {_handled_count(ledger)},"
                f" sent {len(smtp_server.messages)}; stderr:\n{err[-2000:]}"
            )
    assert not missed, "every kill must land while mailbot is working:\n" + "\n".join(missed)
    final = bot.run("poll")
    assert final.returncode == 0, final.stderr

    replies = bot.replies_by_request()
    requests = {f"<request-{i}@lancashire.police.uk>" for i in range(BURST)}
    assert set(replies) == requests, "every request answered"
    assert all(len(ids) == 1 for ids in replies.values()), "one reply each (copies share an id)"
    # A copy can only come from a kill between the server's acceptance and the record of it.
    assert len(smtp_server.messages) - BURST <= len(kill_points)
    rows = bookings(bot)
    assert len(rows) == BURST, "no booking lost or doubled"
    assert sum(r.status == "confirmed" for r in rows) == BURST_CAPACITY
    assert bot.folder_count("INBOX") == 0
    assert bot.folder_count("Processed") == BURST


def test_smtp_down_in_the_middle_of_a_burst_delays_mail_and_loses_none(
    tmp_path: Path, dovecot: PrivateDovecot, imap_user: str, smtp_server: LoopbackSmtpServer
) -> None:
    bot = RealMailbot(tmp_path, dovecot, imap_user, smtp_server, poll_seconds=1)
    service = bot.start("run")
    try:
        bot.append(*(officer_request(i) for i in range(20)))
        assert wait_until(lambda: len(smtp_server.messages) == 20, 30)

        smtp_server.stop()
        bot.append(*(officer_request(i) for i in range(20, 40)))
        assert wait_until(lambda: bot.folder_count("INBOX") == 0, 30)
        time.sleep(2)  # several cycles with the server down
        assert len(smtp_server.messages) == 20

        smtp_server.start()
        bot.append(*(officer_request(i) for i in range(40, 60)))
        assert wait_until(lambda: len(smtp_server.messages) >= 60, 30)
    finally:
        code, err = stop_service(service)
    assert code == 0, err[-3000:]
    replies = bot.replies_by_request()
    assert len(replies) == 60 and all(len(ids) == 1 for ids in replies.values())
    assert len(smtp_server.messages) == 60


def test_connection_cut_mid_fetch_recovers_and_finishes(
    tmp_path: Path, dovecot: PrivateDovecot, imap_user: str, smtp_server: LoopbackSmtpServer
) -> None:
    bot = RealMailbot(tmp_path, dovecot, imap_user, smtp_server, poll_seconds=1, capacity=300)
    bot.append(*(officer_request(i) for i in range(150)))
    service = bot.start("run")
    try:
        cuts = 0
        deadline = time.monotonic() + 30
        while bot.folder_count("Processed") < 150 and cuts < 3 and time.monotonic() < deadline:
            time.sleep(0.3)
            if dovecot.kill_connections(imap_user):
                cuts += 1
        assert cuts >= 1
        assert wait_until(lambda: len(smtp_server.messages) >= 150, 60)
    finally:
        code, err = stop_service(service)
    assert code == 0
    assert "trying again" in err, "the cut was noticed and retried"
    replies = bot.replies_by_request()
    assert len(replies) == 150 and all(len(ids) == 1 for ids in replies.values())
    assert bot.folder_count("INBOX") == 0, err[-6000:]


def test_idle_answers_new_mail_within_two_seconds(
    tmp_path: Path, dovecot: PrivateDovecot, imap_user: str, smtp_server: LoopbackSmtpServer
) -> None:
    # poll_seconds is long: only IDLE can explain a quick answer.
    bot = RealMailbot(tmp_path, dovecot, imap_user, smtp_server, poll_seconds=300)
    bot.append(officer_request(1))
    service = bot.start("run")
    try:
        assert wait_until(lambda: len(smtp_server.messages) == 1, 30), "first poll"
        time.sleep(1.0)  # now idle
        appended_at = time.monotonic()
        bot.append(officer_request(2))
        answered = wait_until(lambda: len(smtp_server.messages) == 2, 10, interval=0.02)
        elapsed = time.monotonic() - appended_at
    finally:
        code, err = stop_service(service)
    assert answered, err[-3000:]
    assert elapsed < 2.0, f"answered after {elapsed:.2f} s"
    assert code == 0


def test_sigterm_while_idle_stops_at_once_and_cleanly(
    tmp_path: Path, dovecot: PrivateDovecot, imap_user: str, smtp_server: LoopbackSmtpServer
) -> None:
    bot = RealMailbot(tmp_path, dovecot, imap_user, smtp_server, poll_seconds=300)
    service = bot.start("run")
    time.sleep(2.5)
    started = time.monotonic()
    code, err = stop_service(service)
    assert code == 0, err[-3000:]
    assert time.monotonic() - started < 5
    assert "stopped" in err
