"""Needs on bookings, undeliverable addresses, questions for the organiser, reply-limit index."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailbot.store.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.add_column(sa.Column("needs", sa.Text()))
        batch.add_column(sa.Column("undeliverable", sa.Text()))
        batch.add_column(sa.Column("undeliverable_at", UtcDateTime()))
    op.create_table(
        "question",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("asked_at", UtcDateTime(), nullable=False),
        sa.Column("event_slug", sa.String(100), sa.ForeignKey("event.slug"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), sa.ForeignKey("inbound.id")),
        sa.Column("digested_at", UtcDateTime()),
    )
    op.create_index("ix_outbox_recipient_created", "outbox", ["recipient", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_recipient_created", "outbox")
    op.drop_table("question")
    with op.batch_alter_table("booking") as batch:
        batch.drop_column("undeliverable_at")
        batch.drop_column("undeliverable")
        batch.drop_column("needs")
