"""When each scheduled job last ran, and which reminders went to whom."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailbot.store.types import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("last_started_at", UtcDateTime()),
        sa.Column("last_finished_at", UtcDateTime()),
        sa.Column("last_result", sa.Text()),
    )
    op.create_table(
        "reminder_sent",
        sa.Column("ref", sa.String(20), primary_key=True),
        sa.Column("offset_label", sa.String(10), primary_key=True),
        sa.Column("sent_at", UtcDateTime(), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reminder_sent")
    op.drop_table("job_run")
