"""v16: the three enrichment tiers of ADR-007 (ASN inventory, IP inventory, session snapshots).

Revision ID: v16
Revises: v15

Creates the tiers, the IP-to-ASN history, the provider-call ledger and the baseline table; then
``cowrieprocessor.storage.backfill`` fills them from the v15 data, inside this same transaction, before
the foreign key from sessions to the IP inventory is added (a failure anywhere leaves v15 untouched).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cowrieprocessor.storage import snapshot_guard
from cowrieprocessor.storage.generated import GENERATED_SQL, PG_CREATE_FUNCTION, PG_DROP_FUNCTION
from cowrieprocessor.storage.types import IPAddress, JSONType, StringList, UTCDateTime

revision = "v16"
down_revision = "v15"
branch_labels = None
depends_on = None

#: Tables this revision rewrites or fills, vacuumed and analysed after it commits (``storage.maintenance``):
#: every session row gets its snapshot; the downgrade writes every raw event's payload back.
rewrites = {
    "upgrade": ("session_summaries", "ip_inventory", "asn_inventory", "ip_asn_history"),
    "downgrade": ("raw_events",),
}

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.text("CURRENT_TIMESTAMP")

SNAPSHOT_COLUMNS = (
    "snapshot_asn",
    "snapshot_country",
    "snapshot_ip_types",
    "snapshot_source",
    "enrichment_at",
)

#: Behavioural keys (kind -> column): each gets a covering index by snapshot ASN for "related" campaigns.
BEHAVIOUR_KEYS = {
    "ssh_key": "ssh_key_fingerprint",
    "password": "password_hash",
    "command_sig": "command_signature",
}

#: An IP's active span per dialect, indexed for persistent-ips (the query uses the very same expression).
ACTIVE_SPAN_SQL = {
    "postgresql": "(last_seen - first_seen)",
    "sqlite": "(julianday(last_seen) - julianday(first_seen))",
}

# SQLite has no exclusion constraints: triggers keep an IP's ASN windows from overlapping.
SQLITE_HISTORY_TRIGGERS = {
    op_name: f"""
CREATE TRIGGER trg_ip_asn_history_no_overlap_{op_name} BEFORE {op_name.upper()} ON ip_asn_history
WHEN EXISTS (
    SELECT 1 FROM ip_asn_history h
    WHERE h.ip_address = NEW.ip_address
      AND h.id IS NOT NEW.id
      AND (h.valid_until IS NULL OR h.valid_until > NEW.valid_from)
      AND (NEW.valid_until IS NULL OR NEW.valid_until > h.valid_from)
)
BEGIN
    SELECT RAISE(ABORT, 'ip_asn_history windows of one IP must not overlap');
