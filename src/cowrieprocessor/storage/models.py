"""The ORM classes of the schema, mapped onto the Core tables of ``storage.tables`` (the one definition).

Each class maps its table (``__table__``); the annotations only type the attributes for mypy and editors (a
test keeps them equal to the table's columns). Ingestion, the tiers and the tests use these entities; the
read-only queries use ``storage.tables`` alone and never pay for importing the ORM (#21).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property
from sqlalchemy.sql.elements import ColumnElement

from cowrieprocessor.storage import tables
from cowrieprocessor.storage.tables import (  # noqa: F401 - re-exported: their home before storage.tables
    BEHAVIOUR_KEYS,
    COUNTRY_FALLBACK,
    NAMING_CONVENTION,
    NOW,
    ActiveSpan,
    BigId,
    json_path,
)


class Base(DeclarativeBase):
    metadata = tables.with_partial_indexes()  # the whole schema, as the migrations make it

    def __init_subclass__(cls, **kw: Any) -> None:
        table = cls.__dict__.get("__table__")
        if table is not None and "__tablename__" not in cls.__dict__:
            cls.__tablename__ = table.name  # as a declarative class has it (ratelimit reads it)
        super().__init_subclass__(**kw)


# --------------------------------------------------------------------------------------------- v15 ---


class SessionSummary(Base):
    """One row per Cowrie session; since v16 also the immutable time-of-attack snapshot (tier 3)."""

    __table__ = tables.session_summaries

    session_id: Mapped[str]
    sensor: Mapped[str | None]
    protocol: Mapped[str | None]
    source_ip: Mapped[str | None]
    source_port: Mapped[int | None]
    destination_ip: Mapped[str | None]
    destination_port: Mapped[int | None]
    first_event_at: Mapped[dt.datetime | None]
    last_event_at: Mapped[dt.datetime | None]
    duration_ms: Mapped[int | None]
    event_count: Mapped[int]
    client_version: Mapped[str | None]
    hassh: Mapped[str | None]
    login_attempts: Mapped[int]
    login_failures: Mapped[int]
    login_success: Mapped[bool]
    login_username: Mapped[str | None]
    password_hash: Mapped[str | None]
    command_count: Mapped[int]
    command_signature: Mapped[str | None]
    file_downloads: Mapped[int]
    file_uploads: Mapped[int]
    ssh_key_fingerprint: Mapped[str | None]
    enrichment: Mapped[dict[str, Any] | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # v16: point-in-time snapshot, written once and never changed.
    snapshot_asn: Mapped[int | None]
    snapshot_country: Mapped[str | None]
    snapshot_ip_types: Mapped[list[str] | None]
    snapshot_source: Mapped[str | None]
    enrichment_at: Mapped[dt.datetime | None]
    # v19: the client version as queries group it, whether the client spoke SSH, the credentials it tried.
    client_version_normalised: Mapped[str | None]
    client_non_ssh: Mapped[bool | None]
    credential_list_hash: Mapped[str | None]
    # v21: port forwarding and exploit attempts (ingestion.activity).
    forward_requests: Mapped[int]
    forward_bytes: Mapped[int]
    exploit_attempts: Mapped[int]
    exploit_success: Mapped[bool]


class RawEvent(Base):
    """Every event as read, byte-for-byte: ``raw_line`` is the original; ``payload`` is set only where the
    line had to be escaped to be stored as JSON (the ``raw_events_json`` view gives every event's JSON)."""

    __table__ = tables.raw_events

    id: Mapped[int]
    event_uid: Mapped[str]
    sensor: Mapped[str | None]
    session_id: Mapped[str | None]
    eventid: Mapped[str]
    event_time: Mapped[dt.datetime]
    source_ip: Mapped[str | None]
    # No foreign key to ingest_files: PostgreSQL checks one per row with a trigger, about half the server's
    # cost of a bulk load, and the only writer (ingestion) takes the id from the ingest_files row it holds.
    source_file_id: Mapped[int | None]
    source_offset: Mapped[int | None]
    payload: Mapped[dict[str, Any] | None]
    raw_line: Mapped[bytes]
    ingested_at: Mapped[dt.datetime]


class AuthAttempt(Base):
    """A login attempt (password or public key) with its outcome."""

    __table__ = tables.auth_attempts

    id: Mapped[int]
    event_uid: Mapped[str]
    session_id: Mapped[str]
    event_time: Mapped[dt.datetime]
    username: Mapped[str | None]
    password: Mapped[str | None]
    password_hash: Mapped[str | None]
    key_fingerprint: Mapped[str | None]
    success: Mapped[bool]


class CommandRecord(Base):
    """A line the attacker gave the shell, in order, and whether Cowrie knew the command."""

    __table__ = tables.commands

    id: Mapped[int]
    event_uid: Mapped[str]
    session_id: Mapped[str]
    event_time: Mapped[dt.datetime]
    sequence: Mapped[int | None]
    input: Mapped[str]
    known: Mapped[bool | None]


class FileTransfer(Base):
    """A download (URL fetch or shell redirection) or an upload (SCP/SFTP), with its outcome."""

    __table__ = tables.file_transfers

    id: Mapped[int]
    event_uid: Mapped[str]
    session_id: Mapped[str]
    event_time: Mapped[dt.datetime]
    direction: Mapped[str]
    outcome: Mapped[str]
    url: Mapped[str | None]
    shasum: Mapped[str | None]
    destfile: Mapped[str | None]
    outfile: Mapped[str | None]
    filename: Mapped[str | None]
    duplicate: Mapped[bool | None]
    error: Mapped[str | None]
    method: Mapped[str | None]


class SSHKey(Base):
    """An SSH public key seen in a session: offered for login, or planted (e.g. into authorized_keys)."""

    __table__ = tables.ssh_keys

    id: Mapped[int]
    event_uid: Mapped[str]
    session_id: Mapped[str]
    event_time: Mapped[dt.datetime]
    key_type: Mapped[str]
    key_data: Mapped[str]
    key_comment: Mapped[str | None]
    fingerprint_sha256: Mapped[str]
    fingerprint_md5: Mapped[str | None]
    how_seen: Mapped[str]


class IngestFile(Base):
    """A log file's identity and byte checkpoint, so growth is read incrementally and copies are known."""

    __table__ = tables.ingest_files

    id: Mapped[int]
    path: Mapped[str]
    identity: Mapped[str]
    compression: Mapped[str]
    size_bytes: Mapped[int]
    offset_bytes: Mapped[int]
    pending_tail: Mapped[bytes | None]
    #: SHA-256 of the bytes just before ``offset_bytes`` (v20): a rewritten file is not taken as grown.
    checkpoint_hash: Mapped[str | None]
    events: Mapped[int]
    dead_letters: Mapped[int]
    first_ingested_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class DeadLetter(Base):
    """Input that could not be read as an event, kept whole with why and where, to fix and re-drive."""

    __table__ = tables.dead_letters

    id: Mapped[int]
    source_file_id: Mapped[int | None]
    source_path: Mapped[str | None]
    source_offset: Mapped[int | None]
    reason: Mapped[str]
    detail: Mapped[str | None]
    raw: Mapped[bytes]
    status: Mapped[str]
    created_at: Mapped[dt.datetime]
    redriven_at: Mapped[dt.datetime | None]


# --------------------------------------------------------------------------------------------- v16 ---


class ASNInventory(Base):
    """Tier 1: one row per autonomous system - the organisation behind the addresses."""

    __table__ = tables.asn_inventory

    asn_number: Mapped[int]
    organization_name: Mapped[str | None]
    organization_country: Mapped[str | None]
    rir_registry: Mapped[str | None]
    asn_type: Mapped[str | None]
    is_known_hosting: Mapped[bool]
    is_known_vpn: Mapped[bool]
    first_seen: Mapped[dt.datetime | None]
    last_seen: Mapped[dt.datetime | None]
    unique_ip_count: Mapped[int]
    total_session_count: Mapped[int]
    enrichment: Mapped[dict[str, Any] | None]
    enrichment_updated_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class IPInventory(Base):
    """Tier 2: one row per source IP - its current enrichment, per-source provenance and counters."""

    __table__ = tables.ip_inventory

    ip_address: Mapped[str]
    current_asn: Mapped[int | None]
    asn_last_verified: Mapped[dt.datetime | None]
    enrichment: Mapped[dict[str, Any]]
    provenance: Mapped[dict[str, Any]]
    enrichment_updated_at: Mapped[dt.datetime | None]
    first_seen: Mapped[dt.datetime | None]
    last_seen: Mapped[dt.datetime | None]
    session_count: Mapped[int]
    claimed_by: Mapped[str | None]
    claimed_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # Generated from ``enrichment`` by the database; the hybrids below compute the same in Python.
    geo_country_stored: Mapped[str] = column_property(tables.ip_inventory.c.geo_country)
    ip_types_stored: Mapped[list[str]] = column_property(tables.ip_inventory.c.ip_types)
    is_scanner_stored: Mapped[bool] = column_property(tables.ip_inventory.c.is_scanner)
    is_bogon_stored: Mapped[bool] = column_property(tables.ip_inventory.c.is_bogon)

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

    __table__ = tables.ip_asn_history

    id: Mapped[int]
    ip_address: Mapped[str]
    asn_number: Mapped[int]
    valid_from: Mapped[dt.datetime]
    valid_until: Mapped[dt.datetime | None]
    observed_by: Mapped[str | None]
    created_at: Mapped[dt.datetime]


class ProviderCall(Base):
    """The ledger: one row per call to (or decision not to call) an enrichment source."""

    __table__ = tables.provider_calls

    id: Mapped[int]
    source: Mapped[str]
    lookup_key: Mapped[str]
    called_at: Mapped[dt.datetime]
    duration_ms: Mapped[float | None]
    outcome: Mapped[str]
    http_status: Mapped[int | None]
    error_class: Mapped[str | None]
    batch_size: Mapped[int]


class MigrationBaseline(Base):
    """Metrics recorded before a schema upgrade, so ``db verify`` can prove nothing was lost."""

    __table__ = tables.migration_baseline

    id: Mapped[int]
    metric: Mapped[str]
    value: Mapped[int]
    from_revision: Mapped[str | None]
    recorded_at: Mapped[dt.datetime]


# --------------------------------------------------------------------------------------------- v17 ---


class ProviderBudgetUsage(Base):
    """Calls reserved against a source's daily budget, per UTC day: the one counter every process on the
    database spends from (a per-process count let N processes make N times the budget)."""

    __table__ = tables.provider_budget_usage

    source: Mapped[str]
    day: Mapped[dt.date]
    used: Mapped[int]


# --------------------------------------------------------------------------------------------- v21 ---


class PortForward(Base):
    """An SSH port-forwarding (``direct-tcpip``) request or the payload sent through it: the honeypot used as
    a proxy. ``destination`` is text, not an address: clients may ask for a host name."""

    __table__ = tables.port_forwards

    id: Mapped[int]
    event_uid: Mapped[str]
    session_id: Mapped[str]
    event_time: Mapped[dt.datetime]
    kind: Mapped[str]
    destination: Mapped[str | None]
    destination_port: Mapped[int | None]
    origin_ip: Mapped[str | None]
    origin_port: Mapped[int | None]
    payload: Mapped[str | None]
    payload_bytes: Mapped[int | None]


class ExploitAttempt(Base):
    """An exploit Cowrie recognised (e.g. the telnet NEW-ENVIRON login bypass), attempted or successful."""

    __table__ = tables.exploit_attempts

    id: Mapped[int]
    event_uid: Mapped[str]
    session_id: Mapped[str]
    event_time: Mapped[dt.datetime]
    outcome: Mapped[str]
    cve: Mapped[str | None]
    name: Mapped[str | None]
    value: Mapped[str | None]
    username: Mapped[str | None]
    original_username: Mapped[str | None]
    attempted_command: Mapped[str | None]


# --------------------------------------------------------------------------------------------- v22 ---


class ReportDigest(Base):
    """One run of a named digest (``report --since-last NAME``): its window and what it reported."""

    __table__ = tables.report_digests

    id: Mapped[int]
    name: Mapped[str]
    run: Mapped[int]
    since: Mapped[dt.datetime]
    until: Mapped[dt.datetime]
    body: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]


