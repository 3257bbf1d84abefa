"""Storage on a real SQLite file and the real PostgreSQL server: schema, outbox, capacity."""

from __future__ import annotations

import multiprocessing
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from mailbot.domain import Outcome, OutgoingMail
from mailbot.outbound.render import make_environment
from mailbot.pipeline.poll import Mailbot
from mailbot.refs import random_ref
from mailbot.runtime.wiring import open_sink, open_source, pipeline_settings
from mailbot.store.database import (
    SCHEMA_HEAD,
    alembic_config,
    connect,
    open_engine,
    schema_is_current,
)
from mailbot.store.outbox import Outbox, retry_delay
from mailbot.store.store import Store
from mailbot.store.tables import QUEUED, SENDING, OutboxRow
from tests.harness import FIXED_NOW, Workspace, eml
from tests.processes import running, wait_until
from tests.realmail import made_up_name, officer_request
from tests.servers.postgres import create_database, drop_database

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_migrations_create_the_schema_and_are_safe_to_rerun(database_url: str) -> None:
    engine = connect(database_url)
    assert schema_is_current(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"event", "booking", "inbound", "outbox", "audit", "inbound_failure"} <= tables
    connect(database_url)  # a second start must not fail or change anything
    assert schema_is_current(engine)


def test_the_recorded_head_is_the_newest_migration_so_none_is_ever_skipped() -> None:
    # A database at SCHEMA_HEAD opens without running alembic: were a newer migration
    # added without moving SCHEMA_HEAD on, databases at the old head would never get it.
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_current_head() == SCHEMA_HEAD


def test_the_same_conversation_gives_the_same_result_on_both_databases(
    tmp_path: Path, database_url: str
) -> None:
    ws = Workspace(tmp_path, capacity=1, database_url=database_url)
    ws.deliver(
        eml("01-officer-wmp.eml"),
        eml("02-officer-lancs.eml"),
        eml("03-non-police.eml"),
        eml("07-repeat-wmp.eml"),
        eml("09-cancel-wmp.eml"),
    )
    ws.poll()
    outcomes = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert outcomes == [
        ("alex.morgan@gmail.example.com", "declined"),
        ("jane.smith@westmidlands.police.uk", "cancelled"),
        ("jane.smith@westmidlands.police.uk", "confirmed"),
        ("jane.smith@westmidlands.police.uk", "duplicate"),
        # Waitlisted, then given Jane's place in the same poll: one mail, the place.
        ("tom.halloran@lancashire.police.uk", "promoted"),
    ]
    store = Store(connect(database_url))
    rows = {r.view.email: r for r in store.bookings()}
    assert rows["tom.halloran@lancashire.police.uk"].view.status == "confirmed"
    assert rows["jane.smith@westmidlands.police.uk"].created_at.tzinfo is not None


def _queue_one(store: Store, message_id: str = "<mailbot.t1@example.ac.uk>") -> None:
    mail = OutgoingMail(
        message_id, "a@met.police.uk", Outcome.CONFIRMED, None, b"Subject: x\r\n\r\nx\r\n"
    )
    with store.transaction() as tx:
        tx.queue([mail], sender_address="bookings@example.ac.uk", now=T0)


def test_outbox_claim_retry_and_send_keep_one_message_id(database_url: str) -> None:
    store = Store(connect(database_url))
    outbox = Outbox(store)
    _queue_one(store)
    (first,) = outbox.claim(T0)
    assert first.attempts == 1
    assert outbox.claim(T0) == [], "a claimed mail is not handed out twice"
    outbox.mark_retry(first, T0, "451 try later")
    assert outbox.claim(T0) == [], "not due before its retry time"
    (second,) = outbox.claim(T0 + retry_delay(1))
    assert second.message_id == first.message_id and second.attempts == 2
    outbox.mark_sent(second, T0 + retry_delay(1))
    assert outbox.counts() == {"sent": 1}


def test_claims_come_in_batches_oldest_first(database_url: str) -> None:
    store = Store(connect(database_url))
    for index in range(25):
        _queue_one(store, f"<mailbot.b{index}@example.ac.uk>")
    outbox = Outbox(store)
    first = outbox.claim(T0, limit=20)
    assert [c.message_id for c in first][:2] == [
        "<mailbot.b0@example.ac.uk>",
        "<mailbot.b1@example.ac.uk>",
    ]
    assert len(first) == 20 and len(outbox.claim(T0, limit=20)) == 5
    released = first[5]
    outbox.release(released, T0, "server unavailable")
    (again,) = outbox.claim(T0)
    assert again.message_id == released.message_id
    assert again.attempts == 1, "a release does not use up an attempt"


def test_outbox_gives_up_after_two_days_of_transient_failures(database_url: str) -> None:
    store = Store(connect(database_url))
    outbox = Outbox(store)
    _queue_one(store)
    later = T0 + timedelta(days=2, minutes=1)
    (claimed,) = outbox.claim(later)
    assert outbox.mark_retry(claimed, later, "421 shutting down") == "failed"
    assert outbox.counts() == {"failed": 1}


