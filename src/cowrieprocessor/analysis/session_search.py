"""Step 1 of the workflow, behaviour first: sessions and campaigns from snapshot columns alone (no JOIN).

The snapshot columns hold what a session's IP was *at the time of the attack*, so these answers do not
drift when an IP later moves to another network; they also need no join, which is what keeps them fast.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Engine, Select, bindparam, distinct, func, select

from cowrieprocessor.analysis.keys import (
    KEY_COLUMNS,
    TRIED_COLUMNS,
    CampaignKey,
    KeyKind,
    hash_password,
    key_condition,
    tried,
)
from cowrieprocessor.analysis.sql import (
    COMMANDS,
    SESSIONS,
    dialect_of,
    fetch,
    ip_type_column,
    ip_types_unnested,
    outer_join_unnested,
    per_dialect,
    reach,
    utc,
)
from cowrieprocessor.storage.textsafe import escape_text


@dataclass(frozen=True)
class SessionFilter:
    """Conditions ANDed together; ``since``/``until`` bound the session's first event time, ``[since, until)``.

    ``password_hash`` and ``username``: sessions that tried them (any login attempt).
    """

    ssh_key: str | None = None
    password_hash: str | None = None
    username: str | None = None
    command_sig: str | None = None
    ip: str | None = None
    asn: int | None = None
    country: str | None = None
    sensor: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @staticmethod
    def hash(password: str) -> str:
        return hash_password(password)

    def active(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("since", "until"):
            utc(values[name])
        if values["ip"] is not None:  # refused here, with the reason, rather than deep in the driver
            values["ip"] = str(ipaddress.ip_address(values["ip"]))
        if values["country"] is not None:
            values["country"] = values["country"].upper()
        if values["username"] is not None:  # as stored (attacker text is kept escaped)
            values["username"] = escape_text(values["username"])
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class SessionRow:
    session_id: str
    first_event_at: dt.datetime | None
    last_event_at: dt.datetime | None
    sensor: str | None
    source_ip: str | None
    login_username: str | None
    client_version: str | None
    ssh_key_fingerprint: str | None
    password_hash: str | None
    command_signature: str | None
    command_count: int
    snapshot_asn: int | None
    snapshot_country: str | None
    snapshot_ip_types: list[str] | None
    snapshot_source: str | None
    enrichment_at: dt.datetime | None
    commands: list[str] | None = None


@dataclass(frozen=True)
class CampaignGroup:
    """Sessions of one (country, IP type) at attack time; a session with two types counts in both groups."""

    country: str | None
    ip_type: str | None
    sessions: int
    ips: int
    asns: int


@dataclass(frozen=True)
class CampaignReport:
    kind: str
    key: str
    sessions: int
    ips: int
    asns: int
    countries: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    groups: list[CampaignGroup]


_SESSION_COLUMNS = [f.name for f in fields(SessionRow) if f.name != "commands"]

_FILTER_COLUMNS = {
    "ssh_key": KEY_COLUMNS[KeyKind.ssh_key],
    "command_sig": KEY_COLUMNS[KeyKind.command_sig],
    "ip": "source_ip",
    "asn": "snapshot_asn",
    "country": "snapshot_country",
    "sensor": "sensor",
}


_TRIED_FILTERS = {"password_hash": TRIED_COLUMNS[KeyKind.password], "username": TRIED_COLUMNS[KeyKind.username]}


@per_dialect
def _sessions_statement(dialect: str, active: frozenset[str]) -> Select[Any]:
    """One statement per set of active filters: ``:x IS NULL OR col = :x`` would defeat the indexes."""
    stmt = select(*(SESSIONS.c[name] for name in _SESSION_COLUMNS))
    for name in sorted(active):
        if name in _FILTER_COLUMNS:
            stmt = stmt.where(SESSIONS.c[_FILTER_COLUMNS[name]] == bindparam(name))
        elif name in _TRIED_FILTERS:
            stmt = stmt.where(tried(_TRIED_FILTERS[name], name))
    if "since" in active:
        stmt = stmt.where(SESSIONS.c.first_event_at >= bindparam("since"))
    if "until" in active:
        stmt = stmt.where(SESSIONS.c.first_event_at < bindparam("until"))
    return stmt.order_by(SESSIONS.c.first_event_at, SESSIONS.c.session_id).limit(bindparam("limit"))


@per_dialect
def _commands_statement(dialect: str) -> Select[Any]:
    c = COMMANDS.c
    return (
        select(c.session_id, c.input)
        .where(c.session_id.in_(bindparam("ids", expanding=True)))
        .order_by(c.session_id, c.sequence, c.event_time, c.id)
    )


def find_sessions(
    engine: Engine, where: SessionFilter, *, limit: int = 100, with_commands: bool = False
) -> list[SessionRow]:
    """Sessions matching every given condition, oldest first, with their attack-time snapshot.

    ``with_commands`` adds each session's shell input, in order (one extra indexed query for the page).
    """
    params = where.active()
    if not params:
        raise ValueError("give at least one filter: a scan of every session is not a question")
    stmt = _sessions_statement(dialect_of(engine), frozenset(params))
    rows = fetch(engine, stmt, {**params, "limit": limit})
    commands: dict[str, list[str]] = {}
    if with_commands and rows:
        ids = [r["session_id"] for r in rows]
        for cmd in fetch(engine, _commands_statement(dialect_of(engine)), {"ids": ids}):
            commands.setdefault(cmd["session_id"], []).append(cmd["input"])
    return [SessionRow(**r, commands=commands.get(r["session_id"], []) if with_commands else None) for r in rows]


@per_dialect
def _campaign_totals_statement(dialect: str, kind: KeyKind) -> Select[Any]:
    s = SESSIONS.c
    return select(
        *reach(),
        func.min(s.first_event_at).label("first_seen"),
        func.max(func.coalesce(s.last_event_at, s.first_event_at)).label("last_seen"),
    ).where(key_condition(kind))


@per_dialect
def _campaign_groups_statement(dialect: str, kind: KeyKind) -> Select[Any]:
    s = SESSIONS.c
    types = ip_types_unnested(dialect, s.snapshot_ip_types)
    ip_type = ip_type_column(dialect, types)
    return (
        select(
            s.snapshot_country.label("country"),
            ip_type.label("ip_type"),
            func.count(distinct(s.session_id)).label("sessions"),
            func.count(distinct(s.source_ip)).label("ips"),
            func.count(distinct(s.snapshot_asn)).label("asns"),
        )
        .select_from(outer_join_unnested(SESSIONS, types))
        .where(key_condition(kind))
        .group_by(s.snapshot_country, ip_type)
        .order_by(func.count(distinct(s.session_id)).desc(), s.snapshot_country, ip_type)
    )


def campaign_summary(engine: Engine, key: CampaignKey) -> CampaignReport:
    """A campaign's sessions, IPs and ASNs, grouped by country and IP type at the time of the attack."""
    dialect = dialect_of(engine)
    params = {"key": key.value}
    totals = fetch(engine, _campaign_totals_statement(dialect, key.kind), params)[0]
    groups: list[CampaignGroup] = []
    if totals["sessions"]:
        for row in fetch(engine, _campaign_groups_statement(dialect, key.kind), params):
            ip_type = row["ip_type"]
            groups.append(CampaignGroup(**{**row, "ip_type": None if ip_type is None else str(ip_type)}))
    return CampaignReport(kind=key.kind.value, key=key.value, groups=groups, **totals)
