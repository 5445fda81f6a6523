"""Everything one report shows, gathered from the database into plain values (``build_report``)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Select, bindparam, distinct, event, func, select

from cowrieprocessor import __version__
from cowrieprocessor.analysis.sql import IPS, SESSIONS, dialect_of, fetch, per_dialect
from cowrieprocessor.report import activity, charts
from cowrieprocessor.report.campaigns import KINDS, Campaign, top_campaigns
from cowrieprocessor.report.details import details
from cowrieprocessor.report.networks import networks
from cowrieprocessor.report.payloads import payload_hosts
from cowrieprocessor.report.period import Period
from cowrieprocessor.report.sources import sources
from cowrieprocessor.report.sql import in_period, period_first
from cowrieprocessor.storage import schema

TOP_ASN_SERIES = 6
ASN_INDEX = 100
#: PostgreSQL settings of the report's statements, local to each of their (read-only) transactions: no JIT
#: compilation (about 0.1 s per statement, more than it saves on these), and the memory to sort and hash a
#: month of sessions without spilling to temporary files.
PG_SETTINGS = {"jit": "off", "work_mem": "64MB"}


@dataclass
class Report:
    period: Period
    generated_at: dt.datetime
    backend: str
    revision: str | None
    version: str
    totals: dict[str, Any]
    previous_totals: dict[str, Any]
    headlines: list[activity.Headline]
    activity: dict[str, charts.Chart]
    networks: dict[str, Any]
    campaigns: dict[str, Any]
    details: dict[str, Any]
    sources: dict[str, Any]
    charts: dict[str, charts.Chart]
    asn_index: list[dict[str, Any]] = field(default_factory=list)
    ip_index: list[dict[str, Any]] = field(default_factory=list)
    payloads: dict[str, Any] = field(default_factory=dict)  # report.payloads: the period's payload hosts
    kinds: dict[str, str] = field(default_factory=lambda: dict(KINDS))
    seconds: float = 0.0

    def asn_anchor(self, asn: Any) -> str | None:
        return f"asn-{int(asn)}" if asn is not None and int(asn) in self._asn_ids else None

    def ip_anchor(self, ip: Any) -> str | None:
        return ip_id(str(ip)) if ip is not None and str(ip) in self._ip_ids else None

    def __post_init__(self) -> None:
        self._asn_ids = {int(r["asn"]) for r in self.asn_index if r["asn"] is not None}
        self._ip_ids = {str(r["ip"]) for r in self.ip_index}


def ip_id(ip: str) -> str:
    """A fragment id for an address (validated INET text: digits, hex letters, dots and colons)."""
    return "ip-" + "".join(ch if ch.isalnum() else "-" for ch in ip)


@per_dialect
def _ip_index_statement(dialect: str, sensors: bool) -> Select[Any]:
    s, i = SESSIONS.c, IPS.c
    return (
        select(
            s.source_ip.label("ip"),
            func.count().label("sessions"),
            func.count(distinct(s.snapshot_asn)).label("asns_then"),
            func.min(s.snapshot_asn).label("asn_then"),
            func.min(s.snapshot_country).label("country_then"),
            i.current_asn.label("asn_now"),
            i.geo_country.label("country_now"),
            func.min(s.first_event_at).label("first_seen"),
            func.max(s.first_event_at).label("last_seen"),
        )
        .select_from(SESSIONS.outerjoin(IPS, i.ip_address == s.source_ip))
        .where(*in_period(sensors), period_first(dialect, s.source_ip).in_(bindparam("ips", expanding=True)))
        .group_by(s.source_ip, i.current_asn, i.geo_country)
        .order_by(func.count().desc(), s.source_ip)
    )


@per_dialect
def _top_ips_statement(dialect: str, sensors: bool) -> Select[Any]:
    s = SESSIONS.c
    return (
        select(s.source_ip.label("ip"))
        .where(*in_period(sensors), s.source_ip.is_not(None))
        .group_by(s.source_ip)
        .order_by(func.count().desc(), s.source_ip)
        .limit(50)
    )


def build_report(engine: Engine, period: Period, *, now: dt.datetime | None = None) -> Report:
    """Run every query of the report for ``period`` (and the previous period of the same length)."""
    started = time.perf_counter()
    dialect = dialect_of(engine)
    engine = _tuned(engine)
    now = now or dt.datetime.now(dt.UTC)
    current = activity.totals(engine, period)
    previous = activity.totals(engine, period.previous)
    nets = networks(engine, period)
    camps = top_campaigns(engine, period)
    top_asns = [r["asn"] for r in nets["then"] if r["asn"] is not None][:TOP_ASN_SERIES]
    buckets = charts.slots(period.since, period.until, period.bucket)
    protocol_rows = activity.by_protocol(engine, period)
    protocols = sorted({r["series"] for r in protocol_rows})
    asn_rows = activity.by_asn(engine, period, top_asns)
    names = {r["asn"]: r["organization_name"] for r in nets["then"]}
    timeline = {
        "protocol": charts.stacked_bars(protocol_rows, buckets, protocols),
        "asn": charts.stacked_bars(
            asn_rows, buckets, [*top_asns, -1], name=lambda a: "other" if a == -1 else _asn_label(a, names.get(a))
        ),
    }
    report = Report(
        period=period,
        generated_at=now,
        backend=dialect,
        revision=schema.current_revision(engine),
        version=__version__,
        totals=current,
        previous_totals=previous,
        headlines=activity.headlines(current, previous),
        activity=timeline,
        networks=nets,
        campaigns=camps,
        details=details(engine, period),
        sources=sources(engine, period, as_of=now),
        charts={},
        asn_index=_asn_index(nets, camps),
        ip_index=_ip_index(engine, period, nets, camps),
        payloads=payload_hosts(engine, period),
    )
    report.charts = _charts(report)
    report.seconds = time.perf_counter() - started
    return report


def _tuned(engine: Engine) -> Engine:
    """The engine (sharing its pool) whose every connection first applies ``PG_SETTINGS`` for its transaction
    (``set_config(..., true)``: gone at its end, so other users of the pool never see them)."""
    if engine.dialect.name != "postgresql":
        return engine
    tuned = engine.execution_options()
    names = ", ".join(f"set_config('{k}', '{v}', true)" for k, v in PG_SETTINGS.items())

    @event.listens_for(tuned, "engine_connect")
    def settings(conn: Connection) -> None:
        conn.exec_driver_sql(f"SELECT {names}")

    return tuned


def _asn_label(asn: Any, name: str | None) -> str:
    return f"AS{asn}" + (f" {name}" if name else "")


def _asn_index(nets: dict[str, Any], camps: dict[str, Any]) -> list[dict[str, Any]]:
    """The ASN table with an anchor per ASN: the largest, plus every ASN another part of the page names."""
    wanted = {r["asn"] for r in nets["now"]}
    wanted |= {r["asn_then"] for r in nets["moved"]} | {r["asn_now"] for r in nets["moved"]}
    for c in (c for cs in camps["by_kind"].values() for c in cs):
        wanted |= {r["value"] for r in c.asns_then} | {r["value"] for r in c.asns_now}
    rows = nets.get("all_then", nets["then"])
    return [r for i, r in enumerate(rows) if r["asn"] is not None and (i < ASN_INDEX or r["asn"] in wanted)]


def _ip_index(engine: Engine, period: Period, nets: dict[str, Any], camps: dict[str, Any]) -> list[dict[str, Any]]:
    """The IP table with an anchor per IP: the busiest, those that moved, and the campaigns' IPs."""
    dialect, sensors = dialect_of(engine), bool(period.sensors)
    wanted = [r["ip"] for r in fetch(engine, _top_ips_statement(dialect, sensors), period.params())]
    wanted += [r["ip"] for r in nets["moved"]]
    campaigns: dict[str, list[Campaign]] = {}
    for c in (c for cs in camps["by_kind"].values() for c in cs):
        for r in c.top_ips:
            wanted.append(r["value"])
            campaigns.setdefault(str(r["value"]), []).append(c)
    unique = sorted({str(ip) for ip in wanted if ip is not None})
    if not unique:
        return []
    rows = fetch(engine, _ip_index_statement(dialect, sensors), {**period.params(), "ips": unique})
    for r in rows:
        r["campaigns"] = campaigns.get(str(r["ip"]), [])
    return rows


