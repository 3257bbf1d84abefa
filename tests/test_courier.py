"""ProcessCourier: replies sent from a forked process of their own while the inbox is read,
each exactly once, whichever side stops early or dies."""

from __future__ import annotations

import asyncio
import email
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlmodel import Session as DbSession
from sqlmodel import select

from mailbot.domain import Outcome, OutgoingMail
from mailbot.mail.smtp import SmtpSink
from mailbot.pipeline.courier import ProcessCourier
from mailbot.pipeline.delivery import deliver_pending
from mailbot.runtime.wiring import build_mailbot
from mailbot.store.database import connect
from mailbot.store.outbox import Outbox
from mailbot.store.store import Store
from mailbot.store.tables import OutboxRow
from tests.harness import CONFIG, Workspace
from tests.processes import PATIENCE, running, wait_until
from tests.realmail import made_up_name, officer_request
from tests.servers.smtp import LoopbackSmtpServer, RecordingHandler

# Every test here starts processes of its own.
pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
BOOKINGS = "bookings@example.ac.uk"


def clock() -> datetime:
    return T0


def open_store(tmp_path: Path) -> Store:
    return Store(connect(f"sqlite:///{tmp_path / 'mailbot.db'}"))


def queue_replies(store: Store, count: int, start: int = 0) -> set[str]:
    """Queue `count` confirmations, as the pipeline does; their Message-IDs."""
    mails = []
    for index in range(start, start + count):
        name = made_up_name(index)
        message_id = f"<mailbot.pipeline.courier{index}@example.ac.uk>"
        recipient = f"officer{index}@lancashire.police.uk"
        message = EmailMessage()
        message["From"] = f"Forum Bookings <{BOOKINGS}>"
        message["To"] = f"{name} <{recipient}>"
        message["Subject"] = "Your place at the forum is confirmed"
        message["Message-ID"] = message_id
        message.set_content(f"Dear {name},\n\nYour place is confirmed.\n")
        mails.append(
            OutgoingMail(message_id, recipient, Outcome.CONFIRMED, None, message.as_bytes())
        )
    with store.transaction() as tx:
        tx.queue(mails, sender_address=BOOKINGS, now=T0)
    return {mail.message_id for mail in mails}


def received(server: LoopbackSmtpServer) -> Counter[str]:
    """How many times the server accepted each Message-ID."""
    found: Counter[str] = Counter()
    for message in server.messages:
        parsed = email.message_from_bytes(message.content, policy=default)
        found[str(parsed["Message-ID"])] += 1
    return found


def outbox_states(store: Store) -> dict[str, int]:
    return Outbox(store).counts()


def sink_for(server: LoopbackSmtpServer) -> SmtpSink:
    return SmtpSink(
        host=server.host, port=server.port, security="none", username=None, password=None
    )


def deliver_here(store: Store, server: LoopbackSmtpServer) -> int:
    """An ordinary in-process delivery, as the next `mailbot poll` would make."""
    sink = sink_for(server)
    try:
        summary = deliver_pending(Outbox(store), sink, clock)
    finally:
        sink.close()
    assert summary.stopped_by is None
    return summary.sent


