"""The attendee's unit or team, for the organiser's sign-in sheet."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.add_column(sa.Column("unit", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.drop_column("unit")
