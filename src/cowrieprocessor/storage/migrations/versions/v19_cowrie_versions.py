"""v19: reserved for issue #20 (cowrie versions); a no-op until that work fills it in.

Revision ID: v19
Revises: v18

Placeholder so that parallel work on the schema has a fixed place in the revision chain; renumbered or
dropped when the work lands.
"""

from __future__ import annotations

revision = "v19"
down_revision = "v18"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
