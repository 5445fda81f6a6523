"""SQLAlchemy 2.0 models: the mirror of the Alembic migrations (a test proves they agree).

Tables of schema ``v15`` (session level, filled by ingestion) and of ``v16`` (the three enrichment tiers
of ADR-007: ``asn_inventory`` -> ``ip_inventory`` -> snapshot columns on ``session_summaries``, plus
``ip_asn_history``, the provider-call ledger and the migration baseline).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from cowrieprocessor.storage.generated import DialectSQL
from cowrieprocessor.storage.types import IPAddress, JSONType, StringList, UTCDateTime, key_string

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: BIGINT ids that are still SQLite's rowid alias (SQLite only auto-increments ``INTEGER PRIMARY KEY``).
BigId = BigInteger().with_variant(Integer(), "sqlite")

NOW = text("CURRENT_TIMESTAMP")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: Behavioural keys of a session (kind -> column), each with a covering index by snapshot ASN (v16).
BEHAVIOUR_KEYS = {
    "ssh_key": "ssh_key_fingerprint",
    "password": "password_hash",
    "command_sig": "command_signature",
    "credentials": "credential_list_hash",  # v19
}

#: How long an IP has been active, as an expression per dialect, indexed for ``persistent-ips`` (v16).
ACTIVE_SPAN_SQL = {
    "postgresql": "(last_seen - first_seen)",
    "sqlite": "(julianday(last_seen) - julianday(first_seen))",
}


class ActiveSpan(ColumnElement[Any]):
    """``ACTIVE_SPAN_SQL`` of the dialect compiling it: one expression index, spelled per backend."""

    inherit_cache = True
    type = NullType()


@compiles(ActiveSpan)
def _compile_active_span(element: ActiveSpan, compiler: Any, **kw: Any) -> str:
    return ACTIVE_SPAN_SQL[compiler.dialect.name]


# --------------------------------------------------------------------------------------------- v15 ---


class SessionSummary(Base):
    """One row per Cowrie session; since v16 also the immutable time-of-attack snapshot (tier 3)."""

    __tablename__ = "session_summaries"

    session_id: Mapped[str] = mapped_column(key_string(64), primary_key=True)
    sensor: Mapped[str | None] = mapped_column(String(255))
    protocol: Mapped[str | None] = mapped_column(String(16))
    source_ip: Mapped[str | None] = mapped_column(IPAddress(), ForeignKey("ip_inventory.ip_address", use_alter=True))
    source_port: Mapped[int | None] = mapped_column(Integer)
    destination_ip: Mapped[str | None] = mapped_column(IPAddress())
    destination_port: Mapped[int | None] = mapped_column(Integer)
    first_event_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_event_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    event_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    client_version: Mapped[str | None] = mapped_column(Text)
    hassh: Mapped[str | None] = mapped_column(String(64))
    login_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    login_failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    login_success: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    login_username: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(String(64))
    command_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    command_signature: Mapped[str | None] = mapped_column(String(64))
    file_downloads: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    file_uploads: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    ssh_key_fingerprint: Mapped[str | None] = mapped_column(String(128))
    enrichment: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)
    # v16: point-in-time snapshot, written once and never changed.
    snapshot_asn: Mapped[int | None] = mapped_column(BigInteger)
    snapshot_country: Mapped[str | None] = mapped_column(String(2))
    snapshot_ip_types: Mapped[list[str] | None] = mapped_column(StringList())
    snapshot_source: Mapped[str | None] = mapped_column(String(32))
    enrichment_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # v19: the client version as queries group it, whether the client spoke SSH, the credentials it tried.
    client_version_normalised: Mapped[str | None] = mapped_column(Text)
    client_non_ssh: Mapped[bool | None] = mapped_column(Boolean)
    credential_list_hash: Mapped[str | None] = mapped_column(String(64))
    # v21: port forwarding and exploit attempts (ingestion.activity).
    forward_requests: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    forward_bytes: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    exploit_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    exploit_success: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))

    __table_args__ = (
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
        # Covering, per kind of behavioural key: "other campaigns on the same ASNs" (analysis.related).
        *(
            Index(
                f"ix_session_summaries_asn_{kind}",
                "snapshot_asn",
                column,
                "source_ip",
                "first_event_at",
                "last_event_at",
                postgresql_where=text(f"{column} IS NOT NULL"),
                sqlite_where=text(f"{column} IS NOT NULL"),
            )
            for kind, column in BEHAVIOUR_KEYS.items()
        ),
        Index(
            "ix_session_summaries_pending_snapshot",
            "source_ip",
            postgresql_where=text("enrichment_at IS NULL"),
            sqlite_where=text("enrichment_at IS NULL"),
        ),
    )


class RawEvent(Base):
    """Every event as read, byte-for-byte: ``raw_line`` is the original; ``payload`` is set only where the
    line had to be escaped to be stored as JSON (the ``raw_events_json`` view gives every event's JSON)."""

    __tablename__ = "raw_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_uid: Mapped[str] = mapped_column(key_string(32))
    sensor: Mapped[str | None] = mapped_column(String(255))
    session_id: Mapped[str | None] = mapped_column(key_string(64))
    eventid: Mapped[str] = mapped_column(String(64))
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    source_ip: Mapped[str | None] = mapped_column(IPAddress())
    # No foreign key to ingest_files: PostgreSQL checks one per row with a trigger, about half the server's
    # cost of a bulk load, and the only writer (ingestion) takes the id from the ingest_files row it holds.
    source_file_id: Mapped[int | None] = mapped_column(BigId)
    source_offset: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    raw_line: Mapped[bytes] = mapped_column(LargeBinary)
    ingested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)

    __table_args__ = (
        # unique per line as event_uid alone would be (the same bytes have the same time), but in time order:
        # a file's events land at the index's right edge instead of at random places in it
        UniqueConstraint("event_time", "event_uid", name="uq_raw_events_time_uid"),
        Index("ix_raw_events_session_id", "session_id"),
    )


