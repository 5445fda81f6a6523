"""v21: reserved for issue #16 (front door); a no-op until that work fills it in.

Revision ID: v21
Revises: v20

Placeholder so that parallel work on the schema has a fixed place in the revision chain; renumbered or
dropped when the work lands.
"""

from __future__ import annotations

revision = "v21"
down_revision = "v20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
