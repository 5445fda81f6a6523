"""v22: the digest watermark - one row per digest run of a name (``report --since-last NAME``).

Revision ID: v22
Revises: v21

A digest reports what first appeared in ``[since, until)`` (event time); the next run of the same name starts
where the last one ended, so no item is reported twice. Each run keeps the digest it produced, so a rerun of a
past run gives the same answer. Downgrading drops only this table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cowrieprocessor.storage.types import JSONType, UTCDateTime

revision = "v22"
down_revision = "v21"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_digests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("body", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_digests"),
        sa.UniqueConstraint("name", "run", name="uq_report_digests_name"),
    )


def downgrade() -> None:
    op.drop_table("report_digests")
