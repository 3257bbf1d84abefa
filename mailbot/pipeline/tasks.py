"""The scheduled tasks (digest, reminders): each run from the CLI or by the scheduler, each
recording when it last ran so that reruns after downtime neither repeat nor skip."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from mailbot.domain import BookingStatus, Notice, Outcome
from mailbot.outbound.digest import digest_subject, has_news, render_digest
from mailbot.outbound.render import render_digest_mail
from mailbot.pipeline.context import Scheduled
from mailbot.rules.reminders import Attendee, due_reminders
from mailbot.store.digest_query import digest_state, last_run

log = logging.getLogger("mailbot.tasks")


def record_run(task: Scheduled, job: str, started: datetime, result: str) -> None:
    task.store.record_run(job, started, task.clock(), result)


@dataclass(frozen=True)
class DigestResult:
    sent: bool
    subject: str
    text: str
    reason: str


def send_digest(
    task: Scheduled, organiser: str, *, always: bool = False, dry_run: bool = False
) -> DigestResult:
    """The organiser's digest of everything since the last one, when there is news."""
    started = task.clock()
    writer = task.writer
    zone = writer.events[0].starts_at.tzinfo
    state = digest_state(
        task.store, writer.events, last_run(task.store, "digest"), started.astimezone(zone)
    )
    subject = digest_subject(state)
    text, html = render_digest(writer.templates, state, writer.sender)
    if dry_run:
        return DigestResult(False, subject, text, "dry run: nothing sent")
    if not (always or has_news(state)):
        record_run(task, "digest", started, "nothing new: not sent")
        return DigestResult(False, subject, text, "nothing new since the last digest")
    sender = replace(writer.sender, organiser_email=organiser)
    message_id = writer.new_message_id()
    mail = render_digest_mail(sender, subject, text, html, message_id=message_id, now=started)
    with task.store.transaction() as tx:
        tx.queue([mail], sender_address=writer.sender.booking_address, now=started)
    task.deliver()
    record_run(task, "digest", started, f"sent: {subject}")
    return DigestResult(True, subject, text, "sent")


@dataclass(frozen=True)
class ReminderPlan:
    ref: str
    email: str
    offset: str
    skipped: tuple[str, ...]


def send_reminders(
    task: Scheduled, offsets: tuple[str, ...], *, dry_run: bool = False
) -> list[ReminderPlan]:
    """Every reminder that is due and not yet sent, each recorded so it is never repeated."""
    started = task.clock()
    writer = task.writer
    planned: list[ReminderPlan] = []
    with task.store.transaction() as tx:
        done = tx.reminders_sent()
        for event in writer.events:
            records = tx.bookings_for(event.slug, BookingStatus.CONFIRMED)
            by_ref = {record.view.ref: record.view for record in records}
            attendees = [
                Attendee(r.view.ref, r.view.email, r.view.status, r.created_at) for r in records
            ]
            for due in due_reminders(event, attendees, offsets, done, started):
                booking = by_ref[due.ref]
                planned.append(ReminderPlan(due.ref, booking.email, due.offset, due.skipped))
                if dry_run:
                    continue
                notice = Notice(Outcome.REMINDER, booking, in_reply=False, template="reminder")
                mails = writer.write((notice,), None, started, default_event=event)
                tx.queue(mails, sender_address=writer.sender.booking_address, now=started)
                tx.record_reminder(due.ref, due.offset, started, skipped=due.skipped)
    if not dry_run:
        if planned:
            task.deliver()
        record_run(task, "reminders", started, f"{len(planned)} sent")
    return planned