# --------------------------------------------------------------------------------------------- v24 ---


class AlertWatermark(Base):
    """Where an alert rule stopped (event time): its next evaluation starts there, so nothing is found twice."""

    __table__ = tables.alert_watermarks

    rule: Mapped[str]
    until: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class AlertOutbox(Base):
    """One alert for one destination, recorded before it is sent, with its delivery state (``alerts``)."""

    __table__ = tables.alert_outbox

    id: Mapped[int]
    alert_id: Mapped[str]
    destination: Mapped[str]
    rule: Mapped[str]
    kind: Mapped[str]
    subject: Mapped[str]
    details: Mapped[dict[str, Any]]
    seen_at: Mapped[dt.datetime | None]
    status: Mapped[str]
    attempts: Mapped[int]
    next_attempt_at: Mapped[dt.datetime]
    claimed_by: Mapped[str | None]
    claimed_until: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None]
    created_at: Mapped[dt.datetime]


# --------------------------------------------------------------------------------------------- v25 ---


class _ArtifactColumns:
    """First/last seen and counts (recomputed from ``file_transfers``), sources' answers and provenance."""

    first_seen: Mapped[dt.datetime | None]
    last_seen: Mapped[dt.datetime | None]
    download_count: Mapped[int]
    session_count: Mapped[int]
    source_ip_count: Mapped[int]
    enrichment: Mapped[dict[str, Any]]
    provenance: Mapped[dict[str, Any]]
    enrichment_updated_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class FileInventory(_ArtifactColumns, Base):
    """One row per SHA-256 downloaded or uploaded: where and when it was seen, what it is, sources' verdicts."""

    __table__ = tables.file_inventory

    sha256: Mapped[str]
    url_count: Mapped[int]
    sensors: Mapped[list[str]]
    file_names: Mapped[list[str]]
    size_bytes: Mapped[int | None]
    file_type: Mapped[str | None]
    artifact_checked_at: Mapped[dt.datetime | None]


