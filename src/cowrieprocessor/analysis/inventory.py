"""Questions the inventories answer alone, with no session scan: ASNs, persistent IPs, movements, staleness."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Engine,
    Float,
    Integer,
    Interval,
    Select,
    bindparam,
    case,
    cast,
    distinct,
    func,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from cowrieprocessor.analysis.provenance import entry_field, freshness_policy, provenance_entries, stale_where
from cowrieprocessor.analysis.sql import ASNS, HISTORY, IPS, dialect_of, fetch, per_dialect, utc
from cowrieprocessor.clock import stored_time
from cowrieprocessor.tiers.freshness import EXPIRING, format_time

if TYPE_CHECKING:
    from cowrieprocessor.tiers.ttls import TTLs


@dataclass(frozen=True)
class AsnRow:
    asn: int
    organization_name: str | None
    organization_country: str | None
    asn_type: str | None
    is_known_hosting: bool
    is_known_vpn: bool
    total_session_count: int
    unique_ip_count: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None


@dataclass(frozen=True)
class AsnTypeRow:
    asn_type: str | None
    asns: int
    sessions: int
    ips: int
    avg_sessions_per_asn: float


@dataclass(frozen=True)
class PersistentIPRow:
    ip: str
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    active_days: float
    session_count: int
    current_asn: int | None
    geo_country: str | None
    ip_types: list[str] | None
    is_scanner: bool


@dataclass(frozen=True)
class MovementRow:
    """One ASN window of an IP that has been in more than one ASN; ``valid_until`` None = current."""

    ip: str
    asn: int
    organization_name: str | None
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    observed_by: str | None


@dataclass(frozen=True)
class StaleRow:
    """How many rows need re-enrichment from ``source`` (``never`` = never enriched at all)."""

    tier: str
    source: str
    count: int
    oldest_expiry: dt.datetime | None


@dataclass(frozen=True)
class StaleIPRow:
    ip: str
    source: str
    status: str | None
    fetched_at: str | None
    expires_at: str | None
    last_seen: dt.datetime | None
    session_count: int


# ------------------------------------------------------------------------------------------- ASNs ---

_ASN_FILTERS = {"asn_type": ASNS.c.asn_type, "country": ASNS.c.organization_country}


@per_dialect
def _top_asns_statement(dialect: str, active: frozenset[str]) -> Select[Any]:
    a = ASNS.c
    stmt = select(
        a.asn_number.label("asn"),
        a.organization_name,
        a.organization_country,
        a.asn_type,
        a.is_known_hosting,
        a.is_known_vpn,
        a.total_session_count,
        a.unique_ip_count,
        a.first_seen,
        a.last_seen,
    )
    for name in sorted(active):
        stmt = stmt.where(_ASN_FILTERS[name] == bindparam(name))
    return stmt.order_by(a.total_session_count.desc(), a.asn_number).limit(bindparam("limit"))


def top_asns(
    engine: Engine, *, limit: int = 20, asn_type: str | None = None, country: str | None = None
) -> list[AsnRow]:
    """The ASNs with the most sessions, from the ASN inventory's counters (no session scan)."""
    params = {"asn_type": asn_type, "country": country.upper() if country else None}
    active = {k: v for k, v in params.items() if v is not None}
    stmt = _top_asns_statement(dialect_of(engine), frozenset(active))
    return [AsnRow(**r) for r in fetch(engine, stmt, {**active, "limit": limit})]


@per_dialect
def _asn_types_statement(dialect: str) -> Select[Any]:
    a = ASNS.c
    sessions = func.coalesce(func.sum(a.total_session_count), 0)
    return (
        select(
            a.asn_type,
            func.count().label("asns"),
            cast(sessions, Integer).label("sessions"),
            cast(func.coalesce(func.sum(a.unique_ip_count), 0), Integer).label("ips"),
            cast(func.avg(a.total_session_count), Float).label("avg_sessions_per_asn"),
        )
        .group_by(a.asn_type)
        .order_by(sessions.desc(), a.asn_type)
    )


