"""v24: alerts (issue #18) - the alert outbox and the rules' watermarks.

Revision ID: v24
Revises: v23

``alert_outbox`` holds every alert for every destination before it is sent (one row per alert and
destination, unique by the alert's stable id), with its delivery state: claimed under a lease, sent,
retried with backoff, or given up with the error. ``alert_watermarks`` holds where each rule stopped, so a
rule evaluates only what is new; a watermark moves in the same transaction as the rows it found. Both tables
start empty: nothing is rewritten. Downgrading drops them (and the alerts' history with them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cowrieprocessor.storage.types import JSONType, UTCDateTime

revision = "v24"
down_revision = "v23"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_watermarks",
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.PrimaryKeyConstraint("rule", name="pk_alert_watermarks"),
    )
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(64), nullable=False),
        sa.Column("destination", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("details", JSONType, nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(16), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_outbox"),
        sa.UniqueConstraint("destination", "alert_id", name="uq_alert_outbox_destination"),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="ck_alert_outbox_status"),
    )
    op.create_index("ix_alert_outbox_status", "alert_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_alert_outbox_sent_at", "alert_outbox", ["destination", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_alert_outbox_sent_at", table_name="alert_outbox")
    op.drop_index("ix_alert_outbox_status", table_name="alert_outbox")
    op.drop_table("alert_outbox")
    op.drop_table("alert_watermarks")