class AuthAttempt(Base):
    """A login attempt (password or public key) with its outcome."""

    __tablename__ = "auth_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_uid: Mapped[str] = mapped_column(key_string(32), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("session_summaries.session_id", ondelete="CASCADE"))
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    username: Mapped[str | None] = mapped_column(Text)
    password: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(String(64))
    key_fingerprint: Mapped[str | None] = mapped_column(String(128))
    success: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_auth_attempts_session_id", "session_id"),
        Index("ix_auth_attempts_password_hash", "password_hash"),
        Index("ix_auth_attempts_username", "username"),  # v19: sessions that tried a username
    )


class CommandRecord(Base):
    """A line the attacker gave the shell, in order, and whether Cowrie knew the command."""

    __tablename__ = "commands"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_uid: Mapped[str] = mapped_column(key_string(32), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("session_summaries.session_id", ondelete="CASCADE"))
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sequence: Mapped[int | None] = mapped_column(Integer)
    input: Mapped[str] = mapped_column(Text)
    known: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (Index("ix_commands_session_id", "session_id"),)


class FileTransfer(Base):
    """A download (URL fetch or shell redirection) or an upload (SCP/SFTP), with its outcome."""

    __tablename__ = "file_transfers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_uid: Mapped[str] = mapped_column(key_string(32), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("session_summaries.session_id", ondelete="CASCADE"))
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    direction: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(Text)
    shasum: Mapped[str | None] = mapped_column(String(64))
    destfile: Mapped[str | None] = mapped_column(Text)
    outfile: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(Text)
    duplicate: Mapped[bool | None] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    method: Mapped[str | None] = mapped_column(String(16))  # v21: fetch, redirect, stdin, scp, sftp

    __table_args__ = (
        Index("ix_file_transfers_session_id", "session_id"),
        Index("ix_file_transfers_shasum", "shasum"),
    )