class ChildParts:
    """The courier's factories, noting which process called them."""

    def __init__(self, tmp_path: Path, server: LoopbackSmtpServer) -> None:
        self.url = f"sqlite:///{tmp_path / 'mailbot.db'}"
        self.server = server
        self._log = tmp_path / "opened-by"

    def open_store(self) -> Store:
        with open(self._log, "a") as log:
            log.write(f"store {os.getpid()}\n")
        return Store(connect(self.url))

    def open_sink(self) -> SmtpSink:
        with open(self._log, "a") as log:
            log.write(f"sink {os.getpid()}\n")
        return sink_for(self.server)

    def courier(self) -> ProcessCourier:
        return ProcessCourier(self.open_store, self.open_sink, clock)

    def opened_by(self) -> list[tuple[str, int]]:
        if not self._log.exists():
            return []
        lines = self._log.read_text().split()
        return [(what, int(pid)) for what, pid in zip(lines[::2], lines[1::2], strict=True)]


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
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    store = open_store(tmp_path)
    parts = ChildParts(tmp_path, smtp_server)
    courier = parts.courier()

    first = queue_replies(store, 40)
    courier.nudge()
    later = queue_replies(store, 20, start=40)  # queued while the child is sending
    courier.nudge()
    summary = courier.finish()

    assert summary is not None
    assert summary.sent == 60
    assert summary.stopped_by is None
    assert outbox_states(store) == {"sent": 60}
    queued = first | later
    assert received(smtp_server) == Counter(dict.fromkeys(queued, 1))
    # Sent by one child, not by this process: it opened its own store and sink, once.
    opened = parts.opened_by()
    assert sorted(what for what, _ in opened) == ["sink", "store"]
    assert len({pid for _, pid in opened}) == 1
    assert opened[0][1] != os.getpid()
    assert smtp_server.handler.connections == 1
    assert multiprocessing.active_children() == []


