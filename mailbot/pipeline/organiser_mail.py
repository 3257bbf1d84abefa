"""The organiser's commands as they arrive (by mail, or from the command line): carried out
under the pipeline's transaction, the attendees told by mail, the organiser answered."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import select

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
from mailbot.rules.organiser import CommandsResult, carry_out
from mailbot.store.bookings import LedgerEntry, Transaction
from mailbot.store.tables import BookingRow

if TYPE_CHECKING:  # the pipeline calls in here; importing it at run time would be circular
    from mailbot.pipeline.poll import Mailbot


def organiser_commands(bot: Mailbot, text: str, now: datetime | None = None) -> CommandsResult:
    """Commands from the command line: the same rules as by mail; the attendees are told by
    mail, the organiser by the returned summary."""
    moment = now or bot.clock()
    with bot.store.transaction() as tx:
        result = _carry_out(bot, tx, text, moment)
        first_event = bot.settings.events[0]
        mails = bot.render(result.notices, None, moment, default_event=first_event)
        tx.queue(mails, sender_address=bot.from_address, now=moment)
    return result


def answer_organiser(
    bot: Mailbot,
    tx: Transaction,
    mail: InboundMail,
    request: Request,
    *,
    text: str,
    now: datetime,
) -> LedgerEntry:
    """Commands by mail, carried out only when the organiser's address is authenticated."""
    trusted = request.authenticity.verified or not bot.settings.policy.require_authentication
    if not trusted:
        summary = request.authenticity.summary
        why = f"nothing done: this mail could not be authenticated ({summary})"
        result = CommandsResult(False, (why,), (), (), ())
    else:
        result = _carry_out(bot, tx, text, now)
    reply = Notice(
        Outcome.INFO,
        None,
        template="commands",
        recipient=request.sender.email,
        summary=result.summary,
        attachments=result.attachments,
    )
    mails = bot.render((reply, *result.notices), mail, now, default_event=bot.settings.events[0])
    entry = LedgerEntry(
        mail.source_key,
        mail.message_id,
        request.sender.email,
        Disposition.ANSWERED,
        ("organiser commands: " if result.carried_out else "organiser commands refused: ")
        + "; ".join(result.summary),
        outcome=Outcome.INFO.value,
    )
    tx.apply(entry, None, mails, sender_address=bot.from_address, now=now)
    return entry


def _carry_out(bot: Mailbot, tx: Transaction, text: str, now: datetime) -> CommandsResult:
    return carry_out(
        tx,
        parse_commands(text),
        bot.settings.events,
        make_ref=bot.make_ref,
        attendee_list=lambda event: _attendee_list(tx, event),
        actor=bot.settings.policy.organiser_email,
        policy=bot.settings.policy,
        now=now,
    )


def _attendee_list(tx: Transaction, event: EventInfo) -> Attachment:
    rows = tx.session.exec(select(BookingRow).where(BookingRow.event_slug == event.slug)).all()
    data = to_csv(attendees(rows, include_waitlist=True), event.title)
    # UTF-8 with a byte-order mark: the mark is for Excel, the charset for the mail client.
    return Attachment(f"{event.slug}-attendees.csv", "text/csv", data, charset="utf-8")
