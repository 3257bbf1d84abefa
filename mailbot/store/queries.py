"""The SQL statements every booking request and every sent mail runs, written once in
SQLAlchemy Core and run as plain SQL (see store/statements.py): building and loading ORM
objects, and even SQLAlchemy's Core execution, cost several times the queries themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from mailbot.domain import BookingStatus
from mailbot.store.statements import Statement
from mailbot.store.tables import (
    QUEUED,
    SENDING,
    AuditRow,
    BookingRow,
    EventRow,
    InboundRow,
    OutboxRow,
)

_BOOKING: Table = BookingRow.__table__  # type: ignore[attr-defined]
_INBOUND: Table = InboundRow.__table__  # type: ignore[attr-defined]
_OUTBOX: Table = OutboxRow.__table__  # type: ignore[attr-defined]
_AUDIT: Table = AuditRow.__table__  # type: ignore[attr-defined]
_EVENT: Table = EventRow.__table__  # type: ignore[attr-defined]
_B = _BOOKING.c
_CONFIRMED = BookingStatus.CONFIRMED.value
_WAITLISTED = BookingStatus.WAITLISTED.value

# What a BookingView is made from (see bookings.booking_view), plus the waitlist order.
_VIEW_COLUMNS = (
    _B.id,
    _B.ref,
    _B.event_slug,
    _B.email,
    _B.status,
    _B.name,
    _B.rank,
    _B.force,
    _B.unit,
    _B.offer_expires_at,
    _B.created_at,
    _B.waitlist_order,
)

# Inline: PostgreSQL is not asked to return the new row's id, which nothing reads.
INSERT_INBOUND = Statement(insert(_INBOUND).inline())
# The mail's inbound message named by its source key (none: no key), not by an id an INSERT
# ... RETURNING read back: one statement fewer for every message handled.
INBOUND_ID = select(_INBOUND.c.id).where(_INBOUND.c.source_key == bindparam("inbound_key"))
INSERT_OUTBOX = Statement(insert(_OUTBOX).values(inbound_id=INBOUND_ID.scalar_subquery()).inline())
INSERT_BOOKING = Statement(insert(_BOOKING).inline())
INSERT_AUDIT = Statement(insert(_AUDIT).inline())

LEDGER_BY_KEY = Statement(
    select(_INBOUND.c.disposition).where(_INBOUND.c.source_key == bindparam("key")).limit(1)
)
LEDGER_BY_KEY_OR_ID = Statement(
    select(_INBOUND.c.disposition)
    .where(
        or_(
            _INBOUND.c.source_key == bindparam("key"),
            _INBOUND.c.message_id == bindparam("message_id"),
        )
    )
    .limit(1)
)
# Only our own claim is finished: a lease that expired meanwhile belongs to another. The
# columns to set are the parameters given with it.
FINISH_CLAIM = Statement(
    update(_OUTBOX).where(
        _OUTBOX.c.id == bindparam("claim_id"), _OUTBOX.c.claimed_by == bindparam("claimant")
    )
)
# Due mail, oldest first, marked as this process's in the same statement. On PostgreSQL rows
# another process is claiming are skipped rather than waited for; SQLite has locked it all.
_DUE = (
    select(_OUTBOX.c.id)
    .where(_OUTBOX.c.status == QUEUED, _OUTBOX.c.next_attempt_at <= bindparam("now"))
    .order_by(_OUTBOX.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
CLAIM_DUE = Statement(
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(_DUE))
    .values(
        status=SENDING,
        claimed_by=bindparam("claimant"),
        claimed_at=bindparam("now"),
        attempts=_OUTBOX.c.attempts + 1,
    )
    .returning(
        _OUTBOX.c.id,
        _OUTBOX.c.message_id,
        _OUTBOX.c.sender,
        _OUTBOX.c.recipient,
        _OUTBOX.c.data,
        _OUTBOX.c.attempts,
        _OUTBOX.c.created_at,
    )
)
CLAIMS_IN_FLIGHT = Statement(
    select(_OUTBOX.c.id, _OUTBOX.c.claimed_by, _OUTBOX.c.claimed_at).where(
        _OUTBOX.c.status == SENDING
    )
)
# Back to the queue, due at once, unless its claimant finished it meanwhile.
REQUEUE_CLAIM = Statement(
    update(_OUTBOX)
    .where(
        _OUTBOX.c.id == bindparam("claim_id"),
        _OUTBOX.c.status == SENDING,
        _OUTBOX.c.claimed_by.is_not_distinct_from(bindparam("claimant")),
    )
    .values(status=QUEUED, claimed_by=None, claimed_at=None, next_attempt_at=bindparam("now"))
)
REF_TAKEN = Statement(select(_B.id).where(_B.ref == bindparam("ref")).limit(1))
# Asked to reconfirm and not yet answered: every plain mail from someone booked looks here
# (a prepared statement: the ORM query cost a millisecond a mail in a burst).
AWAITING_RECONFIRMATION = Statement(
    select(_BOOKING.c.ref)
    .where(
        _BOOKING.c.email == bindparam("email"),
        _BOOKING.c.status == BookingStatus.CONFIRMED.value,
        _BOOKING.c.reconfirm_asked_at.is_not(None),
        _BOOKING.c.reconfirmed_at.is_(None),
    )
    .limit(1)
)

REPLIES_SINCE = Statement(
    select(func.count()).where(
        _OUTBOX.c.recipient == bindparam("recipient"), _OUTBOX.c.created_at >= bindparam("since")
    )
)


def _count_of_event(*conditions: ColumnElement[bool]) -> ScalarSelect[int]:
    return (
        select(func.count())
        .where(_B.event_slug == bindparam("slug"), *conditions)
        .correlate(None)  # the whole event's, not the sender's booking beside it
        .scalar_subquery()
    )


# The event's places and three counts, each of one range of ix_booking_event_queue: a third
# of the cost of one pass that sorts every booking of the event into the three. Beside them,
# the sender's bookings for the event, newest first: one row with no booking when they hold
# none. Read together, as one statement instead of two, for every booking request.
_SENDERS = _BOOKING.alias("senders")
EVENT_STATE_AND_SENDERS = Statement(
    select(
        _EVENT.c.capacity,
        _EVENT.c.capacity_override,
        _count_of_event(_B.status == _CONFIRMED).label("confirmed"),
        _count_of_event(_B.status == _WAITLISTED).label("waiting"),
        _count_of_event(_B.status == _WAITLISTED, _B.offer_expires_at.is_not(None)).label("offers"),
        *(_SENDERS.c[column.key] for column in _VIEW_COLUMNS),
    )
    .select_from(
        _EVENT.outerjoin(
            _SENDERS,
            and_(
                _SENDERS.c.event_slug == _EVENT.c.slug,
                _SENDERS.c.email == bindparam("email"),
            ),
        )
    )
    .where(_EVENT.c.slug == bindparam("slug"))
    .order_by(_SENDERS.c.created_at.desc(), _SENDERS.c.id.desc())
)
# PostgreSQL: taken before EVENT_STATE_AND_SENDERS, whose counts must be read once the lock
# is held (a statement that waits for a row lock still counts from the snapshot it started
# with).
LOCK_EVENT = Statement(
    select(_EVENT.c.slug).where(_EVENT.c.slug == bindparam("slug")).with_for_update()
)
WAITLIST_HEAD = Statement(
    select(*_VIEW_COLUMNS)
    .where(_B.event_slug == bindparam("slug"), _B.status == _WAITLISTED)
    .where(_B.offer_expires_at.is_(None))
    .order_by(_B.waitlist_order, _B.id)
    .limit(bindparam("head"))
)
AHEAD_IN_WAITLIST = Statement(
    select(func.count()).where(
        _B.event_slug == bindparam("slug"),
        _B.status == _WAITLISTED,
        or_(
            _B.waitlist_order < bindparam("order"),
            and_(_B.waitlist_order == bindparam("order"), _B.id < bindparam("id")),
        ),
    )
)
# The number the next person to join the event's waitlist gets (under the event's lock).
NEXT_WAITLIST_ORDER = Statement(
    select(func.coalesce(func.max(_B.waitlist_order), 0) + 1).where(
        _B.event_slug == bindparam("slug"), _B.status == _WAITLISTED
    )
)


def bookings_of(slug: str, emails: Sequence[str]) -> Select[Any]:
    """The bookings of several addresses for one event, newest first."""
    return (
        select(*_VIEW_COLUMNS)
        .where(_B.event_slug == slug, _B.email.in_(list(emails)))
        .order_by(_B.created_at.desc(), _B.id.desc())
    )
