"""v26: ``follow_status`` - the last status of each ``follow`` process, by name (issue #18).

Revision ID: v26
Revises: v25

``follow`` writes its lag, rates, dead letters and provider errors here every few seconds, so that
``follow --status`` (another process, maybe on another host) can show them. Downgrading drops only this table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cowrieprocessor.storage.types import JSONType, UTCDateTime

revision = "v26"
down_revision = "v25"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "follow_status",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("worker", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("last_batch_at", UTCDateTime(), nullable=True),
        sa.Column("body", JSONType, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_follow_status"),
    )


def downgrade() -> None:
    op.drop_table("follow_status")
