"""The first schema: events, bookings, the inbound ledger, failures, the outbox, the audit log."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailbot.store.types import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("slug", sa.String(100), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("starts_at", UtcDateTime(), nullable=False),
        sa.Column("ends_at", UtcDateTime(), nullable=False),
        sa.Column("venue", sa.Text(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
    )
    op.create_table(
        "booking",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ref", sa.String(20), nullable=False, unique=True),
        sa.Column("event_slug", sa.String(100), sa.ForeignKey("event.slug"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("rank", sa.String(100)),
        sa.Column("force", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_booking_event_slug", "booking", ["event_slug"])
    op.create_index("ix_booking_email", "booking", ["email"])
    op.create_index("ix_booking_status", "booking", ["status"])
    op.create_table(
        "inbound",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_key", sa.String(500), nullable=False, unique=True),
        sa.Column("message_id", sa.String(998)),
        sa.Column("sender_email", sa.String(320)),
        sa.Column("disposition", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(30)),
        sa.Column("booking_ref", sa.String(20)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("handled_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_inbound_message_id", "inbound", ["message_id"])
    op.create_table(
        "inbound_failure",
        sa.Column("source_key", sa.String(500), primary_key=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.String(998), nullable=False, unique=True),
        sa.Column("inbound_id", sa.Integer(), sa.ForeignKey("inbound.id")),
        sa.Column("booking_ref", sa.String(20)),
        sa.Column("outcome", sa.String(30), nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(200)),
        sa.Column("claimed_at", UtcDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime()),
    )
    op.create_index("ix_outbox_inbound_id", "outbox", ["inbound_id"])
    op.create_index("ix_outbox_booking_ref", "outbox", ["booking_ref"])
    op.create_index("ix_outbox_status", "outbox", ["status"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("booking_ref", sa.String(20)),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_audit_booking_ref", "audit", ["booking_ref"])


def downgrade() -> None:
    for table in ("audit", "outbox", "inbound_failure", "inbound", "booking", "event"):
        op.drop_table(table)
