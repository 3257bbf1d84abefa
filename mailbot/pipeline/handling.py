"""Decide and record one message that has been read: a booking request answered, the
organiser's mail carried out, anything else recorded unanswered. Runs inside the pipeline's
transaction; the pipeline moves the message only after the commit."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mailbot.domain import (
    Automated,
    Disposition,
    EventInfo,
    InboundMail,
    Intent,
    Notice,
    Outcome,
    RawMessage,
    Request,
    Unusable,
)
from mailbot.inbound.classify.body import readable_part
from mailbot.inbound.classify.bounce import Bounce
from mailbot.inbound.commands import looks_like_commands
from mailbot.inbound.parse import parse
from mailbot.inbound.route import references_in, route
from mailbot.outbound.render import long_date
from mailbot.pipeline.context import Handling
from mailbot.pipeline.notices import write_notices
from mailbot.pipeline.organiser_mail import answer_organiser
from mailbot.rules.booking import domain_is_eligible
from mailbot.rules.decide import decide
from mailbot.store.bookings import WAITLIST_HEAD, LedgerEntry, Transaction
from mailbot.text import one_line

log = logging.getLogger("mailbot.poll")


def answer(
    ctx: Handling,
    tx: Transaction,
    mail: InboundMail,
    classification: Request | Automated | Unusable,
    now: datetime,
) -> tuple[LedgerEntry, bool]:
    """Record what the message was and queue its answer, if it gets one; the ledger entry,
    and whether the message is to be set aside rather than filed as handled."""
    if isinstance(classification, Unusable):
        entry = set_aside_entry(mail, classification.reason)
        tx.apply(entry, None, (), sender_address=ctx.from_address, now=now)
        return entry, True
    if isinstance(classification, Automated):
        reason = classification.reason
        return _record_unanswered(ctx, tx, mail, Disposition.IGNORED, reason, now=now), False
    request = classification
    if request.sender.email == ctx.policy.organiser_email.lower():
        # The organiser's mail is never a booking request: commands, or thanks, or help.
        if request.intent is Intent.ACKNOWLEDGE:
            reason = "the organiser's acknowledgement"
            return _record_unanswered(ctx, tx, mail, Disposition.IGNORED, reason, now=now), False
        commands_text = readable_part(mail.text)
        if not looks_like_commands(commands_text):
            commands_text = ""  # answered with "no command found" and the list of commands
        return answer_organiser(ctx, tx, mail, request, text=commands_text, now=now), False
    if request.intent in (Intent.ACKNOWLEDGE, Intent.BOOK) and not request.colleagues:
        # Any plain yes (or a calendar acceptance) from someone asked to reconfirm.
        waiting_on = tx.awaiting_reconfirmation(request.sender.email)
        if waiting_on is not None:
            tx.record_reconfirmed(waiting_on, now)
            reason = f"{waiting_on} reconfirmed: nothing to answer"
            return _record_unanswered(ctx, tx, mail, Disposition.IGNORED, reason, now=now), False
    if request.intent is Intent.ACKNOWLEDGE and tx.has_open_offer(request.sender.email, now):
        request = replace(request, intent=Intent.BOOK)  # "Yes, thanks!" takes the place
    if request.intent is Intent.ACKNOWLEDGE:
        reason = "nothing to answer (thanks or a calendar acceptance)"
        return _record_unanswered(ctx, tx, mail, Disposition.IGNORED, reason, now=now), False
    outside = _outside_and_not_booking(ctx, request, mail.subject)
    if outside is not None:
        return _record_unanswered(ctx, tx, mail, Disposition.NOT_ANSWERED, outside, now=now), False
    limit = ctx.replies_per_day
    if tx.replies_since(request.sender.email, now - timedelta(days=1)) >= limit:
        # A responder that sets none of the automated-mail headers would otherwise loop.
        reason = f"reply limit reached ({limit} a day to {request.sender.email})"
        log.warning("%s: %s", mail.source_key, reason)
        return _record_unanswered(ctx, tx, mail, Disposition.IGNORED, reason, now=now), False
    thread = tuple(filter(None, (mail.in_reply_to, *mail.references)))
    asked = tx.our_outcomes(thread)
    if any(outcome == Outcome.DETAILS_NEEDED.value for outcome, _ in asked.values()):
        request = replace(request, details_already_asked=True)
    elif _asks_nothing_in_a_booking_thread(request, asked) and not tx.has_open_offer(
        request.sender.email, now
    ):
        reason = "nothing to answer (a reply about a booking that asks for nothing)"
        return _record_unanswered(ctx, tx, mail, Disposition.IGNORED, reason, now=now), False

    event = _route(ctx, tx, mail, asked)
    if event is None:
        return _ask_which_event(ctx, tx, mail, request, now), False
    colleagues = [c.email for c in request.colleagues]
    # Only a cancellation frees a place to pass down the waitlist.
    head = WAITLIST_HEAD if request.intent is Intent.CANCEL else 0
    snapshot = tx.snapshot(event, request.sender.email, colleagues, waitlist_head=head)
    refs = [tx.unused_ref(ctx.make_ref) for _ in range(1 + len(colleagues))]
    decision = decide(request, snapshot, ctx.policy, now, refs)
    mails = write_notices(
        tx,
        ctx.writer,
        decision.notices,
        mail,
        now,
        default_event=snapshot.event,
        changed={change.ref for change in decision.changes},
    )
    first = decision.notices[0].booking if decision.notices else None
    entry = LedgerEntry(
        mail.source_key,
        mail.message_id,
        request.sender.email,
        Disposition.ANSWERED,
        "; ".join(decision.reasons),
        outcome=decision.outcome.value,
        booking_ref=first.ref if first else None,
    )
    tx.apply(
        entry,
        decision,
        mails,
        sender_address=ctx.from_address,
        now=now,
        event_slug=event.slug,
        sender_name=request.sender.name,
    )
    return entry, False


def _asks_nothing_in_a_booking_thread(
    request: Request, thread: dict[str, tuple[str, str | None]]
) -> bool:
    """Whether this answers our mail about a booking and asks for nothing: thanks in words
    no phrase list foresaw ("Cheers, thanks for sorting"). Answering it would only repeat
    the booking back. (Someone holding an open offer is answered: any reply takes it up.)"""
    about_a_booking = any(ref is not None for _outcome, ref in thread.values())
    return (
        about_a_booking
        and request.intent is Intent.BOOK
        and not request.asks_for_place
        and not request.colleagues
        and request.needs is None
        and request.question is None
    )


def _outside_and_not_booking(ctx: Handling, request: Request, subject: str) -> str | None:
    """Why mail from outside the eligible domains goes unanswered, or None if it is answered.

    Outsiders get a refusal only when they recognisably ask about a place (or write back
    about one). Anything else from outside may be a machine that sets none of the automated
    headers (an SMS gateway's notice, a provider's report): a reply would be backscatter,
    so the organiser sees it in the digest instead.
    """
    policy = ctx.policy
    if domain_is_eligible(request.sender.email.rpartition("@")[2], policy.eligible_domains):
        return None
    if request.intent in (Intent.CANCEL, Intent.AMEND):
        return None
    if request.intent is Intent.BOOK and request.asks_for_place:
        return None
    shown = one_line(subject, 80) or "(no subject)"
    return f"from outside the eligible domains and not about a place: {shown}"


def _route(
    ctx: Handling, tx: Transaction, mail: InboundMail, thread: dict[str, tuple[str, str | None]]
) -> EventInfo | None:
    thread_refs = [ref for _outcome, ref in thread.values() if ref]
    thread_event = None
    for ref in thread_refs:
        booking = tx.booking_view(ref)
        if booking is not None:
            thread_event = booking.event_slug
            break
    ref_events = {}
    for ref in references_in(mail):
        booking = tx.booking_view(ref)
        if booking is not None:
            ref_events[ref] = booking.event_slug
    return route(
        mail,
        ctx.events,
        booking_address=ctx.from_address,
        thread_event=thread_event,
        ref_events=ref_events,
    )


def _ask_which_event(
    ctx: Handling, tx: Transaction, mail: InboundMail, request: Request, now: datetime
) -> LedgerEntry:
    """Several events and nothing says which: one question back, nothing booked."""
    local, _, domain = ctx.from_address.partition("@")
    choices = tuple(
        f"{event.title} ({long_date(event.starts_at)}): write to {local}+{event.slug}@{domain}"
        f" or put {event.slug} in the subject"
        for event in ctx.events
    )
    notice = Notice(
        Outcome.INFO,
        None,
        template="which-event",
        recipient=request.sender.email,
        summary=choices,
    )
    mails = ctx.writer.write((notice,), mail, now, default_event=ctx.events[0])
    entry = LedgerEntry(
        mail.source_key,
        mail.message_id,
        request.sender.email,
        Disposition.ANSWERED,
        "asked which event: the mail names none of them",
        outcome=Outcome.INFO.value,
    )
    tx.apply(entry, None, mails, sender_address=ctx.from_address, now=now)
    return entry


def _record_unanswered(
    ctx: Handling,
    tx: Transaction,
    mail: InboundMail,
    disposition: Disposition,
    reason: str,
    *,
    now: datetime,
) -> LedgerEntry:
    sender_email = mail.sender.email if mail.sender else None
    entry = LedgerEntry(mail.source_key, mail.message_id, sender_email, disposition, reason)
    tx.apply(entry, None, (), sender_address=ctx.from_address, now=now)
    return entry


# Enough of a header to recognise a message by in the mailbox; more is noise in the digest.
_SHOWN = 200
_LONGEST_ADDRESS = 320  # the ledger's column, as RFC 5321 allows


def set_aside_entry(mail: InboundMail, reason: str) -> LedgerEntry:
    """The ledger entry for mail set aside for a human, with what the digest shows to find
    it by in the mailbox: its subject and Date, and its From line as written when no
    trustworthy address could be read from it."""
    readable = mail.sender is not None and not mail.sender_problem
    from_line = None if readable else one_line(mail.header("from") or "", _SHOWN)
    return LedgerEntry(
        mail.source_key,
        mail.message_id,
        mail.sender.email if mail.sender else None,
        Disposition.SET_ASIDE,
        reason,
        subject=one_line(mail.subject, _SHOWN),
        sent_at=_utc(mail.date),
        from_line=from_line or None,
    )


def set_aside_after_failures(raw: RawMessage, reason: str) -> LedgerEntry:
    """The entry for a message whose handling crashed too often, read once more for what
    the digest shows. Its Message-ID is not recorded: another copy of it is handled afresh."""
    try:
        mail = parse(raw)
    except Exception:  # parse never raises by design, but this message already broke something
        return LedgerEntry(raw.source_key, None, None, Disposition.SET_ASIDE, reason)
    entry = set_aside_entry(mail, reason)
    sender = entry.sender_email
    if sender is not None and (mail.sender_problem or len(sender) > _LONGEST_ADDRESS):
        sender = None
    return replace(entry, message_id=None, sender_email=sender)


def _utc(value: datetime | None) -> datetime | None:
    """A Date header's time in UTC; one without a zone ("-0000") is UTC by RFC 5322."""
    if value is None:
        return None
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # the year 1 with an offset east of Greenwich
        return None


def note_bounce(tx: Transaction, bounce: Bounce, now: datetime) -> None:
    """A bounce of our own mail marks that booking's address undeliverable, nothing else."""
    if bounce.temporary:
        return
    reason = f"bounced: {', '.join(bounce.failed_addresses) or 'address refused'}"
    for outcome_and_ref in tx.our_outcomes(bounce.our_message_ids).values():
        ref = outcome_and_ref[1]
        if ref is not None and tx.mark_undeliverable(ref, reason, now):
            log.info("booking %s: address undeliverable", ref)
