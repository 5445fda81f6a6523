"""The schema as SQLAlchemy Core tables: the one definition that the migrations mirror (a test proves they agree).

Tables of schema ``v15`` (session level, filled by ingestion) and of ``v16`` (the three enrichment tiers
of ADR-007: ``asn_inventory`` -> ``ip_inventory`` -> snapshot columns on ``session_summaries``, plus
``ip_asn_history``, the provider-call ledger and the migration baseline), and what later revisions added.

Core, not the ORM: a query (``cowrieprocessor.analysis``, the ``query`` commands) needs only these tables,
and importing ``sqlalchemy.orm`` and mapping the classes cost more than the rest of a small query together
(#21). ``storage.models`` maps its ORM classes onto these tables (``__table__``) for the code and tests that
use entities; a new table or column is defined here, and only its typed attribute is added there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from cowrieprocessor.storage import dialects
from cowrieprocessor.storage.generated import DialectSQL
from cowrieprocessor.storage.types import IPAddress, JSONType, StringList, UTCDateTime, key_string

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: BIGINT ids that are still SQLite's rowid alias (SQLite only auto-increments ``INTEGER PRIMARY KEY``).
BigId = BigInteger().with_variant(Integer(), "sqlite")

NOW = text("CURRENT_TIMESTAMP")

#: Behavioural keys of a session (kind -> column), each with a covering index by snapshot ASN (v16).
BEHAVIOUR_KEYS = {
    "ssh_key": "ssh_key_fingerprint",
    "password": "password_hash",
    "command_sig": "command_signature",
    "credentials": "credential_list_hash",  # v19
}


class ActiveSpan(ColumnElement[Any]):
    """How long an IP has been active, indexed for ``persistent-ips`` (v16), as the compiling backend spells it."""

    inherit_cache = True
    type = NullType()


@compiles(ActiveSpan)
def _compile_active_span(element: ActiveSpan, compiler: Any, **kw: Any) -> str:
    return dialects.of(compiler.dialect).time_span("last_seen", "first_seen")


# --------------------------------------------------------------------------------------------- v15 ---

# SessionSummary: One row per Cowrie session; since v16 also the immutable time-of-attack snapshot (tier 3).
session_summaries = Table(
    "session_summaries",
    metadata,
    Column("session_id", key_string(64), primary_key=True),
    Column("sensor", String(255)),
    Column("protocol", String(16)),
    Column("source_ip", IPAddress(), ForeignKey("ip_inventory.ip_address", use_alter=True)),
    Column("source_port", Integer),
    Column("destination_ip", IPAddress()),
    Column("destination_port", Integer),
    Column("first_event_at", UTCDateTime()),
    Column("last_event_at", UTCDateTime()),
    Column("duration_ms", BigInteger),
    Column("event_count", Integer, server_default=text("0"), nullable=False),
    Column("client_version", Text),
    Column("hassh", String(64)),
    Column("login_attempts", Integer, server_default=text("0"), nullable=False),
    Column("login_failures", Integer, server_default=text("0"), nullable=False),
    Column("login_success", Boolean, server_default=text("false"), nullable=False),
    Column("login_username", Text),
    Column("password_hash", String(64)),
    Column("command_count", Integer, server_default=text("0"), nullable=False),
    Column("command_signature", String(64)),
    Column("file_downloads", Integer, server_default=text("0"), nullable=False),
    Column("file_uploads", Integer, server_default=text("0"), nullable=False),
    Column("ssh_key_fingerprint", String(128)),
    Column("enrichment", JSONType),
    Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
    Column("updated_at", UTCDateTime(), server_default=NOW, nullable=False),
    # v16: point-in-time snapshot, written once and never changed.
    Column("snapshot_asn", BigInteger),
    Column("snapshot_country", String(2)),
    Column("snapshot_ip_types", StringList()),
    Column("snapshot_source", String(32)),
    Column("enrichment_at", UTCDateTime()),
    # v19: the client version as queries group it, whether the client spoke SSH, the credentials it tried.
    Column("client_version_normalised", Text),
    Column("client_non_ssh", Boolean),
    Column("credential_list_hash", String(64)),
    # v21: port forwarding and exploit attempts (ingestion.activity).
    Column("forward_requests", Integer, server_default=text("0"), nullable=False),
    Column("forward_bytes", BigInteger, server_default=text("0"), nullable=False),
    Column("exploit_attempts", Integer, server_default=text("0"), nullable=False),
    Column("exploit_success", Boolean, server_default=text("false"), nullable=False),
    Index("ix_session_summaries_source_ip", "source_ip"),
    Index("ix_session_summaries_client_version_normalised", "client_version_normalised"),  # v19
    Index("ix_session_summaries_credential_list_hash", "credential_list_hash"),  # v19
    Index("ix_session_summaries_first_event_at", "first_event_at"),
    Index("ix_session_summaries_sensor", "sensor"),
    Index("ix_session_summaries_ssh_key_fingerprint", "ssh_key_fingerprint"),
    Index("ix_session_summaries_password_hash", "password_hash"),
    Index("ix_session_summaries_command_signature", "command_signature"),
    Index("ix_session_summaries_snapshot_asn", "snapshot_asn"),
    Index("ix_session_summaries_snapshot_country", "snapshot_country"),
)
# Partial indexes of session_summaries: with_partial_indexes() below.

# RawEvent: Every event as read, byte-for-byte: ``raw_line`` is the original; ``payload`` is set only where the line
# had to be escaped to be stored as JSON (the ``raw_events_json`` view gives every event's JSON).
raw_events = Table(
    "raw_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_uid", key_string(32), nullable=False),
    Column("sensor", String(255)),
    Column("session_id", key_string(64)),
    Column("eventid", String(64), nullable=False),
    Column("event_time", UTCDateTime(), nullable=False),
    Column("source_ip", IPAddress()),
    # No foreign key to ingest_files: PostgreSQL checks one per row with a trigger, about half the server's
    # cost of a bulk load, and the only writer (ingestion) takes the id from the ingest_files row it holds.
    Column("source_file_id", BigId),
    Column("source_offset", BigInteger),
    Column("payload", JSONType),
    Column("raw_line", LargeBinary, nullable=False),
    Column("ingested_at", UTCDateTime(), server_default=NOW, nullable=False),
    # unique per line as event_uid alone would be (the same bytes have the same time), but in time order:
    # a file's events land at the index's right edge instead of at random places in it
    UniqueConstraint("event_time", "event_uid", name="uq_raw_events_time_uid"),
    Index("ix_raw_events_session_id", "session_id"),
)

# AuthAttempt: A login attempt (password or public key) with its outcome.
auth_attempts = Table(
    "auth_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_uid", key_string(32), unique=True, nullable=False),
    Column("session_id", ForeignKey("session_summaries.session_id", ondelete="CASCADE"), nullable=False),
    Column("event_time", UTCDateTime(), nullable=False),
    Column("username", Text),
    Column("password", Text),
    Column("password_hash", String(64)),
    Column("key_fingerprint", String(128)),
    Column("success", Boolean, nullable=False),
    Index("ix_auth_attempts_session_id", "session_id"),
    Index("ix_auth_attempts_password_hash", "password_hash"),
    Index("ix_auth_attempts_username", "username"),  # v19: sessions that tried a username,
)

# CommandRecord: A line the attacker gave the shell, in order, and whether Cowrie knew the command.
commands = Table(
    "commands",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_uid", key_string(32), unique=True, nullable=False),
    Column("session_id", ForeignKey("session_summaries.session_id", ondelete="CASCADE"), nullable=False),
    Column("event_time", UTCDateTime(), nullable=False),
    Column("sequence", Integer),
    Column("input", Text, nullable=False),
    Column("known", Boolean),
    Index("ix_commands_session_id", "session_id"),
)

# FileTransfer: A download (URL fetch or shell redirection) or an upload (SCP/SFTP), with its outcome.
file_transfers = Table(
    "file_transfers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_uid", key_string(32), unique=True, nullable=False),
    Column("session_id", ForeignKey("session_summaries.session_id", ondelete="CASCADE"), nullable=False),
    Column("event_time", UTCDateTime(), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("url", Text),
    Column("shasum", String(64)),
    Column("destfile", Text),
    Column("outfile", Text),
    Column("filename", Text),
    Column("duplicate", Boolean),
    Column("error", Text),
    Column("method", String(16)),
    Index("ix_file_transfers_session_id", "session_id"),
    Index("ix_file_transfers_shasum", "shasum"),
)

# SSHKey: An SSH public key seen in a session: offered for login, or planted (e.g. into authorized_keys).
ssh_keys = Table(
    "ssh_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_uid", key_string(32), unique=True, nullable=False),
    Column("session_id", ForeignKey("session_summaries.session_id", ondelete="CASCADE"), nullable=False),
    Column("event_time", UTCDateTime(), nullable=False),
    Column("key_type", String(64), nullable=False),
    Column("key_data", Text, nullable=False),
    Column("key_comment", Text),
    Column("fingerprint_sha256", String(128), nullable=False),
    Column("fingerprint_md5", String(64)),
    Column("how_seen", String(16), nullable=False),
    Index("ix_ssh_keys_session_id", "session_id"),
    Index("ix_ssh_keys_fingerprint_sha256", "fingerprint_sha256"),
)

# IngestFile: A log file's identity and byte checkpoint, so growth is read incrementally and copies are known.
ingest_files = Table(
    "ingest_files",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("path", Text, nullable=False),
    Column("identity", String(128), unique=True, nullable=False),
    Column("compression", String(8), nullable=False),
    Column("size_bytes", BigInteger, server_default=text("0"), nullable=False),
    Column("offset_bytes", BigInteger, server_default=text("0"), nullable=False),
    Column("pending_tail", LargeBinary),
    #: SHA-256 of the bytes just before ``offset_bytes`` (v20): a rewritten file is not taken as grown.
    Column("checkpoint_hash", String(64)),
    Column("events", BigInteger, server_default=text("0"), nullable=False),
    Column("dead_letters", BigInteger, server_default=text("0"), nullable=False),
    Column("first_ingested_at", UTCDateTime(), server_default=NOW, nullable=False),
    Column("updated_at", UTCDateTime(), server_default=NOW, nullable=False),
)

# DeadLetter: Input that could not be read as an event, kept whole with why and where, to fix and re-drive.
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source_file_id", ForeignKey("ingest_files.id")),
    Column("source_path", Text),
    Column("source_offset", BigInteger),
    Column("reason", String(64), nullable=False),
    Column("detail", Text),
    Column("raw", LargeBinary, nullable=False),
    Column("status", String(16), server_default=text("'pending'"), nullable=False),
    Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
    Column("redriven_at", UTCDateTime()),
    UniqueConstraint("source_file_id", "source_offset", name="uq_dead_letters_source"),
    Index("ix_dead_letters_status", "status"),
)

# --------------------------------------------------------------------------------------------- v16 ---

# ASNInventory: Tier 1: one row per autonomous system - the organisation behind the addresses.
asn_inventory = Table(
    "asn_inventory",
    metadata,
    Column("asn_number", BigInteger, primary_key=True, autoincrement=False),
    Column("organization_name", Text),
    Column("organization_country", String(2)),
    Column("rir_registry", String(16)),
    Column("asn_type", String(16)),
    Column("is_known_hosting", Boolean, server_default=text("false"), nullable=False),
    Column("is_known_vpn", Boolean, server_default=text("false"), nullable=False),
    Column("first_seen", UTCDateTime()),
    Column("last_seen", UTCDateTime()),
    Column("unique_ip_count", Integer, server_default=text("0"), nullable=False),
    Column("total_session_count", BigInteger, server_default=text("0"), nullable=False),
    Column("enrichment", JSONType),
    Column("enrichment_updated_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
    Column("updated_at", UTCDateTime(), server_default=NOW, nullable=False),
    Index("ix_asn_inventory_asn_type", "asn_type"),
    Index("ix_asn_inventory_organization_country", "organization_country"),
    Index("ix_asn_inventory_total_session_count", "total_session_count"),
)

# IPInventory: Tier 2: one row per source IP - its current enrichment, per-source provenance and counters.
ip_inventory = Table(
    "ip_inventory",
    metadata,
    Column("ip_address", IPAddress(), primary_key=True),
    Column("current_asn", ForeignKey("asn_inventory.asn_number")),
    Column("asn_last_verified", UTCDateTime()),
    Column("enrichment", JSONType, server_default=text("'{}'"), nullable=False),
    Column("provenance", JSONType, server_default=text("'{}'"), nullable=False),
    Column("enrichment_updated_at", UTCDateTime()),
    Column("first_seen", UTCDateTime()),
    Column("last_seen", UTCDateTime()),
    Column("session_count", Integer, server_default=text("0"), nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until", UTCDateTime()),
    Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
    Column("updated_at", UTCDateTime(), server_default=NOW, nullable=False),
    # Generated from ``enrichment`` by the database; the hybrids below compute the same in Python.
    Column("geo_country", Text, Computed(DialectSQL("geo_country"), persisted=True), nullable=False),
    Column("ip_types", StringList(), Computed(DialectSQL("ip_types"), persisted=True), nullable=False),
    Column("is_scanner", Boolean, Computed(DialectSQL("is_scanner"), persisted=True), nullable=False),
    Column("is_bogon", Boolean, Computed(DialectSQL("is_bogon"), persisted=True), nullable=False),
    Index("ix_ip_inventory_current_asn", "current_asn"),
    Index("ix_ip_inventory_geo_country", "geo_country"),
    Index("ix_ip_inventory_is_scanner", "is_scanner"),
    Index("ix_ip_inventory_last_seen", "last_seen"),
    Index("ix_ip_inventory_enrichment_updated_at", "enrichment_updated_at"),
    Index("ix_ip_inventory_active_span", ActiveSpan()),
)

# IPASNHistory: An IP's ASN over time: windows ``[valid_from, valid_until)`` that never overlap; open = current.
ip_asn_history = Table(
    "ip_asn_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ip_address", IPAddress(), ForeignKey("ip_inventory.ip_address", ondelete="CASCADE"), nullable=False),
    Column("asn_number", ForeignKey("asn_inventory.asn_number"), nullable=False),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("valid_until", UTCDateTime()),
    Column("observed_by", String(32)),
    Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
    Index("ix_ip_asn_history_ip_address", "ip_address", "valid_from"),
    Index("ix_ip_asn_history_asn_number", "asn_number"),
)

# ProviderCall: The ledger: one row per call to (or decision not to call) an enrichment source.
provider_calls = Table(
    "provider_calls",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("lookup_key", String(128), nullable=False),
    Column("called_at", UTCDateTime(), nullable=False),
    Column("duration_ms", Float),
    Column("outcome", String(24), nullable=False),
    Column("http_status", Integer),
    Column("error_class", String(128)),
    Column("batch_size", Integer, server_default=text("1"), nullable=False),
    Index("ix_provider_calls_source_called_at", "source", "called_at"),
)

# MigrationBaseline: Metrics recorded before a schema upgrade, so ``db verify`` can prove nothing was lost.
migration_baseline = Table(
    "migration_baseline",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("metric", String(64), nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("from_revision", String(32)),
    Column("recorded_at", UTCDateTime(), server_default=NOW, nullable=False),
)

# --------------------------------------------------------------------------------------------- v17 ---

# ProviderBudgetUsage: Calls reserved against a source's daily budget, per UTC day: the one counter every process on
# the database spends from (a per-process count let N processes make N times the budget).
provider_budget_usage = Table(
    "provider_budget_usage",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("used", Integer, server_default=text("0"), nullable=False),
    CheckConstraint("used >= 0", name="used_not_negative"),
)

# --------------------------------------------------------------------------------------------- v21 ---

# PortForward: An SSH port-forwarding (``direct-tcpip``) request or the payload sent through it: the honeypot used
# as a proxy. ``destination`` is text, not an address: clients may ask for a host name.
port_forwards = Table(
    "port_forwards",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_uid", key_string(32), unique=True, nullable=False),
    Column("session_id", ForeignKey("session_summaries.session_id", ondelete="CASCADE"), nullable=False),
    Column("event_time", UTCDateTime(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("destination", String(255)),
    Column("destination_port", Integer),
    Column("origin_ip", String(255)),
    Column("origin_port", Integer),
    Column("payload", Text),
    Column("payload_bytes", BigInteger),
    Index("ix_port_forwards_session_id", "session_id"),
    Index("ix_port_forwards_destination", "destination", "destination_port"),
)

# ExploitAttempt: An exploit Cowrie recognised (e.g. the telnet NEW-ENVIRON login bypass), attempted or successful.
exploit_attempts = Table(
    "exploit_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_uid", key_string(32), unique=True, nullable=False),
    Column("session_id", ForeignKey("session_summaries.session_id", ondelete="CASCADE"), nullable=False),
    Column("event_time", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("cve", String(32)),
    Column("name", Text),
    Column("value", Text),
    Column("username", Text),
    Column("original_username", Text),
    Column("attempted_command", Text),
    Index("ix_exploit_attempts_session_id", "session_id"),
)

# --------------------------------------------------------------------------------------------- v22 ---

# ReportDigest: One run of a named digest (``report --since-last NAME``): its window and what it reported.
report_digests = Table(
    "report_digests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("run", Integer, nullable=False),
    Column("since", UTCDateTime(), nullable=False),
    Column("until", UTCDateTime(), nullable=False),
    Column("body", JSONType, nullable=False),
    Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
    UniqueConstraint("name", "run", name="uq_report_digests_name"),
)


# --------------------------------------------------------------------------------------------- v24 ---

#: Where an alert rule stopped (event time): its next evaluation starts there, so nothing is found twice.
alert_watermarks = Table(
    "alert_watermarks",
    metadata,
    Column("rule", String(64), primary_key=True),
    Column("until", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), server_default=NOW, nullable=False),
)

#: One alert for one destination, recorded before it is sent, with its delivery state (``alerts``).
alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("alert_id", String(64), nullable=False),
    Column("destination", String(64), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("subject", Text, nullable=False),
    Column("details", JSONType, nullable=False),
    Column("seen_at", UTCDateTime()),
    Column("status", String(16), server_default=text("'pending'"), nullable=False),
    Column("attempts", Integer, server_default=text("0"), nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until", UTCDateTime()),
    Column("sent_at", UTCDateTime()),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
    UniqueConstraint("destination", "alert_id", name="uq_alert_outbox_destination"),
    CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
    Index("ix_alert_outbox_status", "status", "next_attempt_at"),
    Index("ix_alert_outbox_sent_at", "destination", "sent_at"),
)

# --------------------------------------------------------------------------------------------- v25 ---


def _artifact_counters() -> list[Column[Any]]:
    """First/last seen and counts of an artifact, recomputed from ``file_transfers`` by every ``enrich``."""
    return [
        Column("first_seen", UTCDateTime()),
        Column("last_seen", UTCDateTime()),
        Column("download_count", Integer, server_default=text("0"), nullable=False),
        Column("session_count", Integer, server_default=text("0"), nullable=False),
        Column("source_ip_count", Integer, server_default=text("0"), nullable=False),
    ]


def _artifact_enrichment() -> list[Column[Any]]:
    """Sources' answers (``enrichment``) and per-source status, fetch and expiry times (``provenance``)."""
    return [
        Column("enrichment", JSONType, server_default=text("'{}'"), nullable=False),
        Column("provenance", JSONType, server_default=text("'{}'"), nullable=False),
        Column("enrichment_updated_at", UTCDateTime()),
        Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        Column("updated_at", UTCDateTime(), server_default=NOW, nullable=False),
    ]


