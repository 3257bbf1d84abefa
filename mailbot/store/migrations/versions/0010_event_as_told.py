"""What attendees were last told about each event (date, times, venue) and when it was called
off: a change in config.toml is then sent once, in the transaction that records it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailbot.store.types import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("told_starts_at", UtcDateTime()))
        batch.add_column(sa.Column("told_ends_at", UtcDateTime()))
        batch.add_column(sa.Column("told_venue", sa.Text()))
        batch.add_column(sa.Column("called_off_at", UtcDateTime()))
    # Whatever the table holds now is what mail already sent said.
    op.execute(
        "UPDATE event SET told_starts_at = starts_at, told_ends_at = ends_at, told_venue = venue"
    )


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("called_off_at")
        batch.drop_column("told_venue")
        batch.drop_column("told_ends_at")
        batch.drop_column("told_starts_at")
