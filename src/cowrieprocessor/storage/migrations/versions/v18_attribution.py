"""v18: reserved for issue #22 (attribution); a no-op until that work fills it in.

Revision ID: v18
Revises: v17

Placeholder so that parallel work on the schema has a fixed place in the revision chain; renumbered or
dropped when the work lands.
"""

from __future__ import annotations

revision = "v18"
down_revision = "v17"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
