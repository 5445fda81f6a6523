"""v15: the session-level schema (per-session enrichment JSON) and the ingestion tables.

Revision ID: v15
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cowrieprocessor.storage.types import IPAddress, JSONType, UTCDateTime

revision = "v15"
down_revision = None
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.text("CURRENT_TIMESTAMP")


def _id() -> sa.Column[int]:
    return sa.Column("id", BIG_ID, primary_key=True, autoincrement=True)


def _session_fk(table: str) -> sa.Column[str]:
    return sa.Column(
        "session_id",
        sa.String(64),
        sa.ForeignKey(
            "session_summaries.session_id",
            name=f"fk_{table}_session_id_session_summaries",
            ondelete="CASCADE",
        ),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "session_summaries",
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("sensor", sa.String(255)),
        sa.Column("protocol", sa.String(16)),
        sa.Column("source_ip", IPAddress()),
        sa.Column("source_port", sa.Integer()),
        sa.Column("destination_ip", IPAddress()),
        sa.Column("destination_port", sa.Integer()),
        sa.Column("first_event_at", UTCDateTime()),
        sa.Column("last_event_at", UTCDateTime()),
        sa.Column("duration_ms", sa.BigInteger()),
        sa.Column("event_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("client_version", sa.Text()),
        sa.Column("hassh", sa.String(64)),
        sa.Column("login_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("login_failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("login_success", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("login_username", sa.Text()),
        sa.Column("password_hash", sa.String(64)),
        sa.Column("command_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("command_signature", sa.String(64)),
        sa.Column("file_downloads", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("file_uploads", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("ssh_key_fingerprint", sa.String(128)),
        sa.Column("enrichment", JSONType),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_session_summaries"),
    )
    for column in (
        "source_ip",
        "first_event_at",
        "sensor",
        "ssh_key_fingerprint",
        "password_hash",
        "command_signature",
    ):
        op.create_index(f"ix_session_summaries_{column}", "session_summaries", [column])

    op.create_table(
        "ingest_files",
        _id(),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("identity", sa.String(128), nullable=False),
        sa.Column("compression", sa.String(8), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("offset_bytes", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("pending_tail", sa.LargeBinary()),
        sa.Column("events", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("dead_letters", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_ingested_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ingest_files"),
        sa.UniqueConstraint("identity", name="uq_ingest_files_identity"),
    )

    op.create_table(
        "raw_events",
        _id(),
        sa.Column("event_uid", sa.String(32), nullable=False),
        sa.Column("sensor", sa.String(255)),
        sa.Column("session_id", sa.String(64)),
        sa.Column("eventid", sa.String(64), nullable=False),
        sa.Column("event_time", UTCDateTime(), nullable=False),
        sa.Column("source_ip", IPAddress()),
        # ingest_files.id, deliberately without a foreign key: a per-row check on the bulk-load path
        sa.Column("source_file_id", BIG_ID),
        sa.Column("source_offset", sa.BigInteger()),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("raw_line", sa.LargeBinary(), nullable=False),
        sa.Column("ingested_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_raw_events"),
        sa.UniqueConstraint("event_uid", name="uq_raw_events_event_uid"),
    )
    for column in ("session_id", "event_time", "eventid"):
        op.create_index(f"ix_raw_events_{column}", "raw_events", [column])

    op.create_table(
        "auth_attempts",
        _id(),
        sa.Column("event_uid", sa.String(32), nullable=False),
        _session_fk("auth_attempts"),
        sa.Column("event_time", UTCDateTime(), nullable=False),
        sa.Column("username", sa.Text()),
        sa.Column("password", sa.Text()),
        sa.Column("password_hash", sa.String(64)),
        sa.Column("key_fingerprint", sa.String(128)),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_auth_attempts"),
        sa.UniqueConstraint("event_uid", name="uq_auth_attempts_event_uid"),
    )
    op.create_index("ix_auth_attempts_session_id", "auth_attempts", ["session_id"])
    op.create_index("ix_auth_attempts_password_hash", "auth_attempts", ["password_hash"])

    op.create_table(
        "commands",
        _id(),
        sa.Column("event_uid", sa.String(32), nullable=False),
        _session_fk("commands"),
        sa.Column("event_time", UTCDateTime(), nullable=False),
        sa.Column("sequence", sa.Integer()),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("known", sa.Boolean()),
        sa.PrimaryKeyConstraint("id", name="pk_commands"),
        sa.UniqueConstraint("event_uid", name="uq_commands_event_uid"),
    )
    op.create_index("ix_commands_session_id", "commands", ["session_id"])

    op.create_table(
        "file_transfers",
        _id(),
        sa.Column("event_uid", sa.String(32), nullable=False),
        _session_fk("file_transfers"),
        sa.Column("event_time", UTCDateTime(), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("url", sa.Text()),
        sa.Column("shasum", sa.String(64)),
        sa.Column("destfile", sa.Text()),
        sa.Column("outfile", sa.Text()),
        sa.Column("filename", sa.Text()),
        sa.Column("duplicate", sa.Boolean()),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_file_transfers"),
        sa.UniqueConstraint("event_uid", name="uq_file_transfers_event_uid"),
    )
    op.create_index("ix_file_transfers_session_id", "file_transfers", ["session_id"])
    op.create_index("ix_file_transfers_shasum", "file_transfers", ["shasum"])

    op.create_table(
        "ssh_keys",
        _id(),
        sa.Column("event_uid", sa.String(32), nullable=False),
        _session_fk("ssh_keys"),
        sa.Column("event_time", UTCDateTime(), nullable=False),
        sa.Column("key_type", sa.String(64), nullable=False),
        sa.Column("key_data", sa.Text(), nullable=False),
        sa.Column("key_comment", sa.Text()),
        sa.Column("fingerprint_sha256", sa.String(128), nullable=False),
        sa.Column("fingerprint_md5", sa.String(64)),
        sa.Column("how_seen", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ssh_keys"),
        sa.UniqueConstraint("event_uid", name="uq_ssh_keys_event_uid"),
    )
    op.create_index("ix_ssh_keys_session_id", "ssh_keys", ["session_id"])
    op.create_index("ix_ssh_keys_fingerprint_sha256", "ssh_keys", ["fingerprint_sha256"])

    op.create_table(
        "dead_letters",
        _id(),
        sa.Column(
            "source_file_id",
            BIG_ID,
            sa.ForeignKey("ingest_files.id", name="fk_dead_letters_source_file_id_ingest_files"),
        ),
        sa.Column("source_path", sa.Text()),
        sa.Column("source_offset", sa.BigInteger()),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.Column("redriven_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
        sa.UniqueConstraint("source_file_id", "source_offset", name="uq_dead_letters_source"),
    )
    op.create_index("ix_dead_letters_status", "dead_letters", ["status"])


def downgrade() -> None:
    for table in (
        "dead_letters",
        "ssh_keys",
        "file_transfers",
        "commands",
        "auth_attempts",
        "raw_events",
        "ingest_files",
        "session_summaries",
    ):
        op.drop_table(table)
