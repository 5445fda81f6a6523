"""Freshness of what the report stands on: the enrichment sources of the period's IPs (provenance expiry,
the ledger's calls), the period's snapshot coverage, sensors' last sessions, ingested files and the data's dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, Select, bindparam, case, func, select, true

from cowrieprocessor.analysis.provenance import entry_field, provenance_entries, stale_where
from cowrieprocessor.analysis.sql import ASNS, IPS, SESSIONS, dialect_of, fetch, per_dialect
from cowrieprocessor.clock import stored_time
from cowrieprocessor.report.period import Period
from cowrieprocessor.report.sql import CALLS, INGEST_FILES, in_period


@per_dialect
def _calls_statement(dialect: str) -> Select[Any]:
    c = CALLS.c
    return (
        select(
            c.source,
            func.count().label("calls"),
            func.sum(case((c.outcome.in_(("found", "not_found")), 1), else_=0)).label("answered"),
            func.sum(case((c.outcome.in_(("error", "rate_limited")), 1), else_=0)).label("errors"),
            func.max(c.called_at).label("last_call"),
        )
        .group_by(c.source)
        .order_by(c.source)
    )


@per_dialect
def _inventory_statement(dialect: str) -> Select[Any]:
    i = IPS.c
    ips = select(
        func.count().label("ips"),
        func.count(i.enrichment_updated_at).label("ips_enriched"),
        func.max(i.enrichment_updated_at).label("last_enrichment"),
    ).subquery()
    asns = select(func.count().label("asns"), func.count(ASNS.c.asn_type).label("asns_typed")).subquery()
    return select(ips, asns).select_from(ips.join(asns, true()))


@per_dialect
def _snapshots_statement(dialect: str, sensors: bool) -> Select[Any]:
    s = SESSIONS.c
    source = func.coalesce(s.snapshot_source, "none yet")
    return (
        select(source.label("snapshot_source"), func.count().label("sessions"))
        .where(*in_period(sensors))
        .group_by(source)
        .order_by(func.count().desc(), source)
    )


@per_dialect
def _sensors_statement(dialect: str, sensors: bool) -> Select[Any]:
    """Sensors of this period and the previous one: a sensor silent in this period still shows, with its
    last session before it (an all-time scan of every session would cost more than the rest together)."""
    s = SESSIONS.c
    return (
        select(
            s.sensor,
            func.sum(case((s.first_event_at >= bindparam("now_since"), 1), else_=0)).label("sessions"),
            func.min(s.first_event_at).label("first_session"),
            func.max(s.first_event_at).label("last_session"),
        )
        .where(*in_period(sensors))
        .group_by(s.sensor)
        .order_by(func.max(s.first_event_at).desc(), s.sensor)
    )


@per_dialect
def _files_statement(dialect: str) -> Select[Any]:
    f = INGEST_FILES.c
    return select(
        func.count().label("files"),
        func.coalesce(func.sum(f.events), 0).label("events"),
        func.coalesce(func.sum(f.dead_letters), 0).label("dead_letters"),
        func.max(f.updated_at).label("last_ingest"),
    )


def _freshness_statement(dialect: str, sensors: bool, as_of: dt.datetime) -> Select[Any]:
    """Per source, the provenance of the period's IPs: how many it answered for, how many of those answers
    are stale by the TTLs in force (``analysis.inventory``'s rule, as ``query stale`` and ``enrich
    --refresh-stale`` judge), the earliest recorded expiry. Only the IPs behind this report are read."""
    entry = provenance_entries(dialect)
    ips = select(SESSIONS.c.source_ip).where(*in_period(sensors)).distinct()
    expired = case((stale_where(dialect, entry, None, as_of), 1), else_=0)
    return (
        select(
            entry.c.key.label("source"),
            func.count().label("ips"),
            func.sum(expired).label("expired"),
            func.min(entry_field(dialect, entry, "expires_at")).label("oldest_expiry"),
        )
        .select_from(IPS.join(entry, true()))
        .where(IPS.c.ip_address.in_(ips))
        .group_by(entry.c.key)
        .order_by(entry.c.key)
    )


@per_dialect
def _never_statement(dialect: str, sensors: bool) -> Select[Any]:
    s, i = SESSIONS.c, IPS.c
    ips = select(s.source_ip).where(*in_period(sensors)).distinct()
    return select(func.count().label("n")).where(i.ip_address.in_(ips), i.enrichment_updated_at.is_(None))


def sources(engine: Engine, period: Period, *, as_of: dt.datetime) -> dict[str, Any]:
    dialect, sensors, params = dialect_of(engine), bool(period.sensors), period.params()
    fresh = {r["source"]: r for r in fetch(engine, _freshness_statement(dialect, sensors, as_of), params)}
    calls = fetch(engine, _calls_statement(dialect), {})
    by_source = {r["source"]: r for r in calls}
    rows = [
        {
            "source": name,
            "ips": int(fresh[name]["ips"]) if name in fresh else 0,
            "expired": int(fresh[name]["expired"]) if name in fresh else 0,
            "oldest_expiry": stored_time(fresh[name]["oldest_expiry"]) if name in fresh else None,
            **{k: by_source.get(name, {}).get(k) for k in ("calls", "answered", "errors", "last_call")},
        }
        for name in sorted({*fresh, *by_source})
    ]
    return {
        "sources": rows,
        "never_enriched": int(fetch(engine, _never_statement(dialect, sensors), params)[0]["n"]),
        "inventory": fetch(engine, _inventory_statement(dialect), {})[0],
        "snapshots": fetch(engine, _snapshots_statement(dialect, sensors), params),
        "sensors": fetch(
            engine,
            _sensors_statement(dialect, sensors),
            {**params, "since": period.previous.since, "now_since": period.since},
        ),
        "files": fetch(engine, _files_statement(dialect), {})[0],
    }
