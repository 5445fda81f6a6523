"""Other campaigns on the same networks: the keys seen on the ASNs that hosted a campaign, minus its own sessions.

A campaign of a few thousand sessions can touch ASNs that hold half of all sessions, so a plain GROUP BY
over those sessions (with ``COUNT(DISTINCT ip)``) takes seconds. The statement therefore works in two passes,
both served by one covering index per kind of key, ``(snapshot_asn, <key>, source_ip, first_event_at,
last_event_at) WHERE <key> IS NOT NULL`` (migration v16):

1. *rank*: per kind, count the sessions of each ``(ASN, key)`` on the campaign's ASNs - an index-only,
   presorted aggregate, no sort and no distinct - and keep the ``limit`` largest;
2. *detail*: only for those groups, read their index range again for IPs, first and last seen.

The campaign's own sessions are left out. For its own kind of key that is ``key <> :key`` (every session of
the campaign has that key) - except for passwords: a password campaign is every session that *tried* it, and
its summary may keep another one, so it is left out as for the other kinds. For those, PostgreSQL subtracts
the campaign's count per group in pass 1 and removes the campaign's rows from pass 2 with ``EXCEPT ALL`` (a
multiset difference: exact, and still index-only). SQLite, which has no ``EXCEPT ALL``, excludes the
campaign's rowids already in pass 1 (its indexes carry the rowid, so the scans stay covering); pass 1 then
also gives first/last seen, and pass 2 only counts IPs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Engine,
    Select,
    and_,
    any_,
    bindparam,
    case,
    cast,
    distinct,
    except_all,
    false,
    func,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE

from cowrieprocessor.analysis.keys import (
    KEY_COLUMNS,
    LISTED_KINDS,
    CampaignKey,
    KeyKind,
    key_column,
    key_condition,
    matched_by_column,
)
from cowrieprocessor.analysis.sql import ASNS, SESSIONS, fetch, per_dialect
from cowrieprocessor.storage import dialects
from cowrieprocessor.storage.counters import session_last_event


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


def related(
    engine: Engine,
    key: CampaignKey,
    *,
    kinds: tuple[KeyKind, ...] = LISTED_KINDS,
    limit: int = 100,
) -> list[RelatedRow]:
    """Other campaigns on the same ASNs: other SSH keys, passwords or command scripts, per ASN.

    The campaign's own sessions are left out, so a password the campaign also used shows only through
    other sessions that used it. Largest first (ties: kind, key, ASN).
    """
    if not kinds:
        raise ValueError("choose at least one kind of key")
    unlisted = [k.value for k in kinds if k not in KEY_COLUMNS]
    if unlisted:
        raise ValueError(f"cannot list other campaigns by {', '.join(unlisted)}: choose from {', '.join(LISTED_KINDS)}")
    # The plan follows the backend's declared capabilities: subtract with EXCEPT ALL, else exclude by rowid.
    builder = _subtracting_statement if dialects.of(engine).except_all else _rowid_statement
    stmt = builder(key.kind, tuple(dict.fromkeys(kinds)))
    rows = fetch(engine, stmt, {"key": key.value, "limit": limit})
    # The UNION loses the column types on SQLite: read the times back as aware UTC.
    return [
        RelatedRow(**{**r, "first_seen": _as_utc(r["first_seen"]), "last_seen": _as_utc(r["last_seen"])}) for r in rows
    ]


def _const(word: str) -> Any:
    """A fixed word as SQL text (our own constants only), so the statement text never varies."""
    assert word.isidentifier()
    return literal_column(f"'{word}'")


def _last_event() -> ColumnElement[Any]:
    return session_last_event(SESSIONS)


def _campaign(own: KeyKind, *extra: ColumnElement[Any]) -> CTE:
    """The campaign's own sessions that have a snapshot ASN (the few thousand rows everything starts from)."""
    s = SESSIONS.c
    return (
        select(
            s.snapshot_asn,
            *(key_column(k).label(k.value) for k in LISTED_KINDS),
            s.source_ip,
            s.first_event_at,
            _last_event().label("last_event"),
            *extra,
        )
        .where(key_condition(own), s.snapshot_asn.is_not(None))
        .cte("campaign")
    )


def _finish(detailed: Any) -> Select[Any]:
    """Name the ASN's organisation and order the groups (largest first)."""
    d, a = detailed.c, ASNS.c
    return (
        select(d.kind, d.key, d.asn, a.organization_name, d.sessions, d.ips, d.first_seen, d.last_seen)
        .select_from(detailed.outerjoin(ASNS, a.asn_number == d.asn))
        .order_by(d.sessions.desc(), d.kind, d.key, d.asn)
    )


def _ranked(own: KeyKind, kinds: tuple[KeyKind, ...], campaign: CTE, on_campaign_asns: Any) -> CTE:
    """Pass 1: the ``limit`` largest (kind, key, ASN) groups by sessions outside the campaign.

    Counts every session of the group in index order (presorted, no DISTINCT), then subtracts the campaign's
    own sessions, counted from its few rows; ``shared`` flags the groups it had sessions in.
    """
    s, c = SESSIONS.c, campaign.c
    counts, shared = [], []
    for kind in kinds:
        column = key_column(kind)
        where = [on_campaign_asns, column.is_not(None)]
        if kind is own and matched_by_column(own):  # every campaign session has this key in this column
            where.append(column != bindparam("key"))
        else:
            shared.append(
                select(_const(kind.value).label("kind"), c.snapshot_asn.label("asn"), c[kind.value].label("key"))
                .add_columns(func.count().label("n"))
                .where(c[kind.value].is_not(None))
                .group_by(c.snapshot_asn, c[kind.value])
            )
        counts.append(
            select(_const(kind.value).label("kind"), s.snapshot_asn.label("asn"), column.label("key"))
            .add_columns(func.count().label("n"))
            .where(*where)
            .group_by(s.snapshot_asn, column)
        )
    total = union_all(*counts).subquery("counts")
    t = total.c
    if shared:
        mine = union_all(*shared).subquery("shared")
        m = mine.c
        others = t.n - func.coalesce(m.n, 0)
        is_shared: Any = m.n.is_not(None)
        source: Any = total.outerjoin(mine, and_(m.kind == t.kind, m.asn == t.asn, m.key == t.key))
    else:
        others, is_shared, source = t.n, false(), total
    return (
        select(t.kind, t.key, t.asn, others.label("sessions"), is_shared.label("shared"))
        .select_from(source)
        .where(others > 0)
        .order_by(others.desc(), t.kind, t.key, t.asn)
        .limit(bindparam("limit"))
        .cte("ranked")
    )


