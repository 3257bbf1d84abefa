"""The waitlist in order of joining it: a booking's place in the queue is fixed when it joins
(a held request approved into a full event joins at the back), not by when it was made."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.add_column(sa.Column("waitlist_order", sa.Integer()))
    # Those already waiting keep the order they were shown: by creation, as before. Ids rise
    # with creation, so they serve as the order, and later joiners are numbered above them.
    op.execute("UPDATE booking SET waitlist_order = id WHERE status = 'waitlisted'")
    op.drop_index("ix_booking_event_queue", table_name="booking")
    op.create_index(
        "ix_booking_event_queue",
        "booking",
        ["event_slug", "status", "offer_expires_at", "waitlist_order", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_booking_event_queue", table_name="booking")
    op.create_index(
        "ix_booking_event_queue",
        "booking",
        ["event_slug", "status", "offer_expires_at", "created_at", "id"],
    )
    with op.batch_alter_table("booking") as batch:
        batch.drop_column("waitlist_order")
