"""v17: daily budgets shared by every process on the database.

Revision ID: v17
Revises: v16

One row per (source, UTC day) counts the calls reserved against the source's ``daily_budget``. Processes
reserve blocks from it with one guarded UPDATE each, so the budget holds for the whole fleet instead of
once per process. Downgrading drops only the counter: the ledger (``provider_calls``) keeps the history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v17"
down_revision = "v16"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_budget_usage",
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("source", "day", name="pk_provider_budget_usage"),
        sa.CheckConstraint("used >= 0", name="ck_provider_budget_usage_used_not_negative"),
    )


def downgrade() -> None:
    op.drop_table("provider_budget_usage")