class SSHKey(Base):
    """An SSH public key seen in a session: offered for login, or planted (e.g. into authorized_keys)."""

    __tablename__ = "ssh_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_uid: Mapped[str] = mapped_column(key_string(32), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("session_summaries.session_id", ondelete="CASCADE"))
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    key_type: Mapped[str] = mapped_column(String(64))
    key_data: Mapped[str] = mapped_column(Text)
    key_comment: Mapped[str | None] = mapped_column(Text)
    fingerprint_sha256: Mapped[str] = mapped_column(String(128))
    fingerprint_md5: Mapped[str | None] = mapped_column(String(64))
    how_seen: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        Index("ix_ssh_keys_session_id", "session_id"),
        Index("ix_ssh_keys_fingerprint_sha256", "fingerprint_sha256"),
    )


class IngestFile(Base):
    """A log file's identity and byte checkpoint, so growth is read incrementally and copies are known."""

    __tablename__ = "ingest_files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(Text)
    identity: Mapped[str] = mapped_column(String(128), unique=True)
    compression: Mapped[str] = mapped_column(String(8))
    size_bytes: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    offset_bytes: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    pending_tail: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: SHA-256 of the bytes just before ``offset_bytes`` (v20): a rewritten file is not taken as grown.
    checkpoint_hash: Mapped[str | None] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    dead_letters: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    first_ingested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)


class DeadLetter(Base):
    """Input that could not be read as an event, kept whole with why and where, to fix and re-drive."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_files.id"))
    source_path: Mapped[str | None] = mapped_column(Text)
    source_offset: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)
    redriven_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("source_file_id", "source_offset", name="uq_dead_letters_source"),
        Index("ix_dead_letters_status", "status"),
    )


# --------------------------------------------------------------------------------------------- v16 ---


class ASNInventory(Base):
    """Tier 1: one row per autonomous system - the organisation behind the addresses."""

    __tablename__ = "asn_inventory"

    asn_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    organization_name: Mapped[str | None] = mapped_column(Text)
    organization_country: Mapped[str | None] = mapped_column(String(2))
    rir_registry: Mapped[str | None] = mapped_column(String(16))
    asn_type: Mapped[str | None] = mapped_column(String(16))
    is_known_hosting: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    is_known_vpn: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    first_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    unique_ip_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    total_session_count: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    enrichment: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    enrichment_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)

    __table_args__ = (
        Index("ix_asn_inventory_asn_type", "asn_type"),
        Index("ix_asn_inventory_organization_country", "organization_country"),
        Index("ix_asn_inventory_total_session_count", "total_session_count"),
    )


class IPInventory(Base):
    """Tier 2: one row per source IP - its current enrichment, per-source provenance and counters."""

    __tablename__ = "ip_inventory"

    ip_address: Mapped[str] = mapped_column(IPAddress(), primary_key=True)
    current_asn: Mapped[int | None] = mapped_column(ForeignKey("asn_inventory.asn_number"))
    asn_last_verified: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    enrichment: Mapped[dict[str, Any]] = mapped_column(JSONType, server_default=text("'{}'"))
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONType, server_default=text("'{}'"))
    enrichment_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    first_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    session_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)
    # Generated from ``enrichment`` by the database; the hybrids below compute the same in Python.
    geo_country_stored: Mapped[str] = mapped_column(
        "geo_country", Text, Computed(DialectSQL("geo_country"), persisted=True)
    )
    ip_types_stored: Mapped[list[str]] = mapped_column(
        "ip_types", StringList(), Computed(DialectSQL("ip_types"), persisted=True)
    )
    is_scanner_stored: Mapped[bool] = mapped_column(
        "is_scanner", Boolean, Computed(DialectSQL("is_scanner"), persisted=True)
    )
    is_bogon_stored: Mapped[bool] = mapped_column("is_bogon", Boolean, Computed(DialectSQL("is_bogon"), persisted=True))

    __table_args__ = (
        Index("ix_ip_inventory_current_asn", "current_asn"),
        Index("ix_ip_inventory_geo_country", "geo_country"),
        Index("ix_ip_inventory_is_scanner", "is_scanner"),
        Index("ix_ip_inventory_last_seen", "last_seen"),
        Index("ix_ip_inventory_enrichment_updated_at", "enrichment_updated_at"),
        Index("ix_ip_inventory_active_span", ActiveSpan()),
    )

    @hybrid_property
    def geo_country(self) -> str:
        enrichment = self.enrichment or {}
        for path in COUNTRY_FALLBACK:
            value = json_path(enrichment, path)
            if value is not None and not isinstance(value, dict | list) and str(value) != "":
                return str(value).upper()
        return "XX"

    @geo_country.inplace.expression
    @classmethod
    def _geo_country_expression(cls) -> ColumnElement[str]:
        return cls.geo_country_stored  # type: ignore[return-value]

    @hybrid_property
    def ip_types(self) -> list[str]:
        value = json_path(self.enrichment or {}, ("spur", "client", "types"))
        if not isinstance(value, list):
            return []
        return [v if isinstance(v, str) else _json_text(v) for v in value]

    @ip_types.inplace.expression
    @classmethod
    def _ip_types_expression(cls) -> ColumnElement[list[str]]:
        return cls.ip_types_stored  # type: ignore[return-value]

    @hybrid_property
    def is_scanner(self) -> bool:
        value = json_path(self.enrichment or {}, ("greynoise", "noise"))
        return value if isinstance(value, bool) else False

    @is_scanner.inplace.expression
    @classmethod
    def _is_scanner_expression(cls) -> ColumnElement[bool]:
        return cls.is_scanner_stored  # type: ignore[return-value]

    @hybrid_property
    def is_bogon(self) -> bool:
        value = json_path(self.enrichment or {}, ("validation", "is_bogon"))
        return value if isinstance(value, bool) else False

    @is_bogon.inplace.expression
    @classmethod
    def _is_bogon_expression(cls) -> ColumnElement[bool]:
        return cls.is_bogon_stored  # type: ignore[return-value]


class IPASNHistory(Base):
    """An IP's ASN over time: windows ``[valid_from, valid_until)`` that never overlap; open = current."""

    __tablename__ = "ip_asn_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ip_address: Mapped[str] = mapped_column(IPAddress(), ForeignKey("ip_inventory.ip_address", ondelete="CASCADE"))
    asn_number: Mapped[int] = mapped_column(ForeignKey("asn_inventory.asn_number"))
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    observed_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)

    __table_args__ = (
        Index("ix_ip_asn_history_ip_address", "ip_address", "valid_from"),
        Index("ix_ip_asn_history_asn_number", "asn_number"),
    )


