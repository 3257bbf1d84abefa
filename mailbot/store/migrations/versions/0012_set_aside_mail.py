"""Mail set aside for a human: its subject, its Date and, when no address could be read from
it, its From line as written, so that the organiser's digest can say which message to look
for and where. Rows recorded before keep none of these."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailbot.store.types import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound") as batch:
        batch.add_column(sa.Column("subject", sa.Text()))
        batch.add_column(sa.Column("sent_at", UtcDateTime()))
        batch.add_column(sa.Column("from_line", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("inbound") as batch:
        batch.drop_column("from_line")
        batch.drop_column("sent_at")
        batch.drop_column("subject")
