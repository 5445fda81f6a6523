"""Steps 2 and 3: from a campaign's sessions to its IPs (then vs now) and to the networks that host it.

``attribution`` needs one JOIN (sessions -> IP inventory) because "now" lives only in the inventory;
``infrastructure`` and ``related`` join the ASN inventory for the organisation behind each snapshot ASN.
Sessions are always attributed by their *snapshot* ASN: the network that hosted the IP during the attack.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Engine,
    Select,
    and_,
    bindparam,
    case,
    distinct,
    func,
    literal_column,
    or_,
    select,
    union_all,
)

from cowrieprocessor.analysis.keys import CampaignKey, KeyKind, key_column
from cowrieprocessor.analysis.sql import ASNS, IPS, SESSIONS, dialect_of, fetch, per_dialect

#: Status of an IP between the attack and now. UNKNOWN: no ASN at attack time or now, nothing to compare.
ASN_CHANGED, COUNTRY_CHANGED, STABLE, UNKNOWN = "ASN_CHANGED", "COUNTRY_CHANGED", "STABLE", "UNKNOWN"


@dataclass(frozen=True)
class AttributionRow:
    """One IP of a campaign under one attack-time (ASN, country); an IP that moved mid-campaign has two."""

    ip: str
    sessions: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    asn_at_attack: int | None
    country_at_attack: str | None
    asn_now: int | None
    country_now: str | None
    status: str


@dataclass(frozen=True)
class InfrastructureRow:
    asn: int | None
    organization_name: str | None
    organization_country: str | None
    asn_type: str | None
    is_known_hosting: bool | None
    is_known_vpn: bool | None
    ips: int
    ips_still_there: int
    sessions: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None


@dataclass(frozen=True)
class RelatedRow:
    """Another campaign (a key of ``kind``) seen on an ASN of the one asked about."""

    kind: str
    key: str
    asn: int
    organization_name: str | None
    sessions: int
    ips: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None


def _const(word: str) -> Any:
    """A fixed word as SQL text (our own constants only), so the statement text never varies."""
    assert word.isidentifier()
    return literal_column(f"'{word}'")


def _last_event() -> Any:
    return func.coalesce(SESSIONS.c.last_event_at, SESSIONS.c.first_event_at)


@per_dialect
def _attribution_statement(dialect: str, kind: KeyKind) -> Select[Any]:
    s, i = SESSIONS.c, IPS.c
    status = case(
        (or_(s.snapshot_asn.is_(None), i.current_asn.is_(None)), _const(UNKNOWN)),
        (s.snapshot_asn != i.current_asn, _const(ASN_CHANGED)),
        (
            and_(
                s.snapshot_country.is_not(None),
                i.geo_country != "XX",
                s.snapshot_country != i.geo_country,
            ),
            _const(COUNTRY_CHANGED),
        ),
        else_=_const(STABLE),
    )
    return (
        select(
            s.source_ip.label("ip"),
            func.count().label("sessions"),
            func.min(s.first_event_at).label("first_seen"),
            func.max(_last_event()).label("last_seen"),
            s.snapshot_asn.label("asn_at_attack"),
            s.snapshot_country.label("country_at_attack"),
            i.current_asn.label("asn_now"),
            i.geo_country.label("country_now"),
            status.label("status"),
        )
        .select_from(SESSIONS.join(IPS, IPS.c.ip_address == s.source_ip))
        .where(key_column(kind) == bindparam("key"))
        .group_by(s.source_ip, s.snapshot_asn, s.snapshot_country, i.current_asn, i.geo_country)
        .order_by(func.count().desc(), s.source_ip, s.snapshot_asn)
        .limit(bindparam("limit"))
    )


def attribution(engine: Engine, key: CampaignKey, *, limit: int = 1000) -> list[AttributionRow]:
    """Each IP of the campaign: ASN and country at attack time vs now, and what changed (ASN first)."""
    stmt = _attribution_statement(dialect_of(engine), key.kind)
    return [AttributionRow(**r) for r in fetch(engine, stmt, {"key": key.value, "limit": limit})]


@per_dialect
def _infrastructure_statement(dialect: str, kind: KeyKind) -> Select[Any]:
    s, i, a = SESSIONS.c, IPS.c, ASNS.c
    still_there = case((i.current_asn == s.snapshot_asn, s.source_ip))
    return (
        select(
            s.snapshot_asn.label("asn"),
            a.organization_name,
            a.organization_country,
            a.asn_type,
            a.is_known_hosting,
            a.is_known_vpn,
            func.count(distinct(s.source_ip)).label("ips"),
            func.count(distinct(still_there)).label("ips_still_there"),
            func.count().label("sessions"),
            func.min(s.first_event_at).label("first_seen"),
            func.max(_last_event()).label("last_seen"),
        )
        .select_from(
            SESSIONS.outerjoin(IPS, i.ip_address == s.source_ip).outerjoin(ASNS, a.asn_number == s.snapshot_asn)
        )
        .where(key_column(kind) == bindparam("key"))
        .group_by(
            s.snapshot_asn,
            a.organization_name,
            a.organization_country,
            a.asn_type,
            a.is_known_hosting,
            a.is_known_vpn,
        )
        .order_by(func.count().desc(), s.snapshot_asn)
        .limit(bindparam("limit"))
    )


def infrastructure(engine: Engine, key: CampaignKey, *, limit: int = 1000) -> list[InfrastructureRow]:
    """The ASNs (and organisations) that hosted the campaign's IPs at attack time.

    ``ips_still_there`` counts those IPs whose current ASN is still this one. Sessions without a snapshot
    ASN form one row with ``asn`` None rather than vanishing from the totals.
    """
    stmt = _infrastructure_statement(dialect_of(engine), key.kind)
    return [InfrastructureRow(**r) for r in fetch(engine, stmt, {"key": key.value, "limit": limit})]


@per_dialect
def _related_statement(dialect: str, kind: KeyKind, kinds: tuple[KeyKind, ...]) -> Select[Any]:
    s, a = SESSIONS.c, ASNS.c
    own = key_column(kind)
    campaign_asns = (
        select(s.snapshot_asn).where(own == bindparam("key"), s.snapshot_asn.is_not(None)).distinct()
    ).scalar_subquery()
    # The sessions on those ASNs that are not the campaign's own, read once and grouped per kind.
    neighbours = (
        select(
            s.snapshot_asn,
            s.source_ip,
            s.first_event_at,
            _last_event().label("last_event"),
            *(key_column(k).label(k.value) for k in kinds),
        )
        .where(s.snapshot_asn.in_(campaign_asns))
        .where(or_(own.is_(None), own != bindparam("key")))
        .cte("neighbours")
    )
    n = neighbours.c
    parts = [
        select(
            _const(k.value).label("kind"),
            n[k.value].label("key"),
            n.snapshot_asn.label("asn"),
            func.count().label("sessions"),
            func.count(distinct(n.source_ip)).label("ips"),
            func.min(n.first_event_at).label("first_seen"),
            func.max(n.last_event).label("last_seen"),
        )
        .where(n[k.value].is_not(None))
        .group_by(n[k.value], n.snapshot_asn)
        for k in kinds
    ]
    grouped = union_all(*parts).subquery("grouped")
    g = grouped.c
    return (
        select(g.kind, g.key, g.asn, a.organization_name, g.sessions, g.ips, g.first_seen, g.last_seen)
        .select_from(grouped.outerjoin(ASNS, a.asn_number == g.asn))
        .order_by(g.sessions.desc(), g.kind, g.key, g.asn)
        .limit(bindparam("limit"))
    )


def related(
    engine: Engine,
    key: CampaignKey,
    *,
    kinds: tuple[KeyKind, ...] = tuple(KeyKind),
    limit: int = 100,
) -> list[RelatedRow]:
    """Other campaigns on the same ASNs: other SSH keys, passwords or command scripts, per ASN.

    The campaign's own sessions are left out, so a password the campaign also used shows only through
    other sessions that used it. Largest first.
    """
    if not kinds:
        raise ValueError("choose at least one kind of key")
    stmt = _related_statement(dialect_of(engine), key.kind, tuple(dict.fromkeys(kinds)))
    rows = fetch(engine, stmt, {"key": key.value, "limit": limit})
    # The UNION loses the column types on SQLite: read the times back through the inventory's type.
    return [
        RelatedRow(**{**r, "first_seen": _as_utc(r["first_seen"]), "last_seen": _as_utc(r["last_seen"])}) for r in rows
    ]


def _as_utc(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