class ProviderCall(Base):
    """The ledger: one row per call to (or decision not to call) an enrichment source."""

    __tablename__ = "provider_calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    lookup_key: Mapped[str] = mapped_column(String(128))
    called_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(24))
    http_status: Mapped[int | None] = mapped_column(Integer)
    error_class: Mapped[str | None] = mapped_column(String(128))
    batch_size: Mapped[int] = mapped_column(Integer, server_default=text("1"))

    __table_args__ = (Index("ix_provider_calls_source_called_at", "source", "called_at"),)


class MigrationBaseline(Base):
    """Metrics recorded before a schema upgrade, so ``db verify`` can prove nothing was lost."""

    __tablename__ = "migration_baseline"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[int] = mapped_column(BigInteger)
    from_revision: Mapped[str | None] = mapped_column(String(32))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)


# --------------------------------------------------------------------------------------------- v17 ---


class ProviderBudgetUsage(Base):
    """Calls reserved against a source's daily budget, per UTC day: the one counter every process on the
    database spends from (a per-process count let N processes make N times the budget)."""

    __tablename__ = "provider_budget_usage"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    used: Mapped[int] = mapped_column(Integer, server_default=text("0"))

    __table_args__ = (CheckConstraint("used >= 0", name="used_not_negative"),)


# --------------------------------------------------------------------------------------------- v21 ---


