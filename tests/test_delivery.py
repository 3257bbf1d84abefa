"""Draining the outbox into a real aiosmtpd server: refusals, deferrals and outages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from mailbot.domain import Outcome, OutgoingMail
from mailbot.mail.smtp import SmtpSink
from mailbot.pipeline.delivery import deliver_pending
from mailbot.store.database import connect
from mailbot.store.outbox import Outbox
from mailbot.store.store import Store
from tests.servers.smtp import LoopbackSmtpServer

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def queue(store: Store, count: int) -> list[str]:
    ids = [f"<mailbot.d{i}@example.ac.uk>" for i in range(count)]
    mails = [
        OutgoingMail(
            message_id,
            f"officer{index}@durham.police.uk",
            Outcome.CONFIRMED,
            None,
            f"Message-ID: {message_id}\r\nSubject: x\r\n\r\nx\r\n".encode(),
        )
        for index, message_id in enumerate(ids)
    ]
    with store.transaction() as tx:
        tx.queue(mails, sender_address="bookings@example.ac.uk", now=T0)
    return ids


def sink_for(server: LoopbackSmtpServer) -> SmtpSink:
    return SmtpSink(
        host=server.host, port=server.port, security="none", username=None, password=None
    )


def test_a_refused_recipient_fails_alone_and_a_deferred_one_is_retried_later(
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    store = Store(connect(f"sqlite:///{tmp_path / 'm.db'}"))
    queue(store, 5)
    smtp_server.handler.refuse("officer1@durham.police.uk")
    smtp_server.handler.fail_with(451, times=1)  # the first DATA: officer0
    outbox = Outbox(store)
    sink = sink_for(smtp_server)
    try:
        summary = deliver_pending(outbox, sink, lambda: T0)
        assert (summary.sent, summary.deferred, summary.failed) == (3, 1, 1)
        assert summary.stopped_by is None
        assert outbox.counts() == {"sent": 3, "queued": 1, "failed": 1}

        smtp_server.handler.reset()
        assert deliver_pending(outbox, sink, lambda: T0).sent == 0, "not due yet"
        later = deliver_pending(outbox, sink, lambda: T0 + timedelta(minutes=2))
        assert later.sent == 1
    finally:
        sink.close()
    received = [m.rcpt_tos for m in smtp_server.messages]
    assert sorted(r[0] for r in received) == [
        "officer0@durham.police.uk",
        "officer2@durham.police.uk",
        "officer3@durham.police.uk",
        "officer4@durham.police.uk",
    ]


def test_a_server_outage_pauses_delivery_without_using_up_retries(
    tmp_path: Path, smtp_server: LoopbackSmtpServer
) -> None:
    store = Store(connect(f"sqlite:///{tmp_path / 'm.db'}"))
    queue(store, 30)
    outbox = Outbox(store)
    sink = sink_for(smtp_server)
    try:
        smtp_server.stop()
        paused = deliver_pending(outbox, sink, lambda: T0)
        assert paused.sent == 0 and paused.stopped_by is not None
        assert outbox.counts() == {"queued": 30}

        smtp_server.start()
        resumed = deliver_pending(outbox, sink, lambda: T0 + timedelta(seconds=5))
        assert resumed.sent == 30
    finally:
        sink.close()
    assert len({m.content for m in smtp_server.messages}) == 30
