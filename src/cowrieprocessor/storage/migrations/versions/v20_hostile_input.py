"""v20: reserved for issue #15 (hostile input); a no-op until that work fills it in.

Revision ID: v20
Revises: v19

Placeholder so that parallel work on the schema has a fixed place in the revision chain; renumbered or
dropped when the work lands.
"""

from __future__ import annotations

revision = "v20"
down_revision = "v19"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
