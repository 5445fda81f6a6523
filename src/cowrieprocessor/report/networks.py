"""Networks of the period: ASNs at attack time and now, ASN types, countries, movers, IPs that moved.

"At attack time" is each session's immutable snapshot; "now" is its IP's current ASN in the inventory (one
JOIN). Sessions without a snapshot ASN are one ``None`` row rather than vanishing from the totals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, Engine, Select, and_, bindparam, case, cast, distinct, func, select

from cowrieprocessor.analysis.sql import ASNS, IPS, SESSIONS, dialect_of, fetch, per_dialect
from cowrieprocessor.report.period import Period
from cowrieprocessor.report.sql import in_period

TOP = 25


def _asn_columns() -> list[Any]:
    a = ASNS.c
    return [a.organization_name, a.organization_country, a.asn_type, a.is_known_hosting, a.is_known_vpn]


def _by_ip(sensors: bool) -> Any:
    """The period's sessions counted per IP, ASN and country at attack time (one row per IP, or a few when it
    moved): the networks' tables group and join these rows instead of every session (hashed once, joined to
    the inventory a third as often; a COUNT(DISTINCT) then sorts a third as many rows)."""
    s = SESSIONS.c
    return (
        select(
            s.source_ip.label("ip"), s.snapshot_asn.label("asn"), s.snapshot_country.label("country"),
            func.count().label("n"), func.min(s.first_event_at).label("first"),
            func.max(s.first_event_at).label("last"),
        )
        .where(*in_period(sensors))
        .group_by(s.source_ip, s.snapshot_asn, s.snapshot_country)
        .subquery("by_ip")
    )  # fmt: skip


def _sessions(p: Any) -> Any:
    """The sessions of a group of ``_by_ip`` rows (an integer on both backends)."""
    return cast(func.sum(p.c.n), BigInteger)


@per_dialect
def _then_statement(dialect: str, sensors: bool) -> Select[Any]:
    p, i, a = _by_ip(sensors), IPS.c, ASNS.c
    elsewhere = case((and_(i.current_asn.is_not(None), i.current_asn != p.c.asn), p.c.ip))
    return (
        select(
            p.c.asn,
            *_asn_columns(),
            _sessions(p).label("sessions"),
            func.count(distinct(p.c.ip)).label("ips"),
            func.count(distinct(elsewhere)).label("ips_moved_since"),
            func.count(distinct(p.c.country)).label("countries"),
            func.min(p.c.first).label("first_seen"),
            func.max(p.c.last).label("last_seen"),
        )
        .select_from(p.outerjoin(IPS, i.ip_address == p.c.ip).outerjoin(ASNS, a.asn_number == p.c.asn))
        .group_by(p.c.asn, *_asn_columns())
        .order_by(_sessions(p).desc(), p.c.asn)
    )


@per_dialect
def _now_statement(dialect: str, sensors: bool) -> Select[Any]:
    """Without an ASN today, the organisation named by the embedded data (which has no AS numbers) groups."""
    p, i, a = _by_ip(sensors), IPS.c, ASNS.c
    embedded = case((i.current_asn.is_(None), i.enrichment[("embedded", "as_org")].as_string()))
    return (
        select(
            i.current_asn.label("asn"),
            embedded.label("embedded_org"),
            *_asn_columns(),
            _sessions(p).label("sessions"),
            func.count(distinct(p.c.ip)).label("ips"),
        )
        .select_from(p.join(IPS, i.ip_address == p.c.ip).outerjoin(ASNS, a.asn_number == i.current_asn))
        .group_by(i.current_asn, embedded, *_asn_columns())
        .order_by(_sessions(p).desc(), i.current_asn, embedded)
        .limit(TOP)
    )


@per_dialect
def _per_asn_statement(dialect: str, sensors: bool) -> Select[Any]:
    s = SESSIONS.c
    return (
        select(s.snapshot_asn.label("asn"), func.count().label("sessions"))
        .where(*in_period(sensors))
        .group_by(s.snapshot_asn)
    )


@per_dialect
def _names_statement(dialect: str) -> Select[Any]:
    a = ASNS.c
    wanted = a.asn_number.in_(bindparam("asns", expanding=True))
    return select(a.asn_number.label("asn"), a.organization_name).where(wanted)


def asn_names(engine: Engine, asns: Iterable[Any]) -> dict[int, str | None]:
    """The organisation of each of these ASNs (None and unknown ASNs are left out)."""
    wanted = sorted({int(a) for a in asns if a is not None})
    if not wanted:
        return {}
    rows = fetch(engine, _names_statement(dialect_of(engine)), {"asns": wanted})
    return {r["asn"]: r["organization_name"] for r in rows}


@per_dialect
def _types_statement(dialect: str, sensors: bool) -> Select[Any]:
    p, a = _by_ip(sensors), ASNS.c
    kind = case((p.c.asn.is_(None), "no ASN"), else_=func.coalesce(a.asn_type, "unclassified"))
    return (
        select(
            kind.label("asn_type"),
            _sessions(p).label("sessions"),
            func.count(distinct(p.c.ip)).label("ips"),
            func.count(distinct(p.c.asn)).label("asns"),
        )
        .select_from(p.outerjoin(ASNS, a.asn_number == p.c.asn))
        .group_by(kind)
        .order_by(_sessions(p).desc(), kind)
    )


@per_dialect
def _countries_statement(dialect: str, sensors: bool) -> Select[Any]:
    p = _by_ip(sensors)
    return (
        select(
            p.c.country,
            _sessions(p).label("sessions"),
            func.count(distinct(p.c.ip)).label("ips"),
            func.count(distinct(p.c.asn)).label("asns"),
        )
        .group_by(p.c.country)
        .order_by(_sessions(p).desc(), p.c.country)
    )


@per_dialect
def _moved_statement(dialect: str, sensors: bool) -> Select[Any]:
    """IPs of the period whose ASN today differs from the one of (some of) their sessions."""
    p, i, a = _by_ip(sensors), IPS.c, ASNS.c
    now = ASNS.alias("now_asn")
    return (
        select(
            p.c.ip,
            p.c.asn.label("asn_then"),
            a.organization_name.label("org_then"),
            i.current_asn.label("asn_now"),
            now.c.organization_name.label("org_now"),
            p.c.country.label("country_then"),
            i.geo_country.label("country_now"),
            _sessions(p).label("sessions"),
            func.min(p.c.first).label("first_seen"),
            func.max(p.c.last).label("last_seen"),
        )
        .select_from(
            p.join(IPS, i.ip_address == p.c.ip)
            .outerjoin(ASNS, a.asn_number == p.c.asn)
            .outerjoin(now, now.c.asn_number == i.current_asn)
        )
        .where(p.c.asn.is_not(None), i.current_asn.is_not(None), p.c.asn != i.current_asn)
        .group_by(
            p.c.ip,
            p.c.asn,
            a.organization_name,
            i.current_asn,
            now.c.organization_name,
            p.c.country,
            i.geo_country,
        )
        .order_by(_sessions(p).desc(), p.c.ip, p.c.asn)
    )


def networks(engine: Engine, period: Period) -> dict[str, Any]:
    """Every table of the networks section (lists of dicts, largest first)."""
    dialect, sensors, params = dialect_of(engine), bool(period.sensors), period.params()
    then = fetch(engine, _then_statement(dialect, sensors), params)
    before = {
        r["asn"]: int(r["sessions"])
        for r in fetch(engine, _per_asn_statement(dialect, sensors), period.previous.params())
    }
    for row in then:
        row["previous"] = before.get(row["asn"], 0)
        row["change"] = int(row["sessions"]) - row["previous"]
    known = [r for r in then if r["asn"] is not None]
    current = {r["asn"] for r in then}
    names = asn_names(engine, (asn for asn in before if asn not in current))
    gone = [
        {"asn": asn, "organization_name": names.get(asn), "sessions": 0, "previous": n, "change": -n}
        for asn, n in before.items()
        if asn not in current
    ]
    movers = sorted([*known, *(g for g in gone if g["asn"] is not None)], key=lambda r: (-abs(r["change"]), r["asn"]))
    moved = fetch(engine, _moved_statement(dialect, sensors), params)
    return {
        "then": then[:TOP],
        "all_then": then,
        "asns_total": len(known),
        "now": fetch(engine, _now_statement(dialect, sensors), params),
        "types": fetch(engine, _types_statement(dialect, sensors), params),
        "countries": fetch(engine, _countries_statement(dialect, sensors), params),
        "movers": [m for m in movers if m["change"]][:TOP],
        "moved": moved[:100],
        "moved_total": len({m["ip"] for m in moved}),
    }
