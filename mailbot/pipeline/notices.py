"""Notices written as mail inside a unit of work, each person's news kept to one mail: unsent
mail about a booking that changes again is withdrawn, and the newer mail takes its place in
its thread, so a burst of changes reaches someone as one mail saying where they ended up."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from mailbot.domain import Decision, EventInfo, InboundMail, Notice, OutgoingMail
from mailbot.outbound.replies import ReplyWriter, Thread, thread_of
from mailbot.store.bookings import Transaction
from mailbot.store.outgoing import Outgoing


def write_notices(
    tx: Outgoing,
    writer: ReplyWriter,
    notices: tuple[Notice, ...],
    mail: InboundMail | None,
    now: datetime,
    *,
    default_event: EventInfo,
    changed: Collection[str],
) -> list[OutgoingMail]:
    """`notices` as mail. For a booking in `changed` (its status moved in this unit of
    work), mail about it that has not started to leave is withdrawn first.

    A reply to someone's own mail withdraws only news sent unasked: the earlier reply
    answered an earlier mail of theirs, and every mail gets its answer. News sent unasked
    withdraws replies too, and goes in the withdrawn reply's thread, as the answer to it.
    """
    threads: dict[str, Thread] = {}
    for notice in notices:
        if notice.booking is None or notice.booking.ref not in changed:
            continue
        answering = notice.in_reply and mail is not None
        withdrawn = tx.withdraw_unsent(notice.booking.ref, replies_too=not answering)
        replies = [each for each in withdrawn if each.answers is not None]
        if replies and not answering:
            last = replies[-1]
            assert last.answers is not None
            threads[notice.booking.ref] = thread_of(last.data, last.answers)
    return writer.write(notices, mail, now, default_event=default_event, threads=threads)


def apply_and_tell(
    tx: Transaction, writer: ReplyWriter, decision: Decision, event: EventInfo, now: datetime
) -> int:
    """A decision mailbot made on its own (nobody's mail to answer): its changes written and
    its notices queued, in the unit of work `tx`. Returns how many mails were queued."""
    tx.apply_decision(decision, actor="system", now=now)
    changed = {change.ref for change in decision.changes}
    mails = write_notices(
        tx, writer, decision.notices, None, now, default_event=event, changed=changed
    )
    tx.queue(mails, sender_address=writer.sender.booking_address, now=now)
    return len(mails)
