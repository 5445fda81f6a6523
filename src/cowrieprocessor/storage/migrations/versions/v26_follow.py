"""v26: reserved for issue #18 (live follow): follow state and status - no change yet.

Revision ID: v26
Revises: v25

Reserved so that work on several issues at once keeps one linear chain of revisions.
"""

from __future__ import annotations

revision = "v26"
down_revision = "v25"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
