"""The honeypot used as a proxy (SSH port forwarding) and the exploits it saw: where to, from which networks.

Destinations are what the client asked for (an address or a host name, with the port); payload bytes
are those Cowrie logged (it never connects: the data is what the attacker meant to send). ASNs are the
sessions' snapshot ASNs - the network the attacker was in at the time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Engine, Select, bindparam, cast, distinct, func, select

from cowrieprocessor.analysis.sql import ASNS, EXPLOITS, FORWARDS, SESSIONS, dialect_of, fetch, per_dialect, utc

T = TypeVar("T")


@dataclass(frozen=True)
class DestinationRow:
    destination: str | None
    port: int | None
    requests: int
    sessions: int
    ips: int
    asns: int
    payload_bytes: int
    first_seen: dt.datetime
    last_seen: dt.datetime


@dataclass(frozen=True)
class TunnelAsnRow:
    asn: int | None
    organization_name: str | None
    requests: int
    sessions: int
    ips: int
    destinations: int
    payload_bytes: int
    first_seen: dt.datetime
    last_seen: dt.datetime


@dataclass(frozen=True)
class ExploitRow:
    cve: str | None
    name: str | None
    value: str | None
    attempts: int
    successes: int
    sessions: int
    ips: int
    asns: int
    first_seen: dt.datetime
    last_seen: dt.datetime


def _filtered(stmt: Select[Any], time: Any, active: frozenset[str]) -> Select[Any]:
    if "since" in active:
        stmt = stmt.where(time >= bindparam("since"))
    if "until" in active:
        stmt = stmt.where(time < bindparam("until"))
    if "asn" in active:
        stmt = stmt.where(SESSIONS.c.snapshot_asn == bindparam("asn"))
    return stmt


def _total(column: Any) -> Any:
    """SUM as an integer on both backends (PostgreSQL's SUM of bigint is numeric)."""
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


def _common(table: Any) -> list[Any]:
    s = SESSIONS.c
    return [
        func.count(distinct(table.c.session_id)).label("sessions"),
        func.count(distinct(s.source_ip)).label("ips"),
    ]


def _requests() -> Any:
    return func.count().filter(FORWARDS.c.kind == "request")


def _forward_figures(requests: Any) -> list[Any]:
    """What every port-forwarding grouping reports (rows map to their dataclass by name)."""
    f = FORWARDS.c
    return [
        requests.label("requests"),
        *_common(FORWARDS),
        _total(f.payload_bytes).label("payload_bytes"),
        func.min(f.event_time).label("first_seen"),
        func.max(f.event_time).label("last_seen"),
    ]


@per_dialect
def _destinations_statement(dialect: str, active: frozenset[str]) -> Select[Any]:
    f, s = FORWARDS.c, SESSIONS.c
    requests = _requests()
    stmt = select(
        f.destination,
        f.destination_port.label("port"),
        func.count(distinct(s.snapshot_asn)).label("asns"),
        *_forward_figures(requests),
    ).select_from(FORWARDS.join(SESSIONS, s.session_id == f.session_id))
    stmt = _filtered(stmt, f.event_time, active)
    return (
        stmt.group_by(f.destination, f.destination_port)
        .order_by(requests.desc(), func.count(distinct(f.session_id)).desc(), f.destination, f.destination_port)
        .limit(bindparam("limit"))
    )


@per_dialect
def _asns_statement(dialect: str, active: frozenset[str]) -> Select[Any]:
    f, s, a = FORWARDS.c, SESSIONS.c, ASNS.c
    requests = _requests()
    stmt = select(
        s.snapshot_asn.label("asn"),
        a.organization_name,
        func.count(distinct(f.destination)).label("destinations"),
        *_forward_figures(requests),
    ).select_from(FORWARDS.join(SESSIONS, s.session_id == f.session_id).outerjoin(ASNS, a.asn_number == s.snapshot_asn))
    stmt = _filtered(stmt, f.event_time, active)
    return (
        stmt.group_by(s.snapshot_asn, a.organization_name)
        .order_by(requests.desc(), s.snapshot_asn.asc().nulls_last())
        .limit(bindparam("limit"))
    )


@per_dialect
def _exploits_statement(dialect: str, active: frozenset[str]) -> Select[Any]:
    e, s = EXPLOITS.c, SESSIONS.c
    attempts = func.count().filter(e.outcome == "attempt")
    stmt = select(
        e.cve,
        func.max(e.name).label("name"),
        func.max(e.value).label("value"),
        attempts.label("attempts"),
        func.count().filter(e.outcome == "success").label("successes"),
        *_common(EXPLOITS),
        func.count(distinct(s.snapshot_asn)).label("asns"),
        func.min(e.event_time).label("first_seen"),
        func.max(e.event_time).label("last_seen"),
    ).select_from(EXPLOITS.join(SESSIONS, s.session_id == e.session_id))
    stmt = _filtered(stmt, e.event_time, active)
    return stmt.group_by(e.cve).order_by(attempts.desc(), e.cve).limit(bindparam("limit"))


def _rows(engine: Engine, build: Any, row: type[T], limit: int, **given: Any) -> list[T]:
    """``build(dialect, active filters)``'s rows as ``row`` objects (times must be aware)."""
    params = {k: utc(v) if isinstance(v, dt.datetime) else v for k, v in given.items() if v is not None}
    stmt = build(dialect_of(engine), frozenset(params))
    return [row(**r) for r in fetch(engine, stmt, {**params, "limit": limit})]


def tunnel_destinations(
    engine: Engine, *, limit: int = 20, since: dt.datetime | None = None, until: dt.datetime | None = None,
    asn: int | None = None,
) -> list[DestinationRow]:  # fmt: skip
    """Where port-forwarding clients wanted to go, most requested first (``asn``: only from that snapshot ASN)."""
    return _rows(engine, _destinations_statement, DestinationRow, limit, since=since, until=until, asn=asn)


def tunnel_asns(
    engine: Engine, *, limit: int = 20, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[TunnelAsnRow]:
    """The networks (snapshot ASN; None: not enriched yet) port-forwarding sessions came from."""
    return _rows(engine, _asns_statement, TunnelAsnRow, limit, since=since, until=until)


def exploits(
    engine: Engine, *, limit: int = 20, since: dt.datetime | None = None, until: dt.datetime | None = None,
    asn: int | None = None,
) -> list[ExploitRow]:  # fmt: skip
    """Exploits Cowrie recognised, per CVE: attempts, successes and who tried."""
    return _rows(engine, _exploits_statement, ExploitRow, limit, since=since, until=until, asn=asn)