def test_processes_claiming_at_once_never_share_a_mail_and_leave_none(database_url: str) -> None:
    store = Store(connect(database_url))
    for index in range(120):
        _queue_one(store, f"<mailbot.c{index}@example.ac.uk>")
    start = threading.Barrier(4)

    def claim_all(worker: int) -> list[str]:
        outbox = Outbox(Store(connect(database_url)), identity=f"worker-{worker}")
        start.wait()
        taken: list[str] = []
        while batch := outbox.claim(T0, limit=7):
            taken += [claimed.message_id for claimed in batch]
        return taken

    with ThreadPoolExecutor(4) as pool:
        shares = list(pool.map(claim_all, range(4)))
    taken = [message_id for share in shares for message_id in share]
    assert len(taken) == len(set(taken)) == 120, "each mail claimed exactly once"
    assert Outbox(store).counts() == {"sending": 120}


@pytest.mark.integration
def test_mail_left_sending_by_a_dead_process_is_requeued(database_url: str) -> None:
    store = Store(connect(database_url))
    _queue_one(store)
    dead = multiprocessing.get_context("spawn").Process(target=int)
    dead.start()
    dead.join()
    outbox_of_dead = Outbox(store, identity=f"{socket.gethostname()}:{dead.pid}")
    assert len(outbox_of_dead.claim(T0)) == 1

    alive = Outbox(store)
    assert alive.claim(T0) == []
    assert alive.requeue_abandoned(T0 + timedelta(seconds=1)) == 1
    (again,) = alive.claim(T0 + timedelta(seconds=1))
    assert again.attempts == 2


@pytest.mark.integration
def test_mail_left_sending_by_an_unreaped_process_is_requeued(database_url: str) -> None:
    # Where the first process reaps no orphans, a dead delivery process stays a zombie:
    # it still answers signal 0, but it will never send the mail it claimed.
    store = Store(connect(database_url))
    _queue_one(store)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        assert wait_until(lambda: not running(zombie.pid)), "the child did not end"
        Outbox(store, identity=f"{socket.gethostname()}:{zombie.pid}").claim(T0)
        assert Outbox(store).requeue_abandoned(T0 + timedelta(seconds=1)) == 1
    finally:
        zombie.wait()


def test_a_live_claim_elsewhere_is_left_alone_until_its_lease_expires(database_url: str) -> None:
    store = Store(connect(database_url))
    _queue_one(store)
    Outbox(store, identity="another-host.example:4242").claim(T0)
    here = Outbox(store)
    assert here.requeue_abandoned(T0 + timedelta(minutes=5)) == 0
    assert here.requeue_abandoned(T0 + timedelta(minutes=11)) == 1
    with Session(store.engine) as session:
        (row,) = session.exec(select(OutboxRow)).all()
        assert row.status == QUEUED and row.status != SENDING


# -- capacity under concurrent processes -------------------------------------------------

WORKERS = 4
REQUESTS_EACH = 6
CAPACITY = 2  # reached by the first requests of the workers, which start together


def _officer_mail(worker: int, index: int) -> bytes:
    message = EmailMessage()
    domain = "durham.police.uk"
    message["Authentication-Results"] = f"mx.example.ac.uk; dmarc=pass header.from={domain}"
    message["From"] = f"{made_up_name(worker * 10 + index)} <officer.w{worker}i{index}@{domain}>"
    message["To"] = "bookings@example.ac.uk"
    message["Subject"] = "Booking"
    message["Message-ID"] = f"<w{worker}i{index}@{domain}>"
    message.set_content("Please book me a place.\n")
    return message.as_bytes()


def _slow_ref() -> str:
    # Booking references are drawn after the places are counted and before the booking is
    # written: a pause here widens that window the same way in the locked run (which must
    # still never overbook) and in the control (which, handling being fast, would otherwise
    # rarely race at all).
    time.sleep(0.02)
    return random_ref()


def _worker(root: str, together: Any, serialise: bool) -> None:
    ws = Workspace.reopen(Path(root))
    settings = ws.settings
    store = Store(connect(settings.database_url(), serialise=serialise), serialise=serialise)
    bot = Mailbot(
        pipeline_settings(settings),
        store=store,
        source=open_source(settings),
        sink=open_sink(settings),
        templates=make_environment(),
        clock=lambda: FIXED_NOW,
        make_ref=_slow_ref,
    )
    together.wait(60)  # every worker set up, so their first requests race
    with bot:
        bot.poll()


