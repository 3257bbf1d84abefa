"""Drop the booking indexes that 0007's composite indexes cover: each booking written or
changed no longer updates two indexes that no query needs."""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ix_booking_event_queue starts with event_slug and ix_booking_email_event with email,
    # so a look-up by either column alone uses those.
    op.drop_index("ix_booking_event_slug", table_name="booking")
    op.drop_index("ix_booking_email", table_name="booking")


def downgrade() -> None:
    op.create_index("ix_booking_email", "booking", ["email"])
    op.create_index("ix_booking_event_slug", "booking", ["event_slug"])