END
"""
    for op_name in ("insert", "update")
}


#: The queryable JSON of every raw event: the escaped copy where one was needed, else the line itself.
RAW_EVENTS_JSON_VIEW = {
    "postgresql": "CREATE VIEW raw_events_json AS SELECT id, event_uid, sensor, session_id, eventid, event_time,"
    " source_ip, source_file_id, source_offset, coalesce(payload, convert_from(raw_line, 'UTF8')::jsonb) AS payload"
    " FROM raw_events",
    "sqlite": "CREATE VIEW raw_events_json AS SELECT id, event_uid, sensor, session_id, eventid, event_time,"
    " source_ip, source_file_id, source_offset, coalesce(payload, CAST(raw_line AS TEXT)) AS payload FROM raw_events",
}
RAW_PAYLOAD_FROM_LINE = {
    "postgresql": "UPDATE raw_events SET payload = convert_from(raw_line, 'UTF8')::jsonb WHERE payload IS NULL",
    "sqlite": "UPDATE raw_events SET payload = CAST(raw_line AS TEXT) WHERE payload IS NULL",
}


#: Identifier columns compared byte by byte on PostgreSQL (see ``storage.types.key_string``): (column, length).
KEY_COLUMNS = {
    "raw_events": (("event_uid", 32), ("session_id", 64)),
    "session_summaries": (("session_id", 64),),
    **{
        table: (("event_uid", 32), ("session_id", 64))
        for table in ("auth_attempts", "commands", "file_transfers", "ssh_keys")
    },
}


def _collate_keys(collation: str) -> None:
    """PostgreSQL only: no table is rewritten, only the indexes on these columns are rebuilt."""
    for table, columns in KEY_COLUMNS.items():
        changes = ", ".join(f'ALTER COLUMN {c} TYPE varchar({n}) COLLATE "{collation}"' for c, n in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def _lean_raw_events(dialect: str) -> None:
    """Raw events are an archive read by session: the bulk-load path keeps only what that needs.

    ``payload`` is stored only when the line had to be escaped (NUL, lone surrogates); every other line is
    its own JSON, served by the ``raw_events_json`` view. Parsing each line into ``jsonb`` a second time
    was about half of PostgreSQL's cost of a load, and the event-time and eventid indexes most of the rest
    of what no query reads (sessions carry their times; eventids are counted per session). The line's
    uniqueness is kept as (event_time, event_uid): the same bytes always have the same time, and a file's
    events then land at the right edge of the index instead of at a random place in it.
    """
    op.drop_index("ix_raw_events_eventid", table_name="raw_events")
    op.drop_index("ix_raw_events_event_time", table_name="raw_events")
    if dialect == "postgresql":
        _collate_keys("C")
    with op.batch_alter_table("raw_events") as batch:
        batch.alter_column("payload", existing_type=JSONType, nullable=True)
        batch.drop_constraint("uq_raw_events_event_uid", type_="unique")
        batch.create_unique_constraint("uq_raw_events_time_uid", ["event_time", "event_uid"])
    op.execute(RAW_EVENTS_JSON_VIEW[dialect])


def _full_raw_events(dialect: str) -> None:
    op.execute("DROP VIEW raw_events_json")
    op.execute(RAW_PAYLOAD_FROM_LINE[dialect])
    with op.batch_alter_table("raw_events") as batch:
        batch.alter_column("payload", existing_type=JSONType, nullable=False)
        batch.drop_constraint("uq_raw_events_time_uid", type_="unique")
        batch.create_unique_constraint("uq_raw_events_event_uid", ["event_uid"])
    if dialect == "postgresql":
        _collate_keys("default")
    op.create_index("ix_raw_events_event_time", "raw_events", ["event_time"])
    op.create_index("ix_raw_events_eventid", "raw_events", ["eventid"])


def _generated(name: str) -> sa.Computed:
    dialect = op.get_bind().dialect.name
    return sa.Computed(sa.text(GENERATED_SQL[name][dialect]), persisted=True)


def _create_baseline_table() -> None:
    op.create_table(
        "migration_baseline",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("from_revision", sa.String(32)),
        sa.Column("recorded_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_migration_baseline"),
    )


def upgrade() -> None:
    from cowrieprocessor.storage import backfill

    bind = op.get_bind()
    is_pg = bind.dialect.name == "postgresql"

    if not sa.inspect(bind).has_table("migration_baseline"):  # kept by a downgrade, as evidence
        _create_baseline_table()
    backfill.record_baseline(bind, from_revision="v15")
    _lean_raw_events(bind.dialect.name)

    op.create_table(
        "asn_inventory",
        sa.Column("asn_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("organization_name", sa.Text()),
        sa.Column("organization_country", sa.String(2)),
        sa.Column("rir_registry", sa.String(16)),
        sa.Column("asn_type", sa.String(16)),
        sa.Column("is_known_hosting", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_known_vpn", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("first_seen", UTCDateTime()),
        sa.Column("last_seen", UTCDateTime()),
        sa.Column("unique_ip_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_session_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("enrichment", JSONType),
        sa.Column("enrichment_updated_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("asn_number", name="pk_asn_inventory"),
    )
    op.create_index("ix_asn_inventory_asn_type", "asn_inventory", ["asn_type"])
    op.create_index("ix_asn_inventory_organization_country", "asn_inventory", ["organization_country"])
    op.create_index("ix_asn_inventory_total_session_count", "asn_inventory", ["total_session_count"])

    if is_pg:
        op.execute(PG_CREATE_FUNCTION)
    op.create_table(
        "ip_inventory",
        sa.Column("ip_address", IPAddress(), nullable=False),
        sa.Column(
            "current_asn",
            sa.BigInteger(),
            sa.ForeignKey("asn_inventory.asn_number", name="fk_ip_inventory_current_asn_asn_inventory"),
        ),
        sa.Column("asn_last_verified", UTCDateTime()),
        sa.Column("enrichment", JSONType, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("provenance", JSONType, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("enrichment_updated_at", UTCDateTime()),
        sa.Column("first_seen", UTCDateTime()),
        sa.Column("last_seen", UTCDateTime()),
        sa.Column("session_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.Column("geo_country", sa.Text(), _generated("geo_country"), nullable=False),
        sa.Column("ip_types", StringList(), _generated("ip_types"), nullable=False),
        sa.Column("is_scanner", sa.Boolean(), _generated("is_scanner"), nullable=False),
        sa.Column("is_bogon", sa.Boolean(), _generated("is_bogon"), nullable=False),
        sa.PrimaryKeyConstraint("ip_address", name="pk_ip_inventory"),
    )
    for column in ("current_asn", "geo_country", "is_scanner", "last_seen", "enrichment_updated_at"):
        op.create_index(f"ix_ip_inventory_{column}", "ip_inventory", [column])
    # persistent-ips filters and sorts on this expression (Alembic's compare does not see expression indexes).
    op.create_index("ix_ip_inventory_active_span", "ip_inventory", [sa.text(ACTIVE_SPAN_SQL[bind.dialect.name])])

    op.create_table(
        "ip_asn_history",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "ip_address",
            IPAddress(),
            sa.ForeignKey(
                "ip_inventory.ip_address",
                name="fk_ip_asn_history_ip_address_ip_inventory",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column(
            "asn_number",
            sa.BigInteger(),
            sa.ForeignKey("asn_inventory.asn_number", name="fk_ip_asn_history_asn_number_asn_inventory"),
            nullable=False,
        ),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime()),
        sa.Column("observed_by", sa.String(32)),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ip_asn_history"),
        sa.CheckConstraint("valid_until IS NULL OR valid_until > valid_from", name="ck_ip_asn_history_window_order"),
    )
    op.create_index("ix_ip_asn_history_ip_address", "ip_asn_history", ["ip_address", "valid_from"])
    op.create_index("ix_ip_asn_history_asn_number", "ip_asn_history", ["asn_number"])
    if is_pg:
        # inet_ops gives '=' on addresses; && on the window range keeps windows of one IP disjoint.
        op.execute(
            "ALTER TABLE ip_asn_history ADD CONSTRAINT ex_ip_asn_history_no_overlap "
            "EXCLUDE USING gist (ip_address inet_ops WITH =, "
            "tstzrange(valid_from, valid_until, '[)') WITH &&)"
        )
    else:
        for trigger in SQLITE_HISTORY_TRIGGERS.values():
            op.execute(trigger)

    op.create_table(
        "provider_calls",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("lookup_key", sa.String(128), nullable=False),
        sa.Column("called_at", UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Float()),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("http_status", sa.Integer()),
        sa.Column("error_class", sa.String(128)),
        sa.Column("batch_size", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_provider_calls"),
    )
    op.create_index("ix_provider_calls_source_called_at", "provider_calls", ["source", "called_at"])

    op.add_column("session_summaries", sa.Column("snapshot_asn", sa.BigInteger()))
    op.add_column("session_summaries", sa.Column("snapshot_country", sa.String(2)))
    op.add_column("session_summaries", sa.Column("snapshot_ip_types", StringList()))
    op.add_column("session_summaries", sa.Column("snapshot_source", sa.String(32)))
    op.add_column("session_summaries", sa.Column("enrichment_at", UTCDateTime()))

    backfill.populate_tiers(bind)

    op.create_index("ix_session_summaries_snapshot_asn", "session_summaries", ["snapshot_asn"])
    op.create_index("ix_session_summaries_snapshot_country", "session_summaries", ["snapshot_country"])
    for kind, column in BEHAVIOUR_KEYS.items():  # covering: "other campaigns on the same ASNs", index-only
        op.create_index(
            f"ix_session_summaries_asn_{kind}",
            "session_summaries",
            ["snapshot_asn", column, "source_ip", "first_event_at", "last_event_at"],
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
        )
    # the sessions still waiting for a snapshot: small, and what every enrichment pass looks for first
    op.create_index(
        "ix_session_summaries_pending_snapshot",
        "session_summaries",
        ["source_ip"],
        postgresql_where=sa.text("enrichment_at IS NULL"),
        sqlite_where=sa.text("enrichment_at IS NULL"),
    )
    backfill.add_session_ip_foreign_key(bind)
    snapshot_guard.install(bind)  # last: SQLite table rebuilds above would drop it


def downgrade() -> None:
    bind = op.get_bind()
    is_pg = bind.dialect.name == "postgresql"
    snapshot_guard.remove(bind)
    with op.batch_alter_table("session_summaries") as batch:
        batch.drop_constraint("fk_session_summaries_source_ip_ip_inventory", type_="foreignkey")
        batch.drop_index("ix_session_summaries_snapshot_asn")
        batch.drop_index("ix_session_summaries_snapshot_country")
        for kind in BEHAVIOUR_KEYS:
            batch.drop_index(f"ix_session_summaries_asn_{kind}")
        batch.drop_index("ix_session_summaries_pending_snapshot")
        for column in SNAPSHOT_COLUMNS:
            batch.drop_column(column)
    op.drop_table("provider_calls")
    op.drop_table("ip_asn_history")
    op.drop_table("ip_inventory")
    if is_pg:
        op.execute(PG_DROP_FUNCTION)
    op.drop_table("asn_inventory")
    _full_raw_events(bind.dialect.name)
    # migration_baseline stays: `db verify` after a rollback compares against it.
