"""Waitlist offers: a place held for someone until they accept or the offer lapses."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailbot.store.types import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.add_column(sa.Column("offer_expires_at", UtcDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.drop_column("offer_expires_at")
