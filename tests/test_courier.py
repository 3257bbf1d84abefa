"""ProcessCourier: replies sent by a delivery process of their own (`mailbot deliver
--follow`, started fresh) while the inbox is read, each exactly once, whichever side stops
early or dies."""

from __future__ import annotations

import asyncio
import email
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlmodel import Session as DbSession
from sqlmodel import select

from mailbot.pipeline.courier import ProcessCourier
from mailbot.runtime.wiring import build_mailbot, deliver_command
from mailbot.store.tables import OutboxRow
from tests.harness import Workspace
from tests.processes import PATIENCE, running, wait_until
from tests.realmail import officer_request
from tests.sending import (
    T0,
    claimants,
    deliver_here,
    open_store,
    outbox_states,
    queue_replies,
    received,
    smtp_workspace,
)
from tests.servers.smtp import LoopbackSmtpServer, RecordingHandler

# Every test here starts processes of its own.
pytestmark = pytest.mark.integration


def courier_for(ws: Workspace) -> ProcessCourier:
    """The courier `mailbot poll` builds, on the tests' fixed clock."""
    return ProcessCourier(deliver_command(ws.settings), clock=lambda: T0)


def delivery_processes() -> list[int]:
    """This process's children running `mailbot deliver`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if ppid == os.getpid() and b"deliver" in command:
                found.append(int(entry.name))
    return found


class HoldingHandler(RecordingHandler):
    """A server that accepts `hold_after` messages, then keeps the next one waiting at the
    end of DATA (with no reply yet) until the test releases it: a slow moment mid-queue."""

    def __init__(self, hold_after: int) -> None:
        super().__init__()
        self.hold_after = hold_after
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if len(self.messages) >= self.hold_after:
            self.holding.set()
            deadline = time.monotonic() + PATIENCE
            while not self.release.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def holding_server() -> Iterator[LoopbackSmtpServer]:
    """Accepts 20 messages, then holds the 21st until `handler.release` is set."""
    server = LoopbackSmtpServer(handler=HoldingHandler(hold_after=20))
    server.start()
    try:
        yield server
    finally:
        handler = server.handler
        assert isinstance(handler, HoldingHandler)
        handler.release.set()
        server.stop()


def holding(server: LoopbackSmtpServer) -> HoldingHandler:
    handler = server.handler
    assert isinstance(handler, HoldingHandler)
    return handler


def test_the_courier_sends_every_queued_reply_from_a_process_of_its_own(
    tmp_path: Path, holding_server: LoopbackSmtpServer
) -> None:
    ws = smtp_workspace(tmp_path, holding_server)
    store = open_store(ws)
    courier = courier_for(ws)
    handler = holding(holding_server)

    first = queue_replies(store, 40)
    courier.nudge()
    assert handler.holding.wait(PATIENCE), "the delivery process never got to the 21st mail"
    # Mid-send, the mail in flight is claimed by the delivery process, not by this one.
    assert courier.pid is not None and courier.pid != os.getpid()
    assert claimants(store) == {f"{platform.node()}:{courier.pid}"}
    assert delivery_processes() == [courier.pid]
    later = queue_replies(store, 20, start=40)  # queued while the child is sending
    courier.nudge()
    handler.release.set()
    summary = courier.finish()

    assert summary is not None
    assert summary.sent == 60
    assert summary.stopped_by is None
    assert outbox_states(store) == {"sent": 60}
    assert received(holding_server) == Counter(dict.fromkeys(first | later, 1))
    assert holding_server.handler.connections == 1
    assert courier.pid is None
    assert delivery_processes() == []


def test_a_courier_never_nudged_starts_nothing_and_leaves_the_sending_to_its_caller(
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    ws = smtp_workspace(tmp_path, smtp_server)
    store = open_store(ws)
    queue_replies(store, 5)

    courier = courier_for(ws)
    assert courier.finish() is None
    assert courier.finish(hurry=True) is None

    assert courier.pid is None
    assert delivery_processes() == []
    assert smtp_server.handler.connections == 0
    assert outbox_states(store) == {"queued": 5}


def test_a_hurried_finish_stops_between_two_mails_and_loses_none(
    tmp_path: Path, holding_server: LoopbackSmtpServer
) -> None:
    ws = smtp_workspace(tmp_path, holding_server)
    store = open_store(ws)
    queued = queue_replies(store, 200)
    courier = courier_for(ws)
    handler = holding(holding_server)

    courier.nudge()
    assert handler.holding.wait(PATIENCE), "the child never got to the 21st mail"
    # Let the mail in flight through a moment after the hurry, as a slow server would.
    threading.Timer(0.3, handler.release.set).start()
    courier.finish(hurry=True)

    states = outbox_states(store)
    assert "sending" not in states, "a mail claimed by the stopped child was not given back"
    assert set(states) <= {"sent", "queued"}
    assert states["sent"] == len(holding_server.messages)
    # It stopped: the bulk of the queue was left for later instead of being sent now.
    assert states["queued"] >= 100
    assert delivery_processes() == []

    assert deliver_here(store, holding_server) == states["queued"]
    assert received(holding_server) == Counter(dict.fromkeys(queued, 1))


PARENT = """\
import sys
from datetime import datetime
from pathlib import Path
from mailbot.config import load_settings
from mailbot.pipeline.courier import ProcessCourier
from mailbot.runtime.wiring import deliver_command