def _burst(tmp_path: Path, database_url: str, *, serialise: bool) -> list[Workspace]:
    context = multiprocessing.get_context("spawn")
    together = context.Barrier(WORKERS)
    workspaces = []
    for worker in range(WORKERS):
        ws = Workspace(tmp_path / f"w{worker}", capacity=CAPACITY, database_url=database_url)
        ws.deliver(*(_officer_mail(worker, i) for i in range(REQUESTS_EACH)))
        workspaces.append(ws)
    Store(connect(database_url)).sync_events(workspaces[0].settings.event_infos())
    processes = [
        context.Process(target=_worker, args=(str(ws.root), together, serialise))
        for ws in workspaces
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    return workspaces


@pytest.mark.integration
def test_concurrent_processes_never_book_one_place_too_many(
    tmp_path: Path, database_url: str
) -> None:
    workspaces = _burst(tmp_path, database_url, serialise=True)
    statuses = [row.view.status for row in Store(connect(database_url)).bookings()]
    assert statuses.count("confirmed") == CAPACITY
    assert statuses.count("waitlisted") == WORKERS * REQUESTS_EACH - CAPACITY
    replies = [r for ws in workspaces for r in ws.all_replies()]
    assert len(replies) == WORKERS * REQUESTS_EACH, "every request answered exactly once"
    positions = []
    for reply in replies:
        if reply.outcome == "waitlisted":
            body = reply.message.get_body(("plain",))
            assert body is not None
            found = re.search(r"number (\d+) on the waiting list", body.get_content())
            assert found is not None
            positions.append(int(found.group(1)))
    assert sorted(positions) == list(range(1, WORKERS * REQUESTS_EACH - CAPACITY + 1))


@pytest.mark.integration
def test_control_without_the_lock_overbooks_so_the_test_above_can_fail(
    tmp_path: Path, database_url: str
) -> None:
    """The same burst with the event lock (and SQLite's BEGIN IMMEDIATE) switched off."""
    most = 0
    extra: list[str] = []
    try:
        for attempt in range(8):
            url = database_url
            if attempt:
                url = _fresh_database(database_url, tmp_path, attempt)
                extra.append(url)
            _burst(tmp_path / f"try{attempt}", url, serialise=False)
            confirmed = [r for r in Store(connect(url)).bookings() if r.view.status == "confirmed"]
            most = max(most, len(confirmed))
            if most > CAPACITY:
                break
    finally:
        for url in extra:
            if url.startswith("postgresql"):
                drop_database(url)
    assert most > CAPACITY, "without the lock the same burst should overbook"


def _fresh_database(database_url: str, tmp_path: Path, attempt: int) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'control{attempt}.db'}"
    return create_database()


def test_a_waitlisted_officer_asking_again_is_told_their_current_position(
    tmp_path: Path, database_url: str
) -> None:
    ws = Workspace(tmp_path, capacity=1, database_url=database_url)
    ws.deliver(*(officer_request(i) for i in range(4)))
    ws.poll()
    ws.new_replies()
    again = officer_request(2).replace(b"<request-2@", b"<request-2-again@")
    ws.deliver(again)
    ws.poll()
    (reply,) = ws.new_replies()
    assert reply.outcome == "duplicate" and reply.to == "officer2@lancashire.police.uk"
    body = reply.message.get_body(("plain",))
    assert body is not None and "on the waiting list: you are number 2" in body.get_content()


def test_upgrading_an_old_database_keeps_its_bookings(database_url: str) -> None:
    engine = open_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO event (slug, title, starts_at, ends_at, venue, capacity) VALUES "
                "('cse-forum-preston', 'Forum', :t, :t, 'Preston', 60)"
            ),
            {"t": T0},
        )
        connection.execute(
            text(
                "INSERT INTO booking (ref, event_slug, email, status, created_at, updated_at) "
                "VALUES ('OLD-REF', 'cse-forum-preston', 'a@met.police.uk', 'confirmed', :t, :t)"
            ),
            {"t": T0},
        )
    upgraded = connect(database_url)
    assert schema_is_current(upgraded)
    (row,) = Store(upgraded).bookings()
    view = row.view
    assert (view.ref, view.email, view.status) == ("OLD-REF", "a@met.police.uk", "confirmed")
    assert row.needs is None and view.unit is None and row.undeliverable is None


def test_places_per_force_is_counted_by_the_database(tmp_path: Path, database_url: str) -> None:
    ws = Workspace(tmp_path, capacity=5, database_url=database_url)
    ws.config.write_text(
        ws.config.read_text().replace("capacity = 5", "capacity = 5\nplaces_per_force = 1")
    )
    ws.deliver(officer_request(1), officer_request(2), officer_request(3, "durham.police.uk"))
    ws.poll()
    outcomes = sorted((r.to, r.outcome) for r in ws.new_replies())
    assert outcomes == [
        ("officer1@lancashire.police.uk", "confirmed"),
        ("officer2@lancashire.police.uk", "waitlisted"),
        ("officer3@durham.police.uk", "confirmed"),
    ]


def test_only_one_instance_claims_a_scheduled_job_slot(database_url: str) -> None:
    first, second = Store(connect(database_url)), Store(connect(database_url))
    assert first.claim_job("digest", timedelta(hours=1), T0)
    assert not second.claim_job("digest", timedelta(hours=1), T0 + timedelta(minutes=1))
    assert second.claim_job("digest", timedelta(hours=1), T0 + timedelta(days=1))
