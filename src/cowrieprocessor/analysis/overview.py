"""What a database holds, in one call: the first question of anyone handed one.

Counts of every tier, the time span, per-sensor activity, the busiest key of each behaviour kind, the top
ASNs, and each enrichment source with how many IPs it has answered for, when last, and how many are due
again. Every figure is one aggregate query (a few scan the sessions once): meant for a look, not a loop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Select, distinct, func, select, true

from cowrieprocessor.analysis.campaigns import KeyRow, top_keys
from cowrieprocessor.analysis.inventory import AsnRow, stale, top_asns
from cowrieprocessor.analysis.provenance import entry_field, provenance_entries
from cowrieprocessor.analysis.sql import ASNS, IPS, RAW, SESSIONS, dialect_of, fetch, per_dialect
from cowrieprocessor.kinds import By
from cowrieprocessor.storage.tables import metadata

if TYPE_CHECKING:
    from cowrieprocessor.tiers.ttls import TTLs

DEAD = metadata.tables["dead_letters"]
FILES = metadata.tables["ingest_files"]


@dataclass(frozen=True)
class SensorRow:
    sensor: str | None
    sessions: int
    ips: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None


@dataclass(frozen=True)
class SourceRow:
    """An enrichment source as the IP inventory records it (provenance), and how many IPs are due again."""

    source: str
    ips: int
    last_fetched: str | None
    due: int


@dataclass(frozen=True)
class Overview:
    first_event: dt.datetime | None
    last_event: dt.datetime | None
    sensors: int
    events: int
    files: int
    sessions: int
    sessions_with_login: int
    sessions_snapshotted: int
    ips: int
    ips_enriched: int
    asns: int
    dead_letters: dict[str, int]
    port_forward_requests: int
    exploit_attempts: int
    per_sensor: list[SensorRow] = field(default_factory=list)
    busiest: dict[str, list[KeyRow]] = field(default_factory=dict)
    top_asns: list[AsnRow] = field(default_factory=list)
    sources: list[SourceRow] = field(default_factory=list)


_TIMES = ("first_event", "last_event")


def _count(table: Any, *where: Any) -> Any:
    return select(func.count()).select_from(table).where(*where).scalar_subquery()


@per_dialect
def _totals_statement(dialect: str) -> Select[Any]:
    s = SESSIONS.c
    return select(
        func.min(s.first_event_at).label("first_event"),
        func.max(func.coalesce(s.last_event_at, s.first_event_at)).label("last_event"),
        func.count(distinct(s.sensor)).label("sensors"),
        func.count().label("sessions"),
        func.count().filter(s.login_success == true()).label("sessions_with_login"),
        func.count(s.enrichment_at).label("sessions_snapshotted"),
        func.coalesce(func.sum(s.forward_requests), 0).label("port_forward_requests"),
        func.coalesce(func.sum(s.exploit_attempts), 0).label("exploit_attempts"),
    )


@per_dialect
def _inventory_statement(dialect: str) -> Select[Any]:
    return select(
        _count(RAW).label("events"),
        _count(FILES).label("files"),
        _count(IPS).label("ips"),
        _count(IPS, IPS.c.enrichment_updated_at.is_not(None)).label("ips_enriched"),
        _count(ASNS).label("asns"),
    )


@per_dialect
def _dead_statement(dialect: str) -> Select[Any]:
    return select(DEAD.c.status, func.count().label("n")).group_by(DEAD.c.status).order_by(DEAD.c.status)


@per_dialect
def _sensors_statement(dialect: str) -> Select[Any]:
    s = SESSIONS.c
    return (
        select(
            s.sensor,
            func.count().label("sessions"),
            func.count(distinct(s.source_ip)).label("ips"),
            func.min(s.first_event_at).label("first_seen"),
            func.max(func.coalesce(s.last_event_at, s.first_event_at)).label("last_seen"),
        )
        .group_by(s.sensor)
        .order_by(func.count().desc(), s.sensor)
    )


@per_dialect
def _sources_statement(dialect: str) -> Select[Any]:
    entry = provenance_entries(dialect)
    fetched = entry_field(dialect, entry, "fetched_at")
    return (
        select(entry.c.key.label("source"), func.count().label("ips"), func.max(fetched).label("last_fetched"))
        .select_from(IPS.join(entry, true()))
        .group_by(entry.c.key)
        .order_by(func.count().desc(), entry.c.key)
    )


def overview(
    engine: Engine,
    *,
    busiest: int = 3,
    asns: int = 5,
    as_of: dt.datetime | None = None,
    freshness: TTLs | None = None,
) -> Overview:
    """The whole database at a glance; ``busiest`` keys per behaviour kind, ``asns`` top ASNs; what is due
    for re-enrichment by the TTLs in force (``freshness``; ``None``: the defaults)."""
    dialect = dialect_of(engine)
    totals = fetch(engine, _totals_statement(dialect), {})[0]
    inventory = fetch(engine, _inventory_statement(dialect), {})[0]
    dead = {r["status"]: int(r["n"]) for r in fetch(engine, _dead_statement(dialect), {})}
    due = {
        r.source: r.count
        for r in stale(engine, as_of=as_of, freshness=freshness)
        if r.tier == "ip" and r.source != "never"
    }
    sources = [
        SourceRow(r["source"], int(r["ips"]), r["last_fetched"], due.get(r["source"], 0))
        for r in fetch(engine, _sources_statement(dialect), {})
    ]
    counts: dict[str, Any] = {k: int(v) for k, v in (totals | inventory).items() if k not in _TIMES}
    return Overview(
        first_event=totals["first_event"],
        last_event=totals["last_event"],
        **counts,
        dead_letters=dead,
        per_sensor=[SensorRow(**r) for r in fetch(engine, _sensors_statement(dialect), {})],
        busiest={by.value: top_keys(engine, by, limit=busiest) for by in By} if busiest else {},
        top_asns=top_asns(engine, limit=asns) if asns else [],
        sources=sources,
    )  # fmt: skip