class URLInventory(_ArtifactColumns, Base):
    """One row per URL fetched (keyed by the SHA-256 of its text: URLs are unbounded attacker text)."""

    __table__ = tables.url_inventory

    url_sha256: Mapped[str]
    url: Mapped[str]
    host: Mapped[str | None]
    file_count: Mapped[int]


class PayloadHost(_ArtifactColumns, Base):
    """One row per host that served (or was asked for) a payload: its last DNS answer and sources' verdicts."""

    __table__ = tables.payload_hosts

    host: Mapped[str]
    is_address: Mapped[bool]
    url_count: Mapped[int]
    resolved_at: Mapped[dt.datetime | None]
    resolution: Mapped[dict[str, Any] | None]


class PayloadHostAddress(Base):
    """An address a payload host resolved to (or is), with when; the address is an ``ip_inventory`` row."""

    __table__ = tables.payload_host_addresses

    id: Mapped[int]
    host: Mapped[str]
    ip_address: Mapped[str]
    first_resolved_at: Mapped[dt.datetime]
    last_resolved_at: Mapped[dt.datetime]
    asn_at_resolution: Mapped[int | None]


# --------------------------------------------------------------------------------------------- v26 ---


class FollowStatus(Base):
    """The last word of each ``follow`` process, by name: ``follow --status`` reads it from another process."""

    __table__ = tables.follow_status

    name: Mapped[str]
    worker: Mapped[str]
    state: Mapped[str]
    started_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    last_batch_at: Mapped[dt.datetime | None]
    body: Mapped[dict[str, Any]]


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))
