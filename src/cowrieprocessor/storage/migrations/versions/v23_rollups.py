"""v23: reserved for issue #17 (report roll-ups): daily roll-ups per key and ASN - no change yet.

Revision ID: v23
Revises: v22

Reserved so that work on several issues at once keeps one linear chain of revisions.
"""

from __future__ import annotations

revision = "v23"
down_revision = "v22"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
