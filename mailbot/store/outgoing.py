"""Mail written inside a unit of work: queued in the outbox to go once it commits, and
taken back, unsent, when newer news about the same booking replaces it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select

from mailbot.domain import OutgoingMail
from mailbot.records import WithdrawnMail
from mailbot.store import queries as q
from mailbot.store.tables import QUEUED, WITHDRAWN, InboundRow, OutboxRow
from mailbot.store.unit_of_work import UnitOfWork


class Outgoing(UnitOfWork):
    """The outbox as one transaction sees it."""

    def queue(
        self,
        mails: Sequence[OutgoingMail],
        *,
        sender_address: str,
        now: datetime,
    ) -> None:
        """Put rendered mail in the outbox, to be sent after this transaction commits."""
        self._queue(mails, sender_address, now, inbound_key=None)

    def _queue(
        self,
        mails: Sequence[OutgoingMail],
        sender_address: str,
        now: datetime,
        *,
        inbound_key: str | None,
    ) -> None:
        """`inbound_key`: the source key of the message the mail answers, if it answers one
        (a mail that took a withdrawn reply's place names its own, `answers`)."""
        if not mails:
            return
        self._run(
            q.INSERT_OUTBOX,
            [
                {
                    "message_id": mail.message_id,
                    "inbound_key": mail.answers or inbound_key,
                    "booking_ref": mail.booking_ref,
                    "outcome": mail.outcome.value,
                    "sender": sender_address,
                    "recipient": mail.recipient,
                    "data": mail.data,
                    "status": "queued",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for mail in mails
            ],
        )

    def withdraw_unsent(self, ref: str, *, replies_too: bool) -> list[WithdrawnMail]:
        """Take back the mail about booking `ref` that has not started to leave (queued, never
        tried, so no server can have it), oldest first; `replies_too` False leaves replies to
        inbound mail alone. Another process's claim on one, committed or not, wins: a row it
        holds is no longer queued when this statement gets to it."""
        rows = self._session.exec(
            select(OutboxRow.id, OutboxRow.data, InboundRow.source_key)
            .outerjoin(InboundRow, col(InboundRow.id) == col(OutboxRow.inbound_id))
            .where(
                OutboxRow.booking_ref == ref,
                OutboxRow.status == QUEUED,
                OutboxRow.attempts == 0,
            )
            .order_by(col(OutboxRow.id))
        ).all()
        taken = [
            (outbox_id, data, answers)
            for outbox_id, data, answers in rows
            if replies_too or answers is None
        ]
        for outbox_id, _, _ in taken:
            outbox_row = self._session.get(OutboxRow, outbox_id)
            assert outbox_row is not None
            outbox_row.status = WITHDRAWN
            self._session.add(outbox_row)
        self.flush()
        return [WithdrawnMail(answers, data) for _, data, answers in taken]

    def replies_since(self, recipient: str, since: datetime) -> int:
        """How many mails were queued for this address since then (the reply limit)."""
        ((count,),) = self._rows(q.REPLIES_SINCE, {"recipient": recipient, "since": since})
        return int(count)

    def our_outcomes(self, message_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """For those of our own Message-IDs that we sent: (outcome, booking ref)."""
        if not message_ids:
            return {}
        rows = self._session.exec(
            select(OutboxRow.message_id, OutboxRow.outcome, OutboxRow.booking_ref).where(
                col(OutboxRow.message_id).in_(list(message_ids))
            )
        ).all()
        return {message_id: (outcome, ref) for message_id, outcome, ref in rows}
