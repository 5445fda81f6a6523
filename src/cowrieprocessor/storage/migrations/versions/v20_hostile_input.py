"""v20: an event's identity is its content; a file's checkpoint carries a hash of the bytes before it (#15).

Revision ID: v20
Revises: v19

* ``raw_events.event_uid`` (and the detail rows keyed by it) is re-computed from each stored line's
  content (SHA-256 of the parsed object serialised canonically) instead of its bytes, so a copy of a log
  with CRLF line ends or other spacing is no longer counted again (``storage.rekey``). Downgrading puts
  the byte keys back.
* ``ingest_files.checkpoint_hash``: SHA-256 of the bytes just before the checkpoint. A file rewritten
  with the same first line and padded to the old checkpoint has another hash there, so it is read again
  from the start instead of being taken as grown. Rows from before v20 have none (the older newline check
  applies until their next checkpoint).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cowrieprocessor.storage.rekey import bytes_uid, content_uid, rekey

revision = "v20"
down_revision = "v19"
branch_labels = None
depends_on = None
#: Tables this revision rewrites or fills, vacuumed and analysed after it commits (``storage.maintenance``).
rewrites = {
    "upgrade": ("raw_events", "auth_attempts", "commands", "file_transfers", "ssh_keys", "ingest_files"),
    "downgrade": ("raw_events", "auth_attempts", "commands", "file_transfers", "ssh_keys", "ingest_files"),
}


def upgrade() -> None:
    with op.batch_alter_table("ingest_files") as batch:
        batch.add_column(sa.Column("checkpoint_hash", sa.String(64), nullable=True))
    rekey(op.get_bind(), content_uid)


def downgrade() -> None:
    rekey(op.get_bind(), bytes_uid)
    with op.batch_alter_table("ingest_files") as batch:
        batch.drop_column("checkpoint_hash")