def asn_types(engine: Engine) -> list[AsnTypeRow]:
    """Hosting vs ISP vs ...: ASNs, sessions and IPs per ASN type (None = not classified yet)."""
    rows = fetch(engine, _asn_types_statement(dialect_of(engine)), {})
    return [AsnTypeRow(**{**r, "sessions": int(r["sessions"]), "ips": int(r["ips"])}) for r in rows]


# -------------------------------------------------------------------------------------------- IPs ---


@per_dialect
def _persistent_statement(dialect: str) -> Select[Any]:
    """Filter and sort on exactly the expression of ``ix_ip_inventory_active_span`` (migration v16), so the
    index serves both: ``last_seen - first_seen`` on PostgreSQL, the difference of Julian days on SQLite."""
    i = IPS.c
    if dialect == "postgresql":
        span: ColumnElement[Any] = i.last_seen - i.first_seen
        condition = span >= bindparam("min_span", type_=Interval())
        active_days: ColumnElement[Any] = cast(func.extract("epoch", span) / 86400.0, Float)
    else:
        span = func.julianday(i.last_seen) - func.julianday(i.first_seen)
        condition = span >= bindparam("min_days", type_=Float)
        active_days = cast(span, Float)
    return (
        select(
            i.ip_address.label("ip"),
            i.first_seen,
            i.last_seen,
            active_days.label("active_days"),
            i.session_count,
            i.current_asn,
            i.geo_country,
            i.ip_types,
            i.is_scanner,
        )
        .where(condition)
        .order_by(span.desc(), i.ip_address)
        .limit(bindparam("limit"))
    )


def persistent_ips(engine: Engine, *, min_days: float, limit: int = 100) -> list[PersistentIPRow]:
    """IPs whose activity in our data (first to last session) spans at least ``min_days`` days."""
    stmt = _persistent_statement(dialect_of(engine))
    params = {"min_days": float(min_days), "min_span": dt.timedelta(days=min_days), "limit": limit}
    return [PersistentIPRow(**r) for r in fetch(engine, stmt, params)]


@per_dialect
def _movements_statement(dialect: str, active: frozenset[str]) -> Select[Any]:
    h, a = HISTORY.c, ASNS.c
    moved = select(h.ip_address, func.max(h.valid_from).label("last_change")).group_by(h.ip_address)
    having = [func.count(distinct(h.asn_number)) > 1]
    if "ip" in active:
        moved = moved.where(h.ip_address == bindparam("ip"))
    if "asn" in active:
        having.append(func.sum(case((h.asn_number == bindparam("asn"), 1), else_=0)) > 0)
    moved_cte = (
        moved.having(*having)
        .order_by(func.max(h.valid_from).desc(), h.ip_address)
        .limit(bindparam("limit"))
        .cte("moved")
    )
    m = moved_cte.c
    return (
        select(
            h.ip_address.label("ip"),
            h.asn_number.label("asn"),
            a.organization_name,
            h.valid_from,
            h.valid_until,
            h.observed_by,
        )
        .select_from(
            moved_cte.join(HISTORY, h.ip_address == m.ip_address).outerjoin(ASNS, a.asn_number == h.asn_number)
        )
        .order_by(m.last_change.desc(), h.ip_address, h.valid_from)
    )


def movements(engine: Engine, *, limit: int = 100, ip: str | None = None, asn: int | None = None) -> list[MovementRow]:
    """IPs seen in more than one ASN, latest change first, each with all its windows (``limit`` IPs)."""
    address = None if ip is None else str(ipaddress.ip_address(ip))
    active = {k: v for k, v in {"ip": address, "asn": asn}.items() if v is not None}
    stmt = _movements_statement(dialect_of(engine), frozenset(active))
    return [MovementRow(**r) for r in fetch(engine, stmt, {**active, "limit": limit})]


# -------------------------------------------------------------------------------------- staleness ---


