"""The organiser's commands as they arrive (by mail, or from the command line): carried out
under the pipeline's transaction, the attendees told by mail, the organiser answered."""

from __future__ import annotations

from datetime import datetime

from mailbot.domain import (
    Attachment,
    Disposition,
    EventInfo,
    InboundMail,
    Notice,
    Outcome,
    Request,
)
from mailbot.inbound.commands import parse_commands
from mailbot.outbound.export import attendees, to_csv
from mailbot.pipeline.context import Handling
from mailbot.pipeline.notices import write_notices
from mailbot.pipeline.organiser_commands import carry_out
from mailbot.rules.organiser import CommandsResult
from mailbot.store.bookings import LedgerEntry, Transaction
from mailbot.store.store import Store


def organiser_commands(store: Store, ctx: Handling, text: str, now: datetime) -> CommandsResult:
    """Commands from the command line: the same rules as by mail; the attendees are told by
    mail, the organiser by the returned summary."""
    with store.transaction() as tx:
        result = _carry_out(ctx, tx, text, now)
        first_event = ctx.events[0]
        mails = write_notices(
            tx,
            ctx.writer,
            result.notices,
            None,
            now,
            default_event=first_event,
            changed=_changed(result),
        )
        tx.queue(mails, sender_address=ctx.from_address, now=now)
    return result


def _changed(result: CommandsResult) -> set[str]:
    return {change.ref for decision in result.decisions for change in decision.changes}


def answer_organiser(
    ctx: Handling,
    tx: Transaction,
    mail: InboundMail,
    request: Request,
    *,
    text: str,
    now: datetime,
) -> LedgerEntry:
    """Commands by mail, carried out only when the organiser's address is authenticated."""
    trusted = request.authenticity.verified or not ctx.policy.require_authentication
    if not trusted:
        summary = request.authenticity.summary
        why = f"nothing done: this mail could not be authenticated ({summary})"
        result = CommandsResult(False, (why,), (), (), ())
    else:
        result = _carry_out(ctx, tx, text, now)
    reply = Notice(
        Outcome.INFO,
        None,
        template="commands",
        recipient=request.sender.email,
        summary=result.summary,
        attachments=result.attachments,
    )
    mails = write_notices(
        tx,
        ctx.writer,
        (reply, *result.notices),
        mail,
        now,
        default_event=ctx.events[0],
        changed=_changed(result),
    )
    entry = LedgerEntry(
        mail.source_key,
        mail.message_id,
        request.sender.email,
        Disposition.ANSWERED,
        ("organiser commands: " if result.carried_out else "organiser commands refused: ")
        + "; ".join(result.summary),
        outcome=Outcome.INFO.value,
    )
    tx.apply(entry, None, mails, sender_address=ctx.from_address, now=now)
    return entry


def _carry_out(ctx: Handling, tx: Transaction, text: str, now: datetime) -> CommandsResult:
    return carry_out(
        tx,
        parse_commands(text),
        ctx.events,
        make_ref=ctx.make_ref,
        attendee_list=lambda event: _attendee_list(tx, event),
        actor=ctx.policy.organiser_email,
        policy=ctx.policy,
        now=now,
    )


def _attendee_list(tx: Transaction, event: EventInfo) -> Attachment:
    data = to_csv(attendees(tx.bookings_for(event.slug), include_waitlist=True), event.title)
    # UTF-8 with a byte-order mark: the mark is for Excel, the charset for the mail client.
    return Attachment(f"{event.slug}-attendees.csv", "text/csv", data, charset="utf-8")