def test_a_courier_never_nudged_forks_nothing_and_leaves_the_sending_to_its_caller(
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    store = open_store(tmp_path)
    queue_replies(store, 5)
    parts = ChildParts(tmp_path, smtp_server)
    children_before = multiprocessing.active_children()

    courier = parts.courier()
    assert courier.finish() is None
    assert courier.finish(hurry=True) is None

    assert multiprocessing.active_children() == children_before
    assert parts.opened_by() == []
    assert smtp_server.handler.connections == 0
    assert outbox_states(store) == {"queued": 5}


def test_a_hurried_finish_stops_between_two_mails_and_loses_none(
    tmp_path: Path, holding_server: LoopbackSmtpServer
) -> None:
    store = open_store(tmp_path)
    queued = queue_replies(store, 200)
    courier = ChildParts(tmp_path, holding_server).courier()
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
    assert multiprocessing.active_children() == []

    assert deliver_here(store, holding_server) == states["queued"]
    assert received(holding_server) == Counter(dict.fromkeys(queued, 1))


PARENT = """\
import multiprocessing, sys
from datetime import datetime
from pathlib import Path
from mailbot.pipeline.courier import ProcessCourier
from mailbot.mail.smtp import SmtpSink
from mailbot.store.store import Store
from mailbot.store.database import open_engine

url, port, now, report = sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3]), Path(sys.argv[4])
courier = ProcessCourier(
    open_store=lambda: Store(open_engine(url)),
    open_sink=lambda: SmtpSink(
        host="127.0.0.1", port=port, security="none", username=None, password=None
    ),
    clock=lambda: now,
)
courier.nudge()
(child,) = multiprocessing.active_children()
report.with_suffix(".part").write_text(str(child.pid))
report.with_suffix(".part").rename(report)
sys.stdin.read()  # until it is killed
"""


@pytest.mark.parametrize("moment", ["mid-drain", "idle"])
def test_the_courier_stops_by_itself_when_its_parent_is_killed(
    tmp_path: Path, holding_server: LoopbackSmtpServer, moment: str
) -> None:
    store = open_store(tmp_path)
    count = 200 if moment == "mid-drain" else 30
    queued = queue_replies(store, count)
    handler = holding(holding_server)
    if moment == "idle":
        handler.release.set()  # no hold: the child sends everything, then waits for a nudge

    report = tmp_path / "child.pid"
    stderr = tmp_path / "parent.stderr"
    with open(stderr, "wb") as errors:
        parent = subprocess.Popen(
            [
                sys.executable,
                "-c",
                PARENT,
                f"sqlite:///{tmp_path / 'mailbot.db'}",
                str(holding_server.port),
                T0.isoformat(),
                str(report),
            ],
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


def smtp_workspace(root: Path, server: LoopbackSmtpServer, capacity: int) -> Workspace:
    """The harness's workspace (Maildir inbox, SQLite), replying through the SMTP server."""
    ws = Workspace(root, capacity=capacity)
    config = CONFIG.format(capacity=capacity, database_url="sqlite:///mailbot.db")
    smtp = f'[smtp]\nhost = "{server.host}"\nport = {server.port}\nsecurity = "none"\n'
    with_smtp = config.replace('[smtp]\nmaildir = "outbox"\n', smtp)
    assert with_smtp != config
    ws.config.write_text(with_smtp)
    return ws


def test_a_poll_whose_courier_is_killed_still_sends_every_reply(
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    ws = smtp_workspace(tmp_path, smtp_server, capacity=100)
    requests = 30
    ws.deliver(*(officer_request(index) for index in range(requests)))
    killed: list[int] = []

    def kill_the_courier(_result: str) -> None:
        if killed:
            return
        couriers = [p for p in multiprocessing.active_children() if p.name == "mailbot-delivery"]
        assert len(couriers) == 1, "the poll did not start a delivery process"
        (courier,) = couriers
        assert courier.pid is not None
        os.kill(courier.pid, signal.SIGKILL)
        courier.join(PATIENCE)
        killed.append(courier.pid)

    with build_mailbot(ws.settings, send_alongside=True) as bot:
        assert bot.courier is not None
        summary = bot.poll(on_message=kill_the_courier)

    assert killed
    assert summary.handled == requests
    assert summary.delivery.stopped_by is None
    store = Store(connect(ws.settings.database_url()))
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
    assert multiprocessing.active_children() == []


def test_the_courier_keeps_the_time_of_the_pipeline_it_sends_for(
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    # Mail is due from the moment the pipeline queued it, by the pipeline's clock; a
    # courier on another clock would find a poll's own replies not yet due.
    ws = smtp_workspace(tmp_path, smtp_server, capacity=10)
    ws.deliver(*(officer_request(index) for index in range(5)))
    with build_mailbot(ws.settings, send_alongside=True) as bot:
        bot.clock = lambda: datetime(2098, 1, 5, 9, 0, tzinfo=UTC)
        summary = bot.poll()
    assert summary.delivery.sent == 5
    assert outbox_states(Store(connect(ws.settings.database_url()))) == {"sent": 5}
    assert len(smtp_server.messages) == 5


@pytest.mark.parametrize("outage", ["421", "stopped"])
def test_an_unavailable_server_pauses_the_courier_and_every_reply_stays_queued(
    tmp_path: Path, smtp_server: LoopbackSmtpServer, outage: str
) -> None:
    store = open_store(tmp_path)
    queued = queue_replies(store, 30)
    if outage == "421":
        smtp_server.handler.fail_with(421)
    else:
        smtp_server.stop()  # before the fork, so the child inherits no listening socket

    courier = ChildParts(tmp_path, smtp_server).courier()
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
    store = open_store(tmp_path)
    queue_replies(store, 200)
    courier = ChildParts(tmp_path, holding_server).courier()
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
    store = Store(connect(ws.settings.database_url()))
    queue_replies(store, 200)  # a backlog, as an outage leaves
    ws.deliver(officer_request(1))
    poll = subprocess.Popen(
        [sys.executable, "-m", "mailbot", "poll", "--config", str(ws.config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holding(holding_server).holding.wait(PATIENCE)
        assert wait_until(lambda: ws.folder_count("Processed") == 1)  # the inbox is done
        poll.send_signal(signal.SIGINT)
        holding(holding_server).release.set()
        _out, err = poll.communicate(timeout=120)
    finally:
        poll.kill()
    states = outbox_states(store)
    assert "sending" not in states
    assert states.get("queued", 0) >= 100, f"Ctrl-C was ignored until the queue was sent: {states}"
    assert "delivery process failed" not in err
