"""The organiser's commands carried out inside the pipeline's transaction: for each command
in turn, the state it needs is read, the rules (rules/organiser.py) plan it, and the plan is
applied; if any line cannot be carried out, none is, and every line is answered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from mailbot.domain import Attachment, Decision, EventInfo, Notice, Outcome, Policy
from mailbot.inbound.commands import Command, Parsed, Verb
from mailbot.rules.attendance import plan_attendance
from mailbot.rules.lifecycle import last_word
from mailbot.rules.organiser import (
    CommandsResult,
    LineAnswer,
    Planned,
    answer_lines,
    plan_add,
    plan_approve,
    plan_capacity,
    plan_end,
    plan_move,
    which_event,
)
from mailbot.store.bookings import Transaction

_ATTENDANCE = (Verb.ATTENDED, Verb.ABSENT)


def carry_out(
    tx: Transaction,
    parsed: Parsed,
    events: tuple[EventInfo, ...],
    *,
    make_ref: Callable[[], str],
    attendee_list: Callable[[EventInfo], Attachment],
    actor: str,
    policy: Policy,
    now: datetime,
) -> CommandsResult:
    """Plan and apply each command in order; on any problem, undo them all. Lines after a
    problem are still planned, so one answer names every problem in the mail."""
    if not parsed.lines:
        return CommandsResult(False, ("no command found",), (), (), ())
    by_slug = {event.slug: event for event in events}
    answers: list[LineAnswer] = []
    notices: list[Notice] = []
    attachments: list[Attachment] = []
    decisions: list[Decision] = []
    with tx.all_or_nothing() as savepoint:
        for line in parsed.lines:
            if line.problem is not None:
                answers.append(LineAnswer(line.text, problem=line.problem))
                continue
            done: list[tuple[str, str]] = []
            problems: list[str] = []
            for command in line.commands:
                planned = _plan(
                    tx, command, by_slug, make_ref, attendee_list, policy=policy, now=now
                )
                if isinstance(planned, str):
                    problems.append(planned)
                    continue
                decision = _noted(planned.decision, command.note)
                tx.apply_decision(decision, actor=actor, now=now)
                done.append((command.line, planned.summary))
                notices += decision.notices
                attachments += planned.attachments
                decisions.append(decision)
            # Several references may fail alike ("recorded from the start"): say it once.
            problem = "; ".join(dict.fromkeys(problems)) if problems else None
            answers.append(LineAnswer(line.text, tuple(done), problem))
        refused = any(answer.problem is not None for answer in answers)
        if refused:
            savepoint.undo()
    summary = answer_lines(answers)
    if refused:
        return CommandsResult(False, summary, (), (), ())
    return CommandsResult(True, summary, last_word(notices), tuple(attachments), tuple(decisions))


def _noted(decision: Decision, note: str | None) -> Decision:
    """The decision with the organiser's note among its reasons, so the history shows it."""
    if note is None:
        return decision
    return replace(decision, reasons=(*decision.reasons, f"the organiser's note: {note}"))


def _plan(
    tx: Transaction,
    command: Command,
    by_slug: dict[str, EventInfo],
    make_ref: Callable[[], str],
    attendee_list: Callable[[EventInfo], Attachment],
    *,
    policy: Policy,
    now: datetime,
) -> Planned | str:
    if command.verb in (Verb.APPROVE, Verb.DECLINE, Verb.CANCEL, Verb.MOVE, *_ATTENDANCE):
        assert command.ref is not None  # the parser guarantees a reference for these
        booking = tx.booking_view(command.ref)
        if booking is None:
            return f"no booking {command.ref}"
        if command.verb in _ATTENDANCE:
            return plan_attendance(
                booking,
                by_slug[booking.event_slug],
                command.verb is Verb.ATTENDED,
                certificate_sent=tx.certificate_sent(booking.ref),
                now=now,
            )
        source = tx.snapshot(by_slug[booking.event_slug], booking.email)
        if command.verb is Verb.APPROVE:
            return plan_approve(booking, source)
        if command.verb is Verb.MOVE:
            target = which_event(command, by_slug)
            if isinstance(target, str):
                return target
            return plan_move(booking, source, tx.snapshot(target, booking.email), policy, now)
        return plan_end(booking, source, command.verb, policy, now)
    event = which_event(command, by_slug)
    if isinstance(event, str):
        return event
    if command.verb is Verb.ADD:
        assert command.email is not None
        return plan_add(command, tx.snapshot(event, command.email), tx.unused_ref(make_ref))
    if command.verb is Verb.CAPACITY:
        assert command.number is not None
        snapshot = tx.snapshot(event, "", waitlist_head=max(0, command.number))
        return plan_capacity(snapshot, command.number, policy, now)
    listing = attendee_list(event)
    return Planned(
        Decision(Outcome.INFO, ("attendee list sent",)),
        f"attendee list attached ({listing.filename})",
        (listing,),
    )