#: One row per SHA-256 downloaded or uploaded: where and when it was seen, what it is, sources' verdicts.
file_inventory = Table(
    "file_inventory",
    metadata,
    Column("sha256", key_string(64), primary_key=True),
    Column("url_count", Integer, server_default=text("0"), nullable=False),
    Column("sensors", JSONType, server_default=text("'[]'"), nullable=False),
    Column("file_names", JSONType, server_default=text("'[]'"), nullable=False),
    Column("size_bytes", BigInteger),
    Column("file_type", String(64)),
    Column("artifact_checked_at", UTCDateTime()),
    *_artifact_counters(),
    *_artifact_enrichment(),
    Index("ix_file_inventory_first_seen", "first_seen"),
    Index("ix_file_inventory_session_count", "session_count"),
)

#: One row per URL fetched (keyed by the SHA-256 of its text: URLs are unbounded attacker text).
url_inventory = Table(
    "url_inventory",
    metadata,
    Column("url_sha256", key_string(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("host", String(255)),
    Column("file_count", Integer, server_default=text("0"), nullable=False),
    *_artifact_counters(),
    *_artifact_enrichment(),
    Index("ix_url_inventory_host", "host"),
)

#: One row per host that served (or was asked for) a payload: its last DNS answer and sources' verdicts.
payload_hosts = Table(
    "payload_hosts",
    metadata,
    Column("host", String(255), primary_key=True),
    Column("is_address", Boolean, server_default=text("false"), nullable=False),
    Column("url_count", Integer, server_default=text("0"), nullable=False),
    Column("resolved_at", UTCDateTime()),
    Column("resolution", JSONType),
    *_artifact_counters(),
    *_artifact_enrichment(),
)

#: An address a payload host resolved to (or is), with when; the address is an ``ip_inventory`` row.
payload_host_addresses = Table(
    "payload_host_addresses",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("host", String(255), ForeignKey("payload_hosts.host", ondelete="CASCADE"), nullable=False),
    Column("ip_address", IPAddress(), ForeignKey("ip_inventory.ip_address"), nullable=False),
    Column("first_resolved_at", UTCDateTime(), nullable=False),
    Column("last_resolved_at", UTCDateTime(), nullable=False),
    Column("asn_at_resolution", BigInteger),
    UniqueConstraint("host", "ip_address", name="uq_payload_host_addresses_host"),
    Index("ix_payload_host_addresses_ip_address", "ip_address"),
)

# --------------------------------------------------------------------------------------------- v26 ---

#: The last word of each ``follow`` process, by name: ``follow --status`` reads it from another process.
follow_status = Table(
    "follow_status",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("worker", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("last_batch_at", UTCDateTime()),
    Column("body", JSONType, nullable=False),
)

#: Where ``geo_country`` looks, in order (mirrors ``generated.GENERATED_SQL['geo_country']``).
COUNTRY_FALLBACK: tuple[tuple[str, ...], ...] = (
    ("maxmind", "country"),
    ("cymru", "country"),
    ("dshield", "ip", "ascountry"),
    ("embedded", "country"),
)


def json_path(document: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in a JSON document, or None when any step is missing or not an object."""
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


# ------------------------------------------------------------------------------------ partial indexes ---
# Declaring a partial index (``postgresql_where``) makes SQLAlchemy load the PostgreSQL dialect to check the
# argument, which cost every SQLite command ~25 ms of start-up (#21). A query never needs an index declared;
# the schema's DDL side does (Alembic, the schema tests, the data-model doc), and it gets them through
# ``with_partial_indexes``, which ``storage.models`` calls. They are defined here all the same, with the rest.

#: (index, table, columns, predicate) - the same WHERE on both backends.
PARTIAL_INDEXES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    # Covering, per kind of behavioural key: "other campaigns on the same ASNs" (analysis.related).
    *(
        (
            f"ix_session_summaries_asn_{kind}",
            "session_summaries",
            ("snapshot_asn", column, "source_ip", "first_event_at", "last_event_at"),
            f"{column} IS NOT NULL",
        )
        for kind, column in BEHAVIOUR_KEYS.items()
    ),
    ("ix_session_summaries_pending_snapshot", "session_summaries", ("source_ip",), "enrichment_at IS NULL"),
)


def with_partial_indexes() -> MetaData:
    """The metadata with its partial indexes declared (once)."""
    for name, table_name, columns, where in PARTIAL_INDEXES:
        table = metadata.tables[table_name]
        if all(index.name != name for index in table.indexes):
            Index(name, *(table.c[c] for c in columns), postgresql_where=text(where), sqlite_where=text(where))
    return metadata
