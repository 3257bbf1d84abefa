"""Read from the database everything the organiser's digest shows, as digest values."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from mailbot.domain import BookingStatus, Disposition, EventInfo
from mailbot.records import (
    DeliveryFailure,
    DigestState,
    EventDigest,
    Quarantined,
    Undeliverable,
)
from mailbot.store.outbox import GIVE_UP_AFTER
from mailbot.store.rows import booking_view, question
from mailbot.store.store import Store
from mailbot.store.tables import (
    AuditRow,
    BookingRow,
    EventRow,
    InboundRow,
    JobRunRow,
    OutboxRow,
    QuestionRow,
)

WAITLIST_SHOWN = 20
_BEGINNING = datetime(2000, 1, 1).astimezone()


def last_run(store: Store, job: str) -> datetime | None:
    with store.reading() as connection, Session(bind=connection) as session:
        row = session.get(JobRunRow, job)
        return None if row is None else row.last_finished_at


def digest_state(
    store: Store, events: tuple[EventInfo, ...], since: datetime | None, now: datetime
) -> DigestState:
    """The state as of `now`, with news counted from `since` (None: everything is news)."""
    start = since or _BEGINNING
    with store.reading() as connection, Session(bind=connection) as session:
        digests = tuple(_event_digest(session, event, start) for event in events)
        questions = tuple(
            question(row)
            for row in session.exec(
                select(QuestionRow)
                .where(QuestionRow.asked_at >= start)
                .order_by(col(QuestionRow.asked_at))
            ).all()
        )
        undeliverable = tuple(
            Undeliverable(booking_view(b), b.undeliverable or "")
            for b in session.exec(
                select(BookingRow).where(col(BookingRow.undeliverable_at) >= start)
            ).all()
        )
        quarantined, from_outside = (
            tuple(
                Quarantined(
                    row.handled_at,
                    row.sender_email,
                    row.reason,
                    subject=row.subject,
                    sent_at=row.sent_at,
                    from_line=row.from_line,
                )
                for row in session.exec(
                    select(InboundRow)
                    .where(InboundRow.disposition == disposition, InboundRow.handled_at >= start)
                    .order_by(col(InboundRow.handled_at))
                ).all()
            )
            for disposition in (Disposition.SET_ASIDE.value, Disposition.NOT_ANSWERED.value)
        )
        # A mail fails at most GIVE_UP_AFTER after it was queued, so that far back suffices.
        failures = tuple(
            DeliveryFailure(
                row.created_at, row.recipient, row.outcome, row.last_error or "", row.booking_ref
            )
            for row in session.exec(
                select(OutboxRow).where(
                    OutboxRow.status == "failed",
                    OutboxRow.created_at >= start - GIVE_UP_AFTER - timedelta(hours=1),
                )
            ).all()
        )
    return DigestState(
        generated_at=now,
        since=since,
        events=digests,
        questions=questions,
        undeliverable=undeliverable,
        quarantined=quarantined,
        from_outside=from_outside,
        delivery_failures=failures,
    )


def _attendance_by_force(confirmed: list[BookingRow]) -> tuple[tuple[str, int, int], ...]:
    counts: dict[str, list[int]] = {}
    for row in confirmed:
        if row.attended is not None:
            came_absent = counts.setdefault(row.force or "", [0, 0])
            came_absent[0 if row.attended else 1] += 1
    return tuple((force, came, absent) for force, (came, absent) in sorted(counts.items()))


def _event_digest(session: Session, event: EventInfo, start: datetime) -> EventDigest:
    row = session.get(EventRow, event.slug)
    places = row.places if row is not None else event.capacity
    rows = session.exec(
        select(BookingRow)
        .where(BookingRow.event_slug == event.slug)
        .order_by(col(BookingRow.created_at), col(BookingRow.id))
    ).all()
    confirmed = [r for r in rows if r.status == BookingStatus.CONFIRMED.value]
    waiting = sorted(
        (r for r in rows if r.status == BookingStatus.WAITLISTED.value),
        key=lambda r: (r.waitlist_order or 0, r.id or 0),
    )
    promoted_refs = set(
        session.exec(
            select(AuditRow.booking_ref).where(
                AuditRow.at >= start, AuditRow.action == "waitlisted -> confirmed"
            )
        ).all()
    )
    forces = session.exec(
        select(BookingRow.force, func.count())
        .where(
            BookingRow.event_slug == event.slug,
            BookingRow.status == BookingStatus.CONFIRMED.value,
        )
        .group_by(col(BookingRow.force))
        .order_by(func.count().desc())
    ).all()
    return EventDigest(
        event=replace(event, capacity=places),
        confirmed=len(confirmed),
        waitlisted=len(waiting),
        held=tuple(booking_view(r) for r in rows if r.status == BookingStatus.HELD.value),
        new_bookings=tuple(booking_view(r) for r in rows if r.created_at >= start),
        cancellations=tuple(
            booking_view(r)
            for r in rows
            if r.status == BookingStatus.CANCELLED.value and r.updated_at >= start
        ),
        promotions=tuple(booking_view(r) for r in confirmed if r.ref in promoted_refs),
        waitlist=tuple(
            replace(booking_view(r), waitlist_position=position)
            for position, r in enumerate(waiting[:WAITLIST_SHOWN], start=1)
        ),
        per_force=tuple((force or "", int(count)) for force, count in forces),
        offers_open=sum(1 for r in waiting if r.offer_expires_at is not None),
        reconfirm_asked=sum(1 for r in rows if r.reconfirm_asked_at is not None),
        reconfirmed=sum(1 for r in rows if r.reconfirmed_at is not None),
        not_reconfirmed=tuple(
            booking_view(r)
            for r in confirmed
            if r.reconfirm_asked_at is not None and r.reconfirmed_at is None
        ),
        released=tuple(booking_view(r) for r in rows if r.released_at is not None),
        attendance=_attendance_by_force(confirmed),
        not_marked=sum(1 for r in confirmed if r.attended is None)
        if any(r.attended is not None for r in confirmed)
        else 0,
    )