config, now, report = Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2]), Path(sys.argv[3])
courier = ProcessCourier(deliver_command(load_settings(config)), clock=lambda: now)
courier.nudge()
report.with_suffix(".part").write_text(str(courier.pid))
report.with_suffix(".part").rename(report)
sys.stdin.read()  # until it is killed
"""


@pytest.mark.parametrize("moment", ["mid-drain", "idle"])
def test_the_courier_stops_by_itself_when_its_parent_is_killed(
    tmp_path: Path, holding_server: LoopbackSmtpServer, moment: str
) -> None:
    ws = smtp_workspace(tmp_path, holding_server)
    store = open_store(ws)
    count = 200 if moment == "mid-drain" else 30
    queued = queue_replies(store, count)
    handler = holding(holding_server)
    if moment == "idle":
        handler.release.set()  # no hold: the child sends everything, then waits for a nudge

    report = tmp_path / "child.pid"
    stderr = tmp_path / "parent.stderr"
    with open(stderr, "wb") as errors:
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT, str(ws.config), T0.isoformat(), str(report)],
            stdin=subprocess.PIPE,
            stderr=errors,
        )
    child = None
    try:
        assert wait_until(report.exists), stderr.read_text()
        child = int(report.read_text())
        if moment == "mid-drain":
            assert handler.holding.wait(PATIENCE), stderr.read_text()
        else:
            assert wait_until(lambda: len(holding_server.messages) == count)

        parent.send_signal(signal.SIGKILL)
        parent.wait(PATIENCE)
        handler.release.set()  # the mail in flight is accepted after the parent has died

        assert wait_until(lambda: not running(child)), "the orphaned courier kept running"
    finally:
        if parent.stdin is not None:
            parent.stdin.close()
        with suppress(ProcessLookupError):
            parent.kill()
        parent.wait(PATIENCE)
        if child is not None and running(child):
            with suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)

    states = outbox_states(store)
    assert "sending" not in states, "the orphan left claimed mail behind"
    assert states.get("sent", 0) == len(holding_server.messages)
    if moment == "mid-drain":
        assert states.get("queued", 0) > 0, "the orphan went on sending the whole queue"

    deliver_here(store, holding_server)
    assert outbox_states(store) == {"sent": count}
    copies = received(holding_server)
    assert set(copies) == queued
    # Only the mail in flight when the parent died could arrive twice.
    assert sum(copies.values()) <= count + 1
    assert max(copies.values()) <= 2


def test_a_poll_whose_courier_is_killed_still_sends_every_reply(
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    ws = smtp_workspace(tmp_path, smtp_server, capacity=100)
    requests = 30
    ws.deliver(*(officer_request(index) for index in range(requests)))
    killed: list[int] = []

    with build_mailbot(ws.settings, send_alongside=True) as bot:
        courier = bot.courier
        assert isinstance(courier, ProcessCourier)

        def kill_the_courier(_result: str) -> None:
            if killed:
                return
            assert courier.pid is not None, "the poll did not start a delivery process"
            assert delivery_processes() == [courier.pid]
            os.kill(courier.pid, signal.SIGKILL)
            assert wait_until(lambda: not running(courier.pid or 0))
            killed.append(courier.pid)

        summary = bot.poll(on_message=kill_the_courier)

    assert killed
    assert summary.handled == requests
    assert summary.delivery.stopped_by is None
    store = open_store(ws)
    assert outbox_states(store) == {"sent": requests}
    with DbSession(store.engine) as session:
        queued = set(session.exec(select(OutboxRow.message_id)).all())
    copies = received(smtp_server)
    assert set(copies) == queued
    assert sum(copies.values()) <= requests + 1, "more than the mail in flight was sent twice"
    answered = {
        str(email.message_from_bytes(m.content, policy=default)["In-Reply-To"])
        for m in smtp_server.messages
    }
    assert answered == {f"<request-{index}@lancashire.police.uk>" for index in range(requests)}
    assert delivery_processes() == []


def test_the_courier_keeps_the_time_of_the_pipeline_it_sends_for(
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    # Mail is due from the moment the pipeline queued it, by the pipeline's clock; a
    # courier on another clock (its own process's) would find a poll's replies not yet due.
    ws = smtp_workspace(tmp_path, smtp_server, capacity=10)
    ws.deliver(*(officer_request(index) for index in range(5)))
    with build_mailbot(ws.settings, send_alongside=True) as bot:
        bot.clock = lambda: datetime(2098, 1, 5, 9, 0, tzinfo=UTC)
        summary = bot.poll()
    assert summary.delivery.sent == 5
    store = open_store(ws)
    assert outbox_states(store) == {"sent": 5}
    with DbSession(store.engine) as session:
        sent_at = session.exec(select(OutboxRow.sent_at)).all()
    assert all(when is not None and when.year == 2098 for when in sent_at)
    assert len(smtp_server.messages) == 5


@pytest.mark.parametrize("outage", ["421", "stopped"])
def test_an_unavailable_server_pauses_the_courier_and_every_reply_stays_queued(
    tmp_path: Path, smtp_server: LoopbackSmtpServer, outage: str
) -> None:
    ws = smtp_workspace(tmp_path, smtp_server)
    store = open_store(ws)
    queued = queue_replies(store, 30)
    if outage == "421":
        smtp_server.handler.fail_with(421)
    else:
        smtp_server.stop()

    courier = courier_for(ws)
    courier.nudge()
    summary = courier.finish()

    assert summary is not None, "the child ended without saying what happened"
    assert summary.stopped_by is not None
    assert (summary.sent, summary.failed) == (0, 0)
    assert outbox_states(store) == {"queued": 30}
    with DbSession(store.engine) as session:
        attempts = set(session.exec(select(OutboxRow.attempts)).all())
    assert attempts == {0}, "an outage used up retries"
    assert smtp_server.messages == []

    smtp_server.handler.reset()
    smtp_server.start()
    assert deliver_here(store, smtp_server) == 30
    assert received(smtp_server) == Counter(dict.fromkeys(queued, 1))


def test_a_hurried_finish_still_says_what_was_sent(
    tmp_path: Path, holding_server: LoopbackSmtpServer
) -> None:
    ws = smtp_workspace(tmp_path, holding_server)
    store = open_store(ws)
    queue_replies(store, 200)
    courier = courier_for(ws)
    courier.nudge()
    assert holding(holding_server).holding.wait(PATIENCE)
    threading.Timer(0.3, holding(holding_server).release.set).start()
    summary = courier.finish(hurry=True)
    assert summary is not None, "the child's summary of a hurried stop was lost"
    assert (
        summary.sent
        == outbox_states(store).get("sent", 0)
        == sum(received(holding_server).values())
    )


def test_ctrl_c_during_the_last_sends_of_a_poll_stops_it_between_two_mails(
    tmp_path: Path, holding_server: LoopbackSmtpServer
) -> None:
    ws = smtp_workspace(tmp_path, holding_server, capacity=100)
    store = open_store(ws)
    queue_replies(store, 200)  # a backlog, as an outage leaves
    ws.deliver(officer_request(1))
    # In a process group of its own, as a shell's job: Ctrl-C at a terminal reaches the
    # whole foreground group, which must not include the delivery process.
    poll = subprocess.Popen(
        [sys.executable, "-m", "mailbot", "poll", "--config", str(ws.config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,
    )
    try:
        assert holding(holding_server).holding.wait(PATIENCE)
        assert wait_until(lambda: ws.folder_count("Processed") == 1)  # the inbox is done
        os.killpg(poll.pid, signal.SIGINT)
        holding(holding_server).release.set()
        _out, err = poll.communicate(timeout=120)
    finally:
        poll.kill()
    states = outbox_states(store)
    assert "sending" not in states
    assert states.get("queued", 0) >= 100, f"Ctrl-C was ignored until the queue was sent: {states}"
    assert "delivery process failed" not in err
    assert "KeyboardInterrupt" not in err.replace("Aborted", ""), "the child saw the Ctrl-C"
