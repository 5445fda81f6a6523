"""Freshness of what the report stands on: enrichment sources (provenance expiry, last calls), the
period's snapshot coverage, sensors' last sessions, ingested files and the data's dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, Select, case, func, select, true

from cowrieprocessor import analysis
from cowrieprocessor.analysis.sql import ASNS, IPS, SESSIONS, dialect_of, fetch, per_dialect
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
def _sensors_statement(dialect: str) -> Select[Any]:
    s = SESSIONS.c
    return (
        select(
            s.sensor,
            func.count().label("sessions"),
            func.min(s.first_event_at).label("first_session"),
            func.max(s.first_event_at).label("last_session"),
        )
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


def sources(engine: Engine, period: Period, *, as_of: dt.datetime) -> dict[str, Any]:
    dialect = dialect_of(engine)
    stale = {r.source: r for r in analysis.stale(engine, as_of=as_of) if r.tier == "ip"}
    calls = fetch(engine, _calls_statement(dialect), {})
    names = sorted({*(r["source"] for r in calls), *(s for s in stale if s != "never")})
    by_source = {r["source"]: r for r in calls}
    rows = [
        {
            "source": name,
            "expired": stale[name].count if name in stale else 0,
            "oldest_expiry": stale[name].oldest_expiry if name in stale else None,
            **{k: by_source.get(name, {}).get(k) for k in ("calls", "answered", "errors", "last_call")},
        }
        for name in names
    ]
    return {
        "sources": rows,
        "never_enriched": stale["never"].count if "never" in stale else 0,
        "inventory": fetch(engine, _inventory_statement(dialect), {})[0],
        "snapshots": fetch(engine, _snapshots_statement(dialect, bool(period.sensors)), period.params()),
        "sensors": fetch(engine, _sensors_statement(dialect), {}),
        "files": fetch(engine, _files_statement(dialect), {})[0],
    }