class PortForward(Base):
    """An SSH port-forwarding (``direct-tcpip``) request or the payload sent through it: the honeypot used as
    a proxy. ``destination`` is text, not an address: clients may ask for a host name."""

    __tablename__ = "port_forwards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_uid: Mapped[str] = mapped_column(key_string(32), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("session_summaries.session_id", ondelete="CASCADE"))
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str | None] = mapped_column(String(255))
    destination_port: Mapped[int | None] = mapped_column(Integer)
    origin_ip: Mapped[str | None] = mapped_column(String(255))
    origin_port: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[str | None] = mapped_column(Text)
    payload_bytes: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_port_forwards_session_id", "session_id"),
        Index("ix_port_forwards_destination", "destination", "destination_port"),
    )


class ExploitAttempt(Base):
    """An exploit Cowrie recognised (e.g. the telnet NEW-ENVIRON login bypass), attempted or successful."""

    __tablename__ = "exploit_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_uid: Mapped[str] = mapped_column(key_string(32), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("session_summaries.session_id", ondelete="CASCADE"))
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    cve: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(Text)
    original_username: Mapped[str | None] = mapped_column(Text)
    attempted_command: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_exploit_attempts_session_id", "session_id"),)


# --------------------------------------------------------------------------------------------- v22 ---


class ReportDigest(Base):
    """One run of a named digest (``report --since-last NAME``): its window and what it reported."""

    __tablename__ = "report_digests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    run: Mapped[int] = mapped_column(Integer)
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)

    __table_args__ = (UniqueConstraint("name", "run", name="uq_report_digests_name"),)


# --------------------------------------------------------------------------------------------- v25 ---


class _ArtifactCounters:
    """First/last seen and counts of an artifact, recomputed from ``file_transfers`` by every ``enrich``."""

    first_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    download_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    session_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    source_ip_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class _ArtifactEnrichment:
    """Sources' answers (``enrichment``) and per-source status, fetch and expiry times (``provenance``)."""

    enrichment: Mapped[dict[str, Any]] = mapped_column(JSONType, server_default=text("'{}'"))
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONType, server_default=text("'{}'"))
    enrichment_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=NOW)


class FileInventory(_ArtifactCounters, _ArtifactEnrichment, Base):
    """One row per SHA-256 downloaded or uploaded: where and when it was seen, what it is, sources' verdicts."""

    __tablename__ = "file_inventory"

    sha256: Mapped[str] = mapped_column(key_string(64), primary_key=True)
    url_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    sensors: Mapped[list[str]] = mapped_column(JSONType, server_default=text("'[]'"))
    file_names: Mapped[list[str]] = mapped_column(JSONType, server_default=text("'[]'"))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    file_type: Mapped[str | None] = mapped_column(String(64))
    artifact_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_file_inventory_first_seen", "first_seen"),
        Index("ix_file_inventory_session_count", "session_count"),
    )


class URLInventory(_ArtifactCounters, _ArtifactEnrichment, Base):
    """One row per URL fetched (keyed by the SHA-256 of its text: URLs are unbounded attacker text)."""

    __tablename__ = "url_inventory"

    url_sha256: Mapped[str] = mapped_column(key_string(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    file_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))

    __table_args__ = (Index("ix_url_inventory_host", "host"),)


class PayloadHost(_ArtifactCounters, _ArtifactEnrichment, Base):
    """One row per host that served (or was asked for) a payload: its last DNS answer and sources' verdicts."""

    __tablename__ = "payload_hosts"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    is_address: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    url_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class PayloadHostAddress(Base):
    """An address a payload host resolved to (or is), with when; the address is an ``ip_inventory`` row."""

    __tablename__ = "payload_host_addresses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    host: Mapped[str] = mapped_column(String(255), ForeignKey("payload_hosts.host", ondelete="CASCADE"))
    ip_address: Mapped[str] = mapped_column(IPAddress(), ForeignKey("ip_inventory.ip_address"))
    first_resolved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_resolved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    asn_at_resolution: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("host", "ip_address", name="uq_payload_host_addresses_host"),
        Index("ix_payload_host_addresses_ip_address", "ip_address"),
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


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))
