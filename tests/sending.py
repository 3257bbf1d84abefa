"""What the sending tests share: a workspace replying through a loopback SMTP server, replies
queued as the pipeline queues them, and what the server and the outbox say afterwards."""

from __future__ import annotations

import email
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from sqlmodel import Session as DbSession
from sqlmodel import select

from mailbot.domain import Outcome, OutgoingMail
from mailbot.mail.smtp import SmtpSink
from mailbot.pipeline.delivery import deliver_pending
from mailbot.store.database import connect
from mailbot.store.outbox import Outbox
from mailbot.store.store import Store
from mailbot.store.tables import SENDING, OutboxRow
from tests.harness import CONFIG, Workspace
from tests.realmail import made_up_name
from tests.servers.smtp import LoopbackSmtpServer

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
BOOKINGS = "bookings@example.ac.uk"


def smtp_workspace(root: Path, server: LoopbackSmtpServer, capacity: int = 10) -> Workspace:
    """The harness's workspace (Maildir inbox, SQLite), replying through the SMTP server."""
    ws = Workspace(root, capacity=capacity)
    config = CONFIG.format(capacity=capacity, database_url="sqlite:///mailbot.db")
    smtp = f'[smtp]\nhost = "{server.host}"\nport = {server.port}\nsecurity = "none"\n'
    with_smtp = config.replace('[smtp]\nmaildir = "outbox"\n', smtp)
    assert with_smtp != config
    ws.config.write_text(with_smtp)
    return ws


def open_store(ws: Workspace) -> Store:
    return Store(connect(ws.settings.database_url()))


def queue_replies(store: Store, count: int, start: int = 0, now: datetime = T0) -> set[str]:
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
        tx.queue(mails, sender_address=BOOKINGS, now=now)
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


def a_while_later() -> datetime:
    """When the next run comes: the delivery process's clock ran on from T0 while it sent,
    so what it gave back is due again from a moment after T0."""
    return T0 + timedelta(minutes=5)


def claimants(store: Store) -> set[str | None]:
    """Who holds the mails being sent right now."""
    with DbSession(store.engine) as session:
        rows = session.exec(select(OutboxRow.claimed_by).where(OutboxRow.status == SENDING))
        return set(rows.all())


def sink_for(server: LoopbackSmtpServer) -> SmtpSink:
    return SmtpSink(
        host=server.host, port=server.port, security="none", username=None, password=None
    )


def deliver_here(store: Store, server: LoopbackSmtpServer) -> int:
    """An ordinary in-process delivery, as the next `mailbot poll` would make."""
    sink = sink_for(server)
    try:
        summary = deliver_pending(Outbox(store), sink, a_while_later)
    finally:
        sink.close()
    assert summary.stopped_by is None
    return summary.sent