@per_dialect
def _subtracting_statement(own: KeyKind, kinds: tuple[KeyKind, ...]) -> Select[Any]:
    campaign = _campaign(own)
    asns = cast(select(func.array_agg(distinct(campaign.c.snapshot_asn))).scalar_subquery(), ARRAY(BigInteger))
    ranked = _ranked(own, kinds, campaign, SESSIONS.c.snapshot_asn == any_(asns))
    details = []
    for kind in kinds:
        details.append(_detail(ranked, kind, None))
        if not (kind is own and matched_by_column(own)):
            details.append(_detail(ranked, kind, campaign))
    return _finish(union_all(*details).subquery("detailed"))


def _detail(ranked: CTE, kind: KeyKind, campaign: CTE | None) -> Select[Any]:
    """IPs, first and last seen of the ranked groups of ``kind``: read from the group's index range.

    Groups the campaign shares (``campaign`` given) drop its rows first with ``EXCEPT ALL``; the others
    aggregate per IP in index order (a presorted, streaming GROUP BY instead of a sort for DISTINCT).
    """
    s, r = SESSIONS.c, ranked.c
    column = key_column(kind)
    rows: Any = (
        select(s.source_ip.label("ip"), s.first_event_at.label("f"), _last_event().label("l"))
        .where(s.snapshot_asn == r.asn, column == r.key, column.is_not(None))
        .correlate(ranked)
    )
    if campaign is not None:
        c = campaign.c
        mine = select(c.source_ip, c.first_event_at, c.last_event).where(
            c.snapshot_asn == r.asn, c[kind.value] == r.key
        )
        rows = except_all(rows, mine.correlate(ranked))
    x = rows.subquery("x")
    per_ip = select(x.c.ip, func.min(x.c.f).label("f"), func.max(x.c.l).label("l")).group_by(x.c.ip).subquery("per_ip")
    detail = select(
        func.count().label("ips"), func.min(per_ip.c.f).label("first_seen"), func.max(per_ip.c.l).label("last_seen")
    ).lateral(f"detail_{kind.value}{'_shared' if campaign is not None else ''}")
    return (
        select(r.kind, r.key, r.asn, r.sessions, detail.c.ips, detail.c.first_seen, detail.c.last_seen)
        .select_from(ranked.join(detail, true()))
        .where(r.kind == _const(kind.value), r.shared if campaign is not None else r.shared.is_(False))
    )


@per_dialect
def _rowid_statement(own: KeyKind, kinds: tuple[KeyKind, ...]) -> Select[Any]:
    """Where tables have rowids (SQLite): one pass ranks *and* excludes the campaign by rowid (its indexes
    hold the rowid, so this stays covering); only ``ips`` needs a second look, per ranked group. Measured
    faster on SQLite than the subtract-then-detail plan (PostgreSQL's), whose per-group GROUP BY goes
    through temporary b-trees here."""
    s = SESSIONS.c
    rowid: ColumnElement[Any] = literal_column("session_summaries.rowid")
    campaign = _campaign(own, rowid.label("rid"))
    c = campaign.c

    def outside_campaign(kind: KeyKind) -> ColumnElement[bool]:
        column = key_column(kind)
        return column != bindparam("key") if kind is own and matched_by_column(own) else rowid.not_in(select(c.rid))

    counts = [
        select(
            _const(kind.value).label("kind"),
            s.snapshot_asn.label("asn"),
            key_column(kind).label("key"),
            func.count().label("sessions"),
            func.min(s.first_event_at).label("first_seen"),
            func.max(_last_event()).label("last_seen"),
        )
        .where(s.snapshot_asn.in_(select(c.snapshot_asn)), key_column(kind).is_not(None), outside_campaign(kind))
        .group_by(s.snapshot_asn, key_column(kind))
        for kind in kinds
    ]
    ranked = union_all(*counts).subquery("ranked")
    r = ranked.c
    top = select(ranked).order_by(r.sessions.desc(), r.kind, r.key, r.asn).limit(bindparam("limit")).subquery("top")
    g = top.c

    def ips(kind: KeyKind) -> Any:
        column = key_column(kind)
        return (
            select(func.count(distinct(s.source_ip)))
            .where(s.snapshot_asn == g.asn, column == g.key, column.is_not(None), outside_campaign(kind))
            .scalar_subquery()
        )

    # CASE evaluates only the branch of the row's kind: one index range per group.
    detailed = select(
        g.kind,
        g.key,
        g.asn,
        g.sessions,
        case(*((g.kind == _const(kind.value), ips(kind)) for kind in kinds)).label("ips"),
        g.first_seen,
        g.last_seen,
    ).subquery("detailed")
    return _finish(detailed)


def _as_utc(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