def stale(engine: Engine, *, as_of: dt.datetime | None = None, freshness: TTLs | None = None) -> list[StaleRow]:
    """What needs re-enrichment: per source, IPs whose answer is stale under ``freshness`` (the TTLs in
    force; default settings when not given); plus IPs and ASNs never enriched at all."""
    dialect, moment = dialect_of(engine), utc(as_of) or dt.datetime.now(dt.UTC)
    policy = freshness_policy(freshness)
    entry = provenance_entries(dialect)
    fields = [entry_field(dialect, entry, name) for name in ("class", "status")]
    stmt = (
        select(
            entry.c.key.label("source"),
            fields[0].label("ip_class"),
            fields[1].label("status"),
            func.count().label("count"),
            func.min(entry_field(dialect, entry, "fetched_at")).label("fetched"),
            func.min(entry_field(dialect, entry, "expires_at")).label("expires"),
        )
        .select_from(IPS.join(entry, true()))
        .where(stale_where(dialect, entry, freshness, moment))
        .group_by(entry.c.key, *fields)
    )
    counts: dict[str, int] = {}
    oldest: dict[str, dt.datetime | None] = {}
    for r in fetch(engine, stmt, {}):
        source = str(r["source"])
        counts[source] = counts.get(source, 0) + int(r["count"])
        expiry = stored_time(r["expires"])
        ttl = policy.ttl(source, str(r["ip_class"])) if r["ip_class"] in EXPIRING and r["status"] != "error" else None
        fetched = stored_time(r["fetched"])
        if ttl is not None and fetched is not None:
            expiry = fetched + ttl
        if expiry is not None and (oldest.get(source) is None or expiry < oldest[source]):  # type: ignore[operator]
            oldest[source] = expiry
    rows = [
        StaleRow("ip", source, count, oldest.get(source))
        for source, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    never = fetch(engine, _never_enriched_statement(dialect), {})[0]
    rows.append(StaleRow("ip", "never", int(never["ips"]), None))
    rows.append(StaleRow("asn", "never", int(never["asns"]), None))
    return rows


@per_dialect
def _never_enriched_statement(dialect: str) -> Select[Any]:
    ips = select(func.count()).select_from(IPS).where(IPS.c.enrichment_updated_at.is_(None))
    asns = select(func.count()).select_from(ASNS).where(ASNS.c.enrichment_updated_at.is_(None))
    return select(ips.scalar_subquery().label("ips"), asns.scalar_subquery().label("asns"))


def stale_ips(
    engine: Engine,
    source: str,
    *,
    as_of: dt.datetime | None = None,
    limit: int = 100,
    freshness: TTLs | None = None,
) -> list[StaleIPRow]:
    """The IPs to refresh from one source under the TTLs in force, most recently active first;
    ``expires_at`` is when today's TTL made (or makes) the answer stale."""
    dialect, moment = dialect_of(engine), utc(as_of) or dt.datetime.now(dt.UTC)
    policy = freshness_policy(freshness)
    entry = provenance_entries(dialect)
    i = IPS.c
    stmt = (
        select(
            i.ip_address.label("ip"),
            entry.c.key.label("source"),
            entry_field(dialect, entry, "status").label("status"),
            entry_field(dialect, entry, "fetched_at").label("fetched_at"),
            entry_field(dialect, entry, "expires_at").label("expires_at"),
            entry_field(dialect, entry, "class").label("ip_class"),
            i.last_seen,
            i.session_count,
        )
        .select_from(IPS.join(entry, true()))
        .where(entry.c.key == source)
        .where(stale_where(dialect, entry, freshness, moment))
        .order_by(i.last_seen.desc(), i.ip_address)
        .limit(limit)
    )
    rows = []
    for r in fetch(engine, stmt, {}):
        ip_class = r.pop("ip_class")
        fetched = stored_time(r["fetched_at"])
        ttl = policy.ttl(source, str(ip_class)) if ip_class in EXPIRING and r["status"] != "error" else None
        if ttl is not None and fetched is not None:
            r["expires_at"] = format_time(fetched + ttl)
        rows.append(StaleIPRow(**r))
    return rows
