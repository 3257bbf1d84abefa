"""Which handled mail the database has erased the sender of (see people.erase_bookings): its
Message-IDs, so that mailbot's own filed copies of that mail can go too."""

from __future__ import annotations

from sqlmodel import Session, col, select

from mailbot.store.people import ERASED
from mailbot.store.store import Store
from mailbot.store.tables import InboundRow


def erased_message_ids(store: Store) -> frozenset[str]:
    """The Message-IDs of every ledger entry whose sender was erased, by retention or on
    request. Entries are never un-erased, so what a run could not finish, the next finds."""
    statement = (
        select(InboundRow.message_id)
        .where(InboundRow.reason == ERASED, col(InboundRow.message_id).is_not(None))
        .distinct()
    )
    with store.reading() as connection, Session(bind=connection) as session:
        return frozenset(mid for mid in session.exec(statement).all() if mid is not None)
