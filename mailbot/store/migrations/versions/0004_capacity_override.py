"""A capacity set by the organiser (CAPACITY command), kept over the configuration's."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("capacity_override", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("capacity_override")
