"""Steps 2 and 3: from a campaign's sessions to its IPs (then vs now) and to the networks that host it.

``attribution`` needs one JOIN (sessions -> IP inventory) because "now" lives only in the inventory;
``infrastructure`` joins the ASN inventory for the organisation behind each snapshot ASN (``related`` lives
in its own module: it needs a two-pass plan at scale).
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
)

from cowrieprocessor.analysis.keys import CampaignKey, KeyKind, key_condition
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
        .where(key_condition(kind))
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
        .where(key_condition(kind))
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