def _charts(report: Report) -> dict[str, charts.Chart]:
    nets = report.networks

    def asn_link(asn: Any) -> str | None:
        anchor = report.asn_anchor(asn)
        return f"#{anchor}" if anchor else None

    graph = report.campaigns["shared"]
    names = {r["asn"]: r["organization_name"] for r in report.asn_index}
    return {
        "types": charts.hbars([(str(r["asn_type"]), int(r["sessions"]), None) for r in nets["types"][:10]]),
        "countries": charts.hbars(
            [(str(r["country"] or "unknown"), int(r["sessions"]), None) for r in nets["countries"][:15]]
        ),
        "then": charts.hbars(
            [
                (_asn_label(r["asn"], r["organization_name"]), int(r["sessions"]), asn_link(r["asn"]))
                for r in nets["then"][:12]
                if r["asn"] is not None
            ]
        ),
        "shared": charts.bipartite(
            [(c.anchor, f"{KINDS[c.kind]}: {c.label or c.key}", f"#{c.anchor}") for c in graph["campaigns"]],
            [(a["asn"], _asn_label(a["asn"], names.get(a["asn"])), asn_link(a["asn"])) for a in graph["asns"]],
            [(e["campaign"], e["asn"], e["sessions"]) for e in graph["edges"]],
        ),
    }
