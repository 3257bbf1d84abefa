"""Indexes for the look-ups every request makes, so their cost does not grow with the
bookings held: an event's counts and waitlist head, and one sender's bookings."""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Covers the counts by status (read from the index alone) and yields the waitlist in
    # arrival order, so the head is the first entries instead of a sort of all of them.
    op.create_index(
        "ix_booking_event_queue",
        "booking",
        ["event_slug", "status", "offer_expires_at", "created_at", "id"],
    )
    op.create_index("ix_booking_email_event", "booking", ["email", "event_slug"])


def downgrade() -> None:
    op.drop_index("ix_booking_email_event", table_name="booking")
    op.drop_index("ix_booking_event_queue", table_name="booking")
