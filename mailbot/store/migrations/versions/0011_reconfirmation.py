"""Reconfirmation and attendance: when each attendee was asked to say they are still coming,
when they did, when a place was released, and when an event's requests went out (those
confirmed later are not asked); whether they came, and when their certificate was sent."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailbot.store.types import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.add_column(sa.Column("reconfirm_asked_at", UtcDateTime()))
        batch.add_column(sa.Column("reconfirmed_at", UtcDateTime()))
        batch.add_column(sa.Column("released_at", UtcDateTime()))
        batch.add_column(sa.Column("attended", sa.Boolean()))
        batch.add_column(sa.Column("certificate_sent_at", UtcDateTime()))
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("reconfirm_sent_at", UtcDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("reconfirm_sent_at")
    with op.batch_alter_table("booking") as batch:
        batch.drop_column("certificate_sent_at")
        batch.drop_column("attended")
        batch.drop_column("released_at")
        batch.drop_column("reconfirmed_at")
        batch.drop_column("reconfirm_asked_at")
