"""Reading and writing bookings and the ledger inside one locked transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, func, insert
from sqlmodel import col, select

from mailbot.domain import (
    BookingStatus,
    BookingView,
    Decision,
    EventInfo,
    LedgerEntry,
    OutgoingMail,
    Snapshot,
    StatusChange,
    Trigger,
)
from mailbot.errors import LifecycleError
from mailbot.records import BookingRecord
from mailbot.rules import lifecycle
from mailbot.store import queries as q
from mailbot.store.events_told import EventsTold
from mailbot.store.outgoing import Outgoing
from mailbot.store.reconfirmations import Reconfirmations
from mailbot.store.rows import booking_record, booking_view
from mailbot.store.tables import (
    BookingRow,
    EventRow,
    QuestionRow,
    ReminderSentRow,
)

# LedgerEntry too: the pipeline writes its entries through this module.
__all__ = ["SYSTEM_ACTOR", "WAITLIST_HEAD", "LedgerEntry", "Transaction"]

_REMINDER_SENT: Table = ReminderSentRow.__table__  # type: ignore[attr-defined]
SYSTEM_ACTOR = "system"
WAITLIST_HEAD = 2  # enough to promote someone other than the canceller


def _check_lifecycle(row: BookingRow, change: StatusChange) -> None:
    """Refuse a change rules/lifecycle.py's table does not list, whichever path asked for it:
    a defect in the rules must not reach the database as a booking in an impossible state."""
    source = lifecycle.stage(BookingStatus(row.status), row.offer_expires_at)
    target = lifecycle.stage(change.new_status, change.offer_expires_at)
    if not lifecycle.permits(source, change.cause, target):
        raise LifecycleError(
            f"{row.ref}: {change.cause.value!r} cannot move a booking from {source} to {target}"
        )


class Transaction(Outgoing, EventsTold, Reconfirmations):
    """One unit of work. On SQLite the whole database is write-locked (BEGIN IMMEDIATE);
    on PostgreSQL `snapshot` takes the event row's lock before anything is counted."""

    def __init__(self, connection: Connection, *, serialise: bool = True) -> None:
        super().__init__(connection, serialise=serialise)
        # SQLite's BEGIN IMMEDIATE has locked the whole database already.
        self._locks_rows = serialise and connection.dialect.name != "sqlite"

    def already_handled(self, source_key: str, message_id: str | None) -> str | None:
        """The disposition the ledger records for this message (by source key or by
        Message-ID), or None when it was never handled."""
        if message_id:
            found = self._rows(q.LEDGER_BY_KEY_OR_ID, {"key": source_key, "message_id": message_id})
        else:
            found = self._rows(q.LEDGER_BY_KEY, {"key": source_key})
        return str(found[0].disposition) if found else None

    def _lock_event(self, slug: str) -> EventRow:
        statement = select(EventRow).where(EventRow.slug == slug)
        if self.serialise:
            statement = statement.with_for_update()
        row = self._session.exec(statement).one()
        return row

    def snapshot(
        self,
        event: EventInfo,
        email: str,
        colleagues: Sequence[str] = (),
        *,
        waitlist_head: int = WAITLIST_HEAD,
    ) -> Snapshot:
        """The state the rules need, read after the event's lock is held. `waitlist_head`:
        how many of those waiting for a place to read, in order (0 when none can be freed).

        Counts are done by the database, so the cost does not grow with the bookings held.
        """
        slug = {"slug": event.slug}
        if self._locks_rows:
            self._rows(q.LOCK_EVENT, slug)
        state, *more = self._rows(q.EVENT_STATE_AND_SENDERS, {**slug, "email": email})
        senders = [row for row in (state, *more) if row.id is not None]
        override = state.capacity_override
        places = int(state.capacity if override is None else override)
        head = self._rows(q.WAITLIST_HEAD, {**slug, "head": waitlist_head}) if waitlist_head else ()
        return Snapshot(
            event=replace(event, capacity=places),
            confirmed_count=int(state.confirmed),
            waitlist_length=int(state.waiting),
            waitlist_head=tuple(
                replace(booking_view(b), waitlist_position=position)
                for position, b in enumerate(head, start=1)
            ),
            senders_bookings=tuple(self._with_position(b) for b in senders),
            colleagues_bookings=self.bookings_of(event.slug, colleagues),
            offers_open=int(state.offers),
            force_counts=self._force_counts(event) if event.places_per_force else {},
        )

    def _force_counts(self, event: EventInfo) -> dict[str, int]:
        rows = self._session.exec(
            select(BookingRow.force, func.count())
            .where(
                BookingRow.event_slug == event.slug,
                BookingRow.status == BookingStatus.CONFIRMED.value,
                col(BookingRow.force).is_not(None),
            )
            .group_by(col(BookingRow.force))
        ).all()
        return {force: int(count) for force, count in rows if force}

    def _with_position(self, row: Any) -> BookingView:
        view = booking_view(row)
        if view.status is not BookingStatus.WAITLISTED:
            return view
        ((ahead,),) = self._rows(
            q.AHEAD_IN_WAITLIST,
            {"slug": row.event_slug, "order": row.waitlist_order, "id": row.id or 0},
        )
        return replace(view, waitlist_position=int(ahead) + 1)

    def unused_ref(self, make_ref: Callable[[], str]) -> str:
        for _ in range(50):
            ref = make_ref()
            if not self._rows(q.REF_TAKEN, {"ref": ref}):
                return ref
        raise RuntimeError("could not find an unused booking reference in 50 tries")

    def apply(
        self,
        entry: LedgerEntry,
        decision: Decision | None,
        mails: Sequence[OutgoingMail],
        *,
        sender_address: str,
        now: datetime,
        event_slug: str | None = None,
        sender_name: str | None = None,
    ) -> None:
        """Write the decision, the ledger row, the audit entries and the queued mail."""
        if decision is not None:
            self.apply_decision(decision, actor=entry.sender_email or SYSTEM_ACTOR, now=now)
        self._run(
            q.INSERT_INBOUND,
            {
                "source_key": entry.source_key,
                "message_id": entry.message_id,
                "sender_email": entry.sender_email,
                "disposition": entry.disposition.value,
                "outcome": entry.outcome,
                "booking_ref": entry.booking_ref,
                "reason": entry.reason,
                "handled_at": now,
                "subject": entry.subject,
                "sent_at": entry.sent_at,
                "from_line": entry.from_line,
            },
        )
        if decision is not None and decision.question and event_slug is not None:
            (inbound_id,) = self._core(q.INBOUND_ID.params(inbound_key=entry.source_key)).one()
            self._session.add(
                QuestionRow(
                    asked_at=now,
                    event_slug=event_slug,
                    email=entry.sender_email or "",
                    name=sender_name,
                    text=decision.question,
                    inbound_id=inbound_id,
                )
            )
        self._queue(mails, sender_address, now, inbound_key=entry.source_key)

    def apply_decision(self, decision: Decision, *, actor: str, now: datetime) -> None:
        """The decision's changes to bookings and events, each with an audit entry."""
        for new in decision.new_bookings:
            waiting = new.status is BookingStatus.WAITLISTED
            self._run(
                q.INSERT_BOOKING,
                {
                    "waitlist_order": self._next_in_waitlist(new.event_slug) if waiting else None,
                    "ref": new.ref,
                    "event_slug": new.event_slug,
                    "email": new.email,
                    "name": new.name,
                    "rank": new.rank,
                    "force": new.force,
                    "unit": new.unit,
                    "status": new.status.value,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            self._audit(now, new.ref, actor, f"created {new.status.value}", decision.reasons)
        for ref, needs in decision.needs:
            row = self._booking(ref)
            row.needs = needs
            row.updated_at = now
            self._session.add(row)
            self._audit(now, ref, actor, "needs noted", ())
        for ref, slug in decision.moves:
            row = self._booking(ref)
            self._audit(now, ref, actor, f"moved {row.event_slug} -> {slug}", decision.reasons)
            row.event_slug = slug
            row.updated_at = now
            self._session.add(row)
        for change in decision.changes:
            row = self._booking(change.ref)
            previous = row.status
            _check_lifecycle(row, change)
            if change.new_status is not BookingStatus.WAITLISTED:
                row.waitlist_order = None
            elif previous != BookingStatus.WAITLISTED.value:  # joins now, at the back
                self._session.flush()
                row.waitlist_order = self._next_in_waitlist(row.event_slug)
            row.status = change.new_status.value
            row.offer_expires_at = change.offer_expires_at
            if change.cause is Trigger.RELEASED:
                row.released_at = now
            row.updated_at = now
            self._session.add(row)
            action = f"{previous} -> {change.new_status.value}"
            if change.offer_expires_at is not None:
                action = f"offered a place until {change.offer_expires_at.isoformat()}"
            self._audit(now, change.ref, actor, action, decision.reasons)
        for ref, came in decision.attendance:
            row = self._booking(ref)
            row.attended = came
            row.updated_at = now
            self._session.add(row)
            self._audit(now, ref, actor, "attended" if came else "absent", decision.reasons)
        for ref in decision.certified:
            row = self._booking(ref)
            row.certificate_sent_at = now
            self._session.add(row)
            self._audit(now, ref, actor, "certificate sent", ())
        for slug, places in decision.capacities:
            event = self._lock_event(slug)
            self._audit(now, None, actor, f"capacity of {slug} set to {places}", decision.reasons)
            event.capacity_override = places
            self._session.add(event)
        self.flush()

    def _next_in_waitlist(self, slug: str) -> int:
        """The order of the next person to join the event's waitlist (the lock is held)."""
        ((order,),) = self._rows(q.NEXT_WAITLIST_ORDER, {"slug": slug})
        return int(order)

    def lapsed_offers(self, now: datetime) -> list[BookingView]:
        rows = self._session.exec(
            select(BookingRow).where(
                BookingRow.status == BookingStatus.WAITLISTED.value,
                col(BookingRow.offer_expires_at) <= now,
            )
        ).all()
        return [booking_view(row) for row in rows]

    def has_open_offer(self, email: str, now: datetime) -> bool:
        found = self._session.exec(
            select(BookingRow.id).where(
                BookingRow.email == email,
                BookingRow.status == BookingStatus.WAITLISTED.value,
                col(BookingRow.offer_expires_at) > now,
            )
        ).first()
        return found is not None

    def booking_view(self, ref: str) -> BookingView | None:
        row = self._session.exec(select(BookingRow).where(BookingRow.ref == ref)).first()
        return None if row is None else self._with_position(row)

    def _booking(self, ref: str) -> BookingRow:
        return self._session.exec(select(BookingRow).where(BookingRow.ref == ref)).one()

    def bookings_of(
        self, event_slug: str, emails: Sequence[str]
    ) -> dict[str, tuple[BookingView, ...]]:
        """Each address's bookings for the event, newest first (for colleagues named)."""
        if not emails:
            return {}
        rows = self._core(q.bookings_of(event_slug, emails)).all()
        found: dict[str, list[BookingView]] = {}
        for row in rows:
            found.setdefault(row.email, []).append(self._with_position(row))
        return {email: tuple(views) for email, views in found.items()}

    def mark_undeliverable(self, ref: str, reason: str, now: datetime) -> bool:
        row = self._session.exec(select(BookingRow).where(BookingRow.ref == ref)).first()
        if row is None:
            return False
        row.undeliverable = reason
        row.undeliverable_at = now
        self._session.add(row)
        self._audit(now, ref, SYSTEM_ACTOR, "address undeliverable", (reason,))
        return True

    def bookings_for(
        self, event_slug: str, status: BookingStatus | None = None
    ) -> list[BookingRecord]:
        """The event's bookings (only those of `status`, if given), oldest first."""
        statement = select(BookingRow).where(BookingRow.event_slug == event_slug)
        if status is not None:
            statement = statement.where(BookingRow.status == status.value)
        rows = self._session.exec(statement.order_by(col(BookingRow.id))).all()
        return [booking_record(row) for row in rows]

    def reminders_sent(self) -> set[tuple[str, str]]:
        """(booking reference, reminder offset) of every reminder sent or skipped."""
        rows = self._session.exec(select(ReminderSentRow.ref, ReminderSentRow.offset_label))
        return {(ref, offset) for ref, offset in rows.all()}

    def record_reminder(
        self, ref: str, offset: str, now: datetime, *, skipped: Sequence[str] = ()
    ) -> None:
        """The reminder at `offset` sent, and those at `skipped` never to be (a later one
        covers them), so that none is sent twice or late."""
        reminders = [{"ref": ref, "offset_label": offset, "sent_at": now, "skipped": False}]
        reminders += [
            {"ref": ref, "offset_label": label, "sent_at": now, "skipped": True}
            for label in skipped
        ]
        self.flush()
        self._connection.execute(insert(_REMINDER_SENT), reminders)
