"""Campaigns of the period: the top behaviour keys of each kind, with their IPs, ASNs then and now, sensors,
first and last seen, whether they are new, and the infrastructure they share with each other.

Kinds: an SSH key, a command signature, a password (its hash; the text comes from the login attempts), the
client's HASSH and a downloaded file's SHA-256. Detail queries run once per kind for the top keys together
(``key IN (...)``), never once per key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Engine,
    FromClause,
    Select,
    Table,
    bindparam,
    case,
    cast,
    distinct,
    exists,
    func,
    literal,
    null,
    select,
    union_all,
)

from cowrieprocessor.analysis.sql import COMMANDS, IPS, SESSIONS, dialect_of, fetch, per_dialect
from cowrieprocessor.clock import parse_utc
from cowrieprocessor.report.networks import asn_names
from cowrieprocessor.report.period import Period
from cowrieprocessor.report.sql import AUTH, FILES, KEYS, in_period, never_before, period_first

#: Kind -> label shown in the page.
KINDS: dict[str, str] = {
    "ssh_key": "SSH key",
    "command_sig": "command signature",
    "password": "password",
    "hassh": "HASSH",
    "download": "download SHA-256",
}
TOP_KEYS = 10
TOP_IPS = 20
TOP_SPLIT = 8


@dataclass
class Campaign:
    kind: str
    key: str
    sessions: int
    ips: int
    asns: int
    sensors: int
    first_seen: Any
    last_seen: Any
    first_seen_ever: Any = None
    label: str | None = None
    asns_then: list[dict[str, Any]] = field(default_factory=list)
    asns_now: list[dict[str, Any]] = field(default_factory=list)
    sensor_names: list[dict[str, Any]] = field(default_factory=list)
    top_ips: list[dict[str, Any]] = field(default_factory=list)
    shares_with: list[tuple[str, str]] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        """A stable, safe fragment id: the kind and a digest of the key (keys are attacker text)."""
        return f"c-{self.kind}-{hashlib.sha256(self.key.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"

    @property
    def short(self) -> str:
        """The kind and the start of the key (or of its readable label), for links."""
        text = self.label if self.kind in ("password", "command_sig") and self.label else self.key
        return f"{KINDS[self.kind]} {text[:20]}{'…' if len(text) > 20 else ''}"

    @property
    def new(self) -> bool:
        """First seen ever within the period (its first session here is its first anywhere)."""
        return None not in (self.first_seen_ever, self.first_seen) and self.first_seen_ever >= self.first_seen


def _source(kind: str) -> tuple[FromClause, ColumnElement[Any]]:
    """The rows a kind is counted over and its key column."""
    s = SESSIONS.c
    if kind == "download":
        return SESSIONS.join(FILES, FILES.c.session_id == s.session_id), FILES.c.shasum
    column = {"ssh_key": s.ssh_key_fingerprint, "command_sig": s.command_signature, "password": s.password_hash}
    return SESSIONS, column.get(kind, s.hassh)


def _sessions(kind: str) -> Any:
    s = SESSIONS.c
    return func.count(distinct(s.session_id)) if kind == "download" else func.count()


@per_dialect
def _top_statement(dialect: str, kind: str, sensors: bool) -> Select[Any]:
    """The top keys by sessions, and how many of the period's keys are new (never seen before it).

    One pass over the period that only counts per key (hashing, no sort): what else a campaign shows - its
    IPs, ASNs, sensors, first and last session - is counted for these few keys only (``_detail_statement``).
    """
    rows, key = _source(kind)
    counted = (
        select(key.label("key"), _sessions(kind).label("sessions"))
        .select_from(rows)
        .where(*in_period(sensors), key.is_not(None))
        .group_by(key)
        .cte("counted")
    )
    new = _never_seen(kind, select(counted.c.key))
    new_count = select(func.count()).select_from(new.subquery()).scalar_subquery()
    return (
        select(counted.c.key, counted.c.sessions, new_count.label("new_keys"))
        .order_by(counted.c.sessions.desc(), counted.c.key)
        .limit(TOP_KEYS)
    )


#: The splits of a campaign (``_detail_statement``): the column of the value and how many values are kept.
SPLITS: dict[str, tuple[str, int]] = {
    "asn": ("asn", TOP_SPLIT),
    "now": ("asn", TOP_SPLIT),
    "sensor": ("sensor", TOP_SPLIT),
    "ip": ("ip", TOP_IPS),
}


@per_dialect
def _detail_statement(dialect: str, kind: str, sensors: bool) -> CompoundSelect[Any]:
    """Everything else of the top keys (``:keys``) from one pass over their sessions of the period.

    The sessions are first counted per key, IP, ASN then and sensor (``base``); from those rows come each
    key's totals (``by`` = ``key``: IPs, ASNs, sensors, first and last seen) and its splits: sessions and
    IPs per ASN then (``asn``), ASN now (``now``), sensor and IP, the first few of each (``SPLITS``; a busy
    password has tens of thousands of IPs). A session that downloaded a file twice counts once for it.
    """
    s, i = SESSIONS.c, IPS.c
    rows, key = _source(kind)
    where = (*in_period(sensors), period_first(dialect, key).in_(bindparam("keys", expanding=True)))
    columns = (key.label("key"), s.source_ip.label("ip"), s.snapshot_asn.label("asn"), s.sensor.label("sensor"))
    if kind == "download":
        one = select(*columns, s.session_id, s.first_event_at).select_from(rows).where(*where).distinct().subquery()
        o = one.c
        base = select(
            o.key, o.ip, o.asn, o.sensor, func.count().label("n"), func.min(o.first_event_at).label("first"),
            func.max(o.first_event_at).label("last"),
        ).group_by(o.key, o.ip, o.asn, o.sensor)  # fmt: skip
    else:
        base = (
            select(*columns, func.count().label("n"), func.min(s.first_event_at).label("first"))
            .add_columns(func.max(s.first_event_at).label("last"))
            .select_from(rows)
            .where(*where)
            .group_by(key, s.source_ip, s.snapshot_asn, s.sensor)
        )
    b = base.cte("base").c
    # Per key and IP, per key, ASN and IP, per key, sensor and IP: sums and row counts, hashed, never sorted
    # (a COUNT(DISTINCT) sorts); the IPs of a group are then its rows with an IP.
    per_ip = (
        select(b.key, b.ip, func.sum(b.n).label("n"), func.min(b.first).label("first"))
        .add_columns(func.max(b.last).label("last"))
        .group_by(b.key, b.ip)
        .cte("per_ip")
    )
    by_ip = per_ip.c
    per: dict[str, Any] = {}
    for by, column in (("asn", b.asn), ("sensor", b.sensor)):
        level = select(b.key, column.label("value"), b.ip, func.sum(b.n).label("n")).group_by(b.key, column, b.ip)
        o = level.subquery().c
        per[by] = (
            select(o.key, o.value, func.sum(o.n).label("n"), func.count(o.ip).label("ips"))
            .group_by(o.key, o.value)
            .cte(f"per_{by}")
        )
    now = (
        select(by_ip.key, i.current_asn.label("value"), func.sum(by_ip.n).label("n"), func.count(by_ip.ip).label("ips"))
        .select_from(per_ip.outerjoin(IPS, i.ip_address == by_ip.ip))
        .group_by(by_ip.key, i.current_asn)
        .subquery("per_now")
    )
    ip_rows = select(
        by_ip.key, by_ip.ip.label("value"), by_ip.n, case((by_ip.ip.is_(None), 0), else_=1).label("ips")
    ).subquery("per_ip_rows")
    keyed = (
        select(by_ip.key, func.sum(by_ip.n).label("n"), func.count(by_ip.ip).label("ips"))
        .add_columns(func.min(by_ip.first).label("first"), func.max(by_ip.last).label("last"))
        .group_by(by_ip.key)
        .subquery("keyed")
    )
    asns, named = per["asn"].c, per["sensor"].c
    asn_counts = select(asns.key, func.count(asns.value).label("n")).group_by(asns.key).subquery()
    sensor_counts = select(named.key, func.count(named.value).label("n")).group_by(named.key).subquery()
    empty = {"asn": cast(null(), BigInteger), "sensor": cast(null(), s.sensor.type)}
    empty["ip"] = cast(null(), s.source_ip.type)
    k = keyed.c
    totals = select(
        literal("key").label("by"), k.key, *(v.label(n) for n, v in empty.items()),
        cast(k.n, BigInteger).label("sessions"), k.ips, asn_counts.c.n.label("asns"),
        sensor_counts.c.n.label("sensors"), k.first.label("first_seen"), k.last.label("last_seen"),
        literal(1).label("rank"),
    ).select_from(
        keyed.join(asn_counts, asn_counts.c.key == k.key).join(sensor_counts, sensor_counts.c.key == k.key)
    )  # fmt: skip
    parts: list[Select[Any]] = [totals]
    for by, (name, limit) in SPLITS.items():
        g = {"asn": per["asn"], "now": now, "sensor": per["sensor"], "ip": ip_rows}[by].c
        rank = func.row_number().over(partition_by=g.key, order_by=(g.n.desc(), g.value))
        values = {**empty, name: g.value}
        ranked = select(
            g.key, *(v.label(n) for n, v in values.items()), cast(g.n, BigInteger).label("sessions"), g.ips,
            rank.label("rank"),
        ).subquery(f"by_{by}")  # fmt: skip
        r = ranked.c
        parts.append(
            select(
                literal(by).label("by"), r.key, r.asn, r.sensor, r.ip, r.sessions, r.ips, null(), null(), null(),
                null(), r.rank,
            ).where(r.rank <= limit)
        )  # fmt: skip
    return union_all(*parts)


@per_dialect
def _first_ever_statement(dialect: str, kind: str, count: int) -> Select[Any]:
    """When each of ``count`` keys was first seen at all (any sensor, any time), one scalar ``MIN()`` per key:
    the planner may then read the time index from its start and stop at the key's first row (an old, busy
    key: at once) or read the key's index entries (a rare one), instead of aggregating every row of every key.
    """
    table, moment = (FILES, FILES.c.event_time) if kind == "download" else (SESSIONS, SESSIONS.c.first_event_at)
    column = FILES.c.shasum if kind == "download" else _source(kind)[1]
    if dialect == "sqlite":  # no such plan choice: probe the key's index for an earlier row, then walk time
        return select(*(_sqlite_first(table, column, moment, f"k{i}").label(f"f{i}") for i in range(count)))
    first = [select(func.min(moment)).select_from(table).where(column == bindparam(f"k{i}")) for i in range(count)]
    return select(*(one.scalar_subquery().label(f"f{i}") for i, one in enumerate(first)))


def _sqlite_first(table: Table, column: Any, moment: Any, name: str) -> Any:
    """NULL when the key has no row before ``:since`` (then the period's first is its first; the probe reads
    the key's index, oldest rows first); else its first row along the time index (an old key is met early)."""
    key: Any = bindparam(name)
    earlier = exists().where(column == key, moment < bindparam("since"))
    walk = select(moment).select_from(table).where(func.coalesce(column, column) == key).order_by(moment).limit(1)
    return case((earlier, walk.scalar_subquery()), else_=null())


def _first_ever(engine: Engine, kind: str, keys: list[str], since: Any) -> dict[str, Any]:
    stmt = _first_ever_statement(dialect_of(engine), kind, len(keys))
    row = fetch(engine, stmt, {"since": since, **{f"k{i}": key for i, key in enumerate(keys)}})[0]
    return {key: row[f"f{i}"] for i, key in enumerate(keys)}


def new_keys(kind: str, sensors: bool) -> Select[Any]:
    """The keys of ``kind`` in the period never seen before it (any sensor): one column, ``key``."""
    rows, key = _source(kind)
    return _never_seen(kind, select(key).select_from(rows).where(*in_period(sensors), key.is_not(None)))


def _never_seen(kind: str, candidates: Select[Any]) -> Select[Any]:
    """Those of ``candidates`` (keys of ``kind``) not seen before the period: downloads by their transfers."""
    if kind == "download":
        return never_before(candidates, FILES, "shasum", "event_time", indexed=True)
    _, key = _source(kind)
    return never_before(candidates, SESSIONS, key.name, "first_event_at", indexed=kind != "hassh")


@per_dialect
def _labels_statement(dialect: str, kind: str, sensors: bool, count: int) -> Select[Any]:
    """Something readable for each of ``count`` keys, one row of each (an index probe per key, not every row
    of a busy key): the password's text, the key's type and comment, the HASSH's client version (of the
    period), the file's URL."""
    s, a, k, f = SESSIONS.c, AUTH.c, KEYS.c, FILES.c
    where: tuple[Any, ...] = ()
    table: Table
    column: Any
    value: Any
    if kind == "password":
        table, column, value = AUTH, a.password_hash, a.password
    elif kind == "ssh_key":
        table, column, value = KEYS, k.fingerprint_sha256, k.key_type + " " + func.coalesce(k.key_comment, "")
    elif kind == "hassh":
        table, column, value, where = SESSIONS, s.hassh, s.client_version, tuple(in_period(sensors))
    else:
        table, column, value = FILES, f.shasum, func.coalesce(f.url, f.filename, f.outfile)
    one = [select(value).select_from(table).where(column == bindparam(f"k{i}"), *where).limit(1) for i in range(count)]
    return select(*(q.scalar_subquery().label(f"f{i}") for i, q in enumerate(one)))


def labels(engine: Engine, kind: str, keys: list[str], params: dict[str, Any]) -> dict[str, Any]:
    """``_labels_statement`` for these keys (command signatures get their commands from ``_script_statement``)."""
    if not keys or kind not in ("password", "ssh_key", "hassh", "download"):
        return {}
    stmt = _labels_statement(dialect_of(engine), kind, "sensors" in params, len(keys))
    row = fetch(engine, stmt, {**params, **{f"k{i}": key for i, key in enumerate(keys)}})[0]
    return {key: row[f"f{i}"] for i, key in enumerate(keys)}


@per_dialect
def _script_statement(dialect: str, sensors: bool) -> Select[Any]:
    """The commands of one session (the first) of each command signature."""
    s, c = SESSIONS.c, COMMANDS.c
    first = (
        select(func.min(s.session_id).label("session_id"), s.command_signature.label("key"))
        .where(*in_period(sensors), period_first(dialect, s.command_signature).in_(bindparam("keys", expanding=True)))
        .group_by(s.command_signature)
        .subquery()
    )
    return (
        select(first.c.key, c.input)
        .select_from(first.join(COMMANDS, c.session_id == first.c.session_id))
        .order_by(first.c.key, c.sequence, c.event_time, c.id)
    )


def _details(rows: list[dict[str, Any]]) -> tuple[dict[str, dict[str, list[dict[str, Any]]]], dict[str, Any]]:
    """``_detail_statement``'s rows as (split -> key -> its rows, largest first) and key -> its totals."""
    splits: dict[str, dict[str, list[dict[str, Any]]]] = {by: {} for by in SPLITS}
    totals: dict[str, Any] = {}
    for r in sorted(rows, key=lambda r: int(r["rank"])):
        if r["by"] == "key":
            totals[r["key"]] = {k: r[k] for k in ("ips", "asns", "sensors", "first_seen", "last_seen")}
        else:
            row = {"value": r[SPLITS[r["by"]][0]], "sessions": r["sessions"], "ips": r["ips"]}
            splits[r["by"]].setdefault(r["key"], []).append(row)
    return splits, totals


def top_campaigns(engine: Engine, period: Period) -> dict[str, Any]:
    """Per kind: the top keys with their details, and how many of the period's keys are new."""
    dialect, sensors, params = dialect_of(engine), bool(period.sensors), period.params()
    by_kind: dict[str, list[Campaign]] = {}
    new_keys: dict[str, int] = {}
    for kind in KINDS:
        top = fetch(engine, _top_statement(dialect, kind, sensors), params)
        new_keys[kind] = int(top[0]["new_keys"]) if top else 0
        by_kind[kind] = campaigns = []
        if not top:
            continue
        keyed = {**params, "keys": [r["key"] for r in top]}
        splits, totals = _details(fetch(engine, _detail_statement(dialect, kind, sensors), keyed))
        for r in top:
            campaigns.append(Campaign(kind=kind, key=r["key"], sessions=int(r["sessions"]), **totals[r["key"]]))
        first = _first_ever(engine, kind, keyed["keys"], period.since)
        readable = labels(engine, kind, keyed["keys"], params)
        if kind == "command_sig":
            scripts: dict[str, list[str]] = {}
            for r in fetch(engine, _script_statement(dialect, sensors), keyed):
                scripts.setdefault(r["key"], []).append(r["input"])
            readable = {k: "; ".join(v) for k, v in scripts.items()}
        named = {r["value"] for by in ("asn", "now") for rows in splits[by].values() for r in rows}
        names = asn_names(engine, named)
        for c in campaigns:
            c.first_seen_ever = _aware(first.get(c.key)) or c.first_seen
            c.label = readable.get(c.key)
            c.asns_then = [{**r, "org": names.get(r["value"])} for r in splits["asn"].get(c.key, [])]
            c.asns_now = [{**r, "org": names.get(r["value"])} for r in splits["now"].get(c.key, [])]
            c.sensor_names = splits["sensor"].get(c.key, [])
            c.top_ips = splits["ip"].get(c.key, [])
    everything = [c for cs in by_kind.values() for c in cs]
    _link(everything)
    return {"by_kind": by_kind, "new_keys": new_keys, "shared": shared_graph(everything)}


def _aware(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, str):
        return parse_utc(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _link(campaigns: list[Campaign]) -> None:
    """Each campaign's list of the other listed campaigns it shares an ASN (at attack time) or an IP with."""
    for c in campaigns:
        mine_asns = {r["value"] for r in c.asns_then if r["value"] is not None}
        mine_ips = {r["value"] for r in c.top_ips}
        c.shares_with = [
            (o.anchor, o.short)
            for o in campaigns
            if o is not c
            and (mine_asns & {r["value"] for r in o.asns_then} or mine_ips & {r["value"] for r in o.top_ips})
        ]


def shared_graph(campaigns: list[Campaign], *, top: int = 14) -> dict[str, Any]:
    """Campaign <-> ASN edges for the picture: the largest campaigns and every attack-time ASN they use."""
    placed = [c for c in campaigns if any(r["value"] is not None for r in c.asns_then)]
    chosen = sorted(placed, key=lambda c: (-c.sessions, c.kind, c.key))[:top]
    edges = [
        {"campaign": c.anchor, "asn": r["value"], "sessions": int(r["sessions"])}
        for c in chosen
        for r in c.asns_then
        if r["value"] is not None
    ]
    weight: dict[int, int] = {}
    users: dict[int, int] = {}
    for e in edges:
        weight[e["asn"]] = weight.get(e["asn"], 0) + e["sessions"]
        users[e["asn"]] = users.get(e["asn"], 0) + 1
    asns = sorted(weight, key=lambda a: (-users[a], -weight[a], a))[:top]
    keep = set(asns)
    return {
        "campaigns": chosen,
        "asns": [{"asn": a, "campaigns": users[a], "sessions": weight[a]} for a in asns],
        "edges": [e for e in edges if e["asn"] in keep],
    }
