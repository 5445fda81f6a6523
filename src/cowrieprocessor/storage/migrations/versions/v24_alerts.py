"""v24: reserved for issue #18 (alerts): rules state, alert outbox - no change yet.

Revision ID: v24
Revises: v23

Reserved so that work on several issues at once keeps one linear chain of revisions.
"""

from __future__ import annotations

revision = "v24"
down_revision = "v23"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
