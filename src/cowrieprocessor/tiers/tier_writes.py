"""Set-based reads and writes of the three tiers for one batch of IPs, on both backends.

Counters are recomputed from the sessions, never incremented, so re-runs and concurrent workers cannot
drift them; the ASN rows are locked in ASN order first, so two workers never deadlock on them.
"""

from __future__ import annotations

import datetime as dt
import functools
import zlib
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError

from cowrieprocessor.storage import dialects
from cowrieprocessor.storage.counters import session_counters
from cowrieprocessor.storage.engine import json_serializer
from cowrieprocessor.storage.generated import snapshot_country_sql
from cowrieprocessor.storage.models import ASNInventory, IPASNHistory, IPInventory, SessionSummary
from cowrieprocessor.storage.types import IPAddress
from cowrieprocessor.tiers.freshness import FreshnessPolicy, format_time
from cowrieprocessor.tiers.merge import IPState


def _prov(source: str, key: str) -> ColumnElement[str]:
    element: ColumnElement[str] = IPInventory.provenance[source][key].as_string()
    return element


def needs_work(
    sources: Collection[str],
    now: dt.datetime,
    *,
    refresh_stale: bool,
    active_since: dt.datetime,
    policy: FreshnessPolicy,
) -> ColumnElement[bool]:
    """Never enriched; a source never asked (newly enabled, or skipped by budget/breaker); a failed call
    whose retry time has come; and with ``refresh_stale``, active IPs (never bogons) with an answer that
    today's TTLs make stale."""
    now_text = format_time(now)
    conditions: list[ColumnElement[bool]] = [IPInventory.enrichment_updated_at.is_(None)]
    for source in sources:
        conditions.append(_prov(source, "status").is_(None))
        conditions.append(and_(_prov(source, "status") == "error", _prov(source, "expires_at") < now_text))
    condition = or_(*conditions)
    if refresh_stale and policy is not None:
        stale = or_(*(policy.stale_condition(now, s, functools.partial(_prov, s)) for s in sources))
        condition = or_(
            condition, and_(stale, IPInventory.last_seen >= active_since, IPInventory.is_bogon_stored.is_(False))
        )
    elif refresh_stale:
        stale = or_(*(and_(_prov(s, "expires_at").is_not(None), _prov(s, "expires_at") < now_text) for s in sources))
        condition = or_(condition, and_(stale, IPInventory.last_seen >= active_since))
    return condition


def never_enriched() -> ColumnElement[bool]:
    """The cheapest part of ``needs_work`` (indexed): IPs no pass has written yet."""
    return IPInventory.enrichment_updated_at.is_(None)


def claim(
    conn: Connection, condition: ColumnElement[bool], *, worker: str, now: dt.datetime, lease: dt.timedelta, limit: int
) -> list[IPState]:
    """Take up to ``limit`` IPs that need work and nobody else holds (SKIP LOCKED on PostgreSQL)."""
    candidates = (
        select(IPInventory.ip_address)
        .where(condition)
        .where(or_(IPInventory.claimed_until.is_(None), IPInventory.claimed_until < now))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(
        update(IPInventory)
        .where(IPInventory.ip_address.in_(candidates.scalar_subquery()))
        .values(claimed_by=worker, claimed_until=now + lease)
        .returning(IPInventory.ip_address, IPInventory.enrichment, IPInventory.provenance, IPInventory.current_asn)
    ).all()
    return [IPState(ip=r[0], enrichment=dict(r[1] or {}), provenance=dict(r[2] or {}), previous_asn=r[3]) for r in rows]


#: SQLite page cache for the pass's connections, in KiB (SQLite's default is 2 MiB): a batch rewrites tens of
#: thousands of session rows spread over the whole file, and a small cache spills and re-reads pages.
SQLITE_CACHE_KIB = 262_144


#: WAL length (pages, 256 MiB) at which a pass's own commit checkpoints. SQLite's default (1000) made nearly
#: every batch's COMMIT copy the whole batch back into the database file and sync it; most of those pages
#: (session rows, their indexes) are written again by the next batches, so the pass checkpoints them once, at
#: its end (:func:`checkpoint`), and the WAL only reaches this length on passes larger than that.
SQLITE_WAL_PAGES = 65_536


def use_large_cache(conn: Connection) -> None:
    """Give this (pooled) SQLite connection a page cache sized for batch writes, and the pass's longer WAL;
    nothing on PostgreSQL."""
    for statement in dialects.of(conn).batch_tuning:
        conn.exec_driver_sql(statement.format(kib=SQLITE_CACHE_KIB, pages=SQLITE_WAL_PAGES))


def checkpoint(conn: Connection) -> None:
    """End of a pass on SQLite: write the WAL back to the database file (``PASSIVE``: readers are not
    waited for) and give the connection SQLite's default automatic checkpoint again. Nothing on PostgreSQL."""
    for statement in dialects.of(conn).batch_end:
        conn.exec_driver_sql(statement)


def lock_ips(conn: Connection, ips: Sequence[str]) -> None:
    """Lock the IPs' rows in address order before touching their sessions (ingestion does the same), so
    concurrent workers queue on shared IPs instead of deadlocking. A no-op on SQLite (one writer)."""
    if ips and dialects.of(conn).row_locks:
        conn.execute(
            select(IPInventory.ip_address)
            .where(IPInventory.ip_address.in_(sorted(ips)))
            .order_by(IPInventory.ip_address)
            .with_for_update()
        )


def lease_holders(conn: Connection, now: dt.datetime) -> dict[str, tuple[int, dt.datetime]]:
    """Every worker holding a lease that has not expired: (IPs held, lease end)."""
    rows = conn.execute(
        select(IPInventory.claimed_by, func.count(), func.max(IPInventory.claimed_until))
        .where(IPInventory.claimed_by.is_not(None), IPInventory.claimed_until >= now)
        .group_by(IPInventory.claimed_by)
    ).all()
    return {str(r[0]): (int(r[1]), r[2]) for r in rows}


def take_over(conn: Connection, holders: Sequence[str]) -> int:
    """End the leases of ``holders`` (processes known to be gone) at once; how many IPs they held."""
    if not holders:
        return 0
    result = conn.execute(
        update(IPInventory).where(IPInventory.claimed_by.in_(holders)).values(claimed_by=None, claimed_until=None)
    )
    return int(result.rowcount or 0)


def release(conn: Connection, ips: Sequence[str], worker: str) -> None:
    if ips:
        conn.execute(
            update(IPInventory)
            .where(IPInventory.ip_address.in_(ips), IPInventory.claimed_by == worker)
            .values(claimed_by=None, claimed_until=None)
        )


def upsert_asns(conn: Connection, states: Iterable[IPState], now: dt.datetime) -> None:
    """Create or refresh the organisation rows behind the batch's ASNs (sorted: a stable lock order)."""
    from cowrieprocessor.tiers import documents

    rows: dict[int, dict[str, Any]] = {}
    for state in states:
        if state.current_asn is None or state.asn_class is None:
            continue
        row = rows.setdefault(
            state.current_asn,
            {
                "asn_number": state.current_asn,
                "organization_name": None,
                "organization_country": None,
                "rir_registry": None,
                "asn_type": state.asn_class.asn_type,
                "is_known_hosting": state.asn_class.is_known_hosting,
                "is_known_vpn": False,
                "enrichment": {},
                "enrichment_updated_at": now,
            },
        )
        row["organization_name"] = row["organization_name"] or documents.pick_org(state.enrichment)
        row["organization_country"] = row["organization_country"] or documents.org_country(state.enrichment)
        row["rir_registry"] = row["rir_registry"] or documents.registry(state.enrichment)
        row["is_known_vpn"] = row["is_known_vpn"] or state.asn_class.is_known_vpn
        if state.asn_class.asn_type != "UNKNOWN":
            row["asn_type"] = state.asn_class.asn_type
            row["is_known_hosting"] = state.asn_class.is_known_hosting
        if state.asn_source and state.asn_source in state.enrichment:
            row["enrichment"].setdefault("source", state.asn_source)
    if not rows:
        return
    # executemany of one small statement: a multi-row VALUES of thousands of ASNs costs more to compile
    stmt = dialects.of(conn).insert(ASNInventory)
    excluded = stmt.excluded
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[ASNInventory.asn_number],
            set_={
                "organization_name": func.coalesce(excluded.organization_name, ASNInventory.organization_name),
                "organization_country": func.coalesce(excluded.organization_country, ASNInventory.organization_country),
                "rir_registry": func.coalesce(excluded.rir_registry, ASNInventory.rir_registry),
                "asn_type": excluded.asn_type,
                "is_known_hosting": excluded.is_known_hosting,
                "is_known_vpn": excluded.is_known_vpn,
                "enrichment_updated_at": excluded.enrichment_updated_at,
                "updated_at": excluded.enrichment_updated_at,
            },
        ),
        sorted(rows.values(), key=lambda r: r["asn_number"]),
    )


def write_ips(conn: Connection, states: Sequence[IPState], now: dt.datetime) -> None:
    if not states:
        return
    if dialects.of(conn).bulk_copy:
        _write_ips_copy(conn, states, now)
    else:
        _write_ips_executemany(conn, states, now)


def _write_ips_executemany(conn: Connection, states: Sequence[IPState], now: dt.datetime) -> None:
    """One driver-level executemany: the values go through the columns' own bind processors (same
    stored form), without SQLAlchemy's per-row parameter construction, which cost more than the writes."""
    dialect = conn.dialect
    ip_of = IPAddress().bind_processor(dialect)
    enrichment_of = IPInventory.enrichment.type.bind_processor(dialect)
    provenance_of = IPInventory.provenance.type.bind_processor(dialect)
    time_of = IPInventory.updated_at.type.bind_processor(dialect)
    assert ip_of and enrichment_of and provenance_of and time_of
    stamp = time_of(now)
    conn.exec_driver_sql(
        "UPDATE ip_inventory SET enrichment = ?, provenance = ?, current_asn = ?,"
        " asn_last_verified = coalesce(?, asn_last_verified), enrichment_updated_at = ?, updated_at = ?,"
        " claimed_by = NULL, claimed_until = NULL WHERE ip_address = ?",
        [
            (
                enrichment_of(s.enrichment),
                provenance_of(s.provenance),
                s.current_asn,
                stamp if s.asn_verified else None,
                stamp,
                stamp,
                ip_of(s.ip),
            )
            for s in states
        ],
    )


def _write_ips_copy(conn: Connection, states: Sequence[IPState], now: dt.datetime) -> None:
    """COPY the batch into a temporary table and update from it: one statement, not one per IP (the
    per-statement round trips and planning were most of the cost)."""
    conn.exec_driver_sql(
        "CREATE TEMP TABLE enrich_ip_batch (ip inet, enrichment jsonb, provenance jsonb, asn bigint,"
        " verified timestamptz) ON COMMIT DROP"
    )
    copy_rows(
        conn,
        "enrich_ip_batch (ip, enrichment, provenance, asn, verified)",
        (
            (
                s.ip,
                json_serializer(s.enrichment),
                json_serializer(s.provenance),
                s.current_asn,
                now if s.asn_verified else None,
            )
            for s in states
        ),
    )
    conn.execute(
        text(
            """
            UPDATE ip_inventory AS i
            SET enrichment = b.enrichment, provenance = b.provenance, current_asn = b.asn,
                asn_last_verified = coalesce(b.verified, i.asn_last_verified),
                enrichment_updated_at = :now, updated_at = :now, claimed_by = NULL, claimed_until = NULL
            FROM enrich_ip_batch AS b
            WHERE i.ip_address = b.ip
            """
        ).bindparams(bindparam("now", type_=IPInventory.updated_at.type)),
        {"now": now},
    )
    conn.exec_driver_sql("DROP TABLE enrich_ip_batch")


def copy_rows(conn: Connection, target: str, rows: Iterable[Sequence[Any]]) -> None:
    """``COPY target FROM STDIN`` on the transaction's own PostgreSQL connection (text format: JSON goes
    in as its serialised text, addresses and times as psycopg spells them)."""
    statement = f"COPY {target} FROM STDIN"
    dbapi_error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi_error as exc:  # raised as SQLAlchemy raises it, so callers (and retries) see one error type
        raise DBAPIError.instance(statement, None, exc, dbapi_error, dialect=conn.dialect) from exc
    finally:
        cursor.close()


def record_history(conn: Connection, states: Sequence[IPState], now: dt.datetime, observed_by: dict[str, str]) -> int:
    """Close the open window of every IP whose ASN changed and open the new one (first sight opens one)."""
    changed = [s for s in states if s.current_asn is not None and s.current_asn != s.previous_asn]
    if not changed:
        return 0
    ips = [s.ip for s in changed]
    rows = conn.execute(
        select(IPASNHistory.ip_address, IPASNHistory.asn_number).where(
            IPASNHistory.ip_address.in_(ips), IPASNHistory.valid_until.is_(None)
        )
    ).tuples()
    open_windows = {ip: asn for ip, asn in rows}
    really = [s for s in changed if open_windows.get(s.ip) != s.current_asn]
    to_close = [s.ip for s in really if s.ip in open_windows]
    if to_close:
        conn.execute(
            update(IPASNHistory)
            .where(IPASNHistory.ip_address.in_(to_close), IPASNHistory.valid_until.is_(None))
            .values(valid_until=now)
        )
    if really and dialects.of(conn).bulk_copy:
        # In a scattered (but fixed) order, not address order: the no-overlap exclusion constraint's GiST
        # index builds a poor tree from sorted keys, and then each insert's overlap check costs more - the
        # batch's history rows went in 2.7x faster (1.8 s instead of 4.9 s for 35,679 windows).
        copy_rows(
            conn,
            "ip_asn_history (ip_address, asn_number, valid_from, observed_by)",
            (
                (s.ip, s.current_asn, now, observed_by.get(s.ip))
                for s in sorted(really, key=lambda s: zlib.crc32(s.ip.encode()))
            ),
        )
    elif really:
        conn.execute(
            insert(IPASNHistory),
            [
                {
                    "ip_address": s.ip,
                    "asn_number": s.current_asn,
                    "valid_from": now,
                    "observed_by": observed_by.get(s.ip),
                }
                for s in really
            ],
        )
    return len(really)


#: Freezing sessions' snapshots; the two forms differ only in how the rows are found.
#: With array parameters (PostgreSQL): ``= ANY(array)`` on both sides, so the sessions are found through the
#: pending-snapshot index for these IPs only (with an ``IN`` list the planner misjudged the pending set and
#: merge-joined all of it, every session still waiting, for each batch). With rowids (SQLite): the rows are
#: rewritten in rowid order (a materialised, sorted sub-query): each snapshot makes its row grow, and growing the
#: rows of one page together, page after page, took half the time of jumping across the whole table (and
#: dirtied fewer pages for the commit to write).
_SNAPSHOT_BY_ARRAY = f"""
        UPDATE session_summaries AS s
        SET snapshot_asn = i.current_asn,
            snapshot_country = {snapshot_country_sql("i.geo_country")},
            snapshot_ip_types = i.ip_types,
            enrichment = i.enrichment,
            enrichment_at = :now,
            snapshot_source = CASE WHEN s.first_event_at >= :live_since THEN 'ingest' ELSE 'late' END
        FROM ip_inventory AS i
        WHERE i.ip_address = s.source_ip
          AND s.enrichment_at IS NULL
          AND s.source_ip = ANY(CAST(:ips AS inet[]))
          AND i.ip_address = ANY(CAST(:ips AS inet[]))
        """
_SNAPSHOT_BY_ROWID = f"""
        UPDATE session_summaries
        SET snapshot_asn = t.asn, snapshot_country = t.country, snapshot_ip_types = t.types,
            enrichment = t.doc, enrichment_at = :now,
            snapshot_source = CASE WHEN t.live THEN 'ingest' ELSE 'late' END
        FROM (
            SELECT s.rowid AS rid, i.current_asn AS asn, {snapshot_country_sql("i.geo_country")} AS country,
                   i.ip_types AS types, i.enrichment AS doc, s.first_event_at >= :live_since AS live
            FROM session_summaries AS s JOIN ip_inventory AS i ON i.ip_address = s.source_ip
            WHERE s.enrichment_at IS NULL AND s.source_ip IN :ips
            ORDER BY s.rowid
        ) AS t
        WHERE session_summaries.rowid = t.rid
        """


def take_snapshots(conn: Connection, ips: Sequence[str], now: dt.datetime, live_since: dt.datetime) -> int:
    """Freeze the IP's current state into every session of these IPs that has no snapshot yet.

    The values come from ``ip_inventory`` itself (its generated country and types columns), so a snapshot is
    exactly the row the batch just wrote.
    """
    if not ips:
        return 0
    by_array = dialects.of(conn).array_params
    times = SessionSummary.enrichment_at.type
    statement = text(_SNAPSHOT_BY_ARRAY if by_array else _SNAPSHOT_BY_ROWID).bindparams(
        bindparam("now", type_=times), bindparam("live_since", type_=times)
    )
    if not by_array:
        statement = statement.bindparams(bindparam("ips", expanding=True, type_=IPAddress()))
    result = conn.execute(statement, {"ips": sorted(ips), "now": now, "live_since": live_since})
    return int(result.rowcount or 0)


def late_sessions(conn: Connection, ips: Sequence[str], live_since: dt.datetime) -> list[tuple[str, str, dt.datetime]]:
    """Sessions of these IPs, without a snapshot, older than the live window: (session, ip, first event)."""
    if not ips:
        return []
    rows = conn.execute(
        select(SessionSummary.session_id, SessionSummary.source_ip, SessionSummary.first_event_at).where(
            SessionSummary.source_ip.in_(ips),
            SessionSummary.enrichment_at.is_(None),
            SessionSummary.first_event_at < live_since,
        )
    ).all()
    return [(r[0], r[1], r[2]) for r in rows if r[1] is not None and r[2] is not None]


def write_routed_snapshots(conn: Connection, rows: Sequence[dict[str, Any]], now: dt.datetime) -> int:
    """Late snapshots whose ASN comes from routing history at the attack date."""
    if not rows:
        return 0
    conn.execute(
        update(SessionSummary)
        .where(SessionSummary.session_id == bindparam("b_sid"), SessionSummary.enrichment_at.is_(None))
        .values(
            snapshot_asn=bindparam("b_asn"),
            snapshot_country=bindparam("b_country"),
            snapshot_ip_types=bindparam("b_types", type_=SessionSummary.snapshot_ip_types.type),
            enrichment=bindparam("b_doc", type_=SessionSummary.enrichment.type),
            enrichment_at=now,
            snapshot_source="routing_history",
        ),
        list(rows),
    )
    return len(rows)


def refresh_ip_counters(conn: Connection, ips: Sequence[str] | None) -> None:
    """Recount these IPs (``None``: every IP) from their sessions' event times (``storage.counters``' rule).

    One grouped aggregate joined in (``UPDATE ... FROM``), not correlated ``MIN``/``MAX`` sub-queries:
    PostgreSQL would answer those by walking the whole event-time index.
    """
    if ips is not None and not ips:
        return
    sessions = SessionSummary.__table__
    s = sessions.c
    if ips is not None:  # from the IPs, so one whose last session moved away counts zero
        listed = IPInventory.__table__.alias("listed")
        aggregate = (
            select(listed.c.ip_address.label("ip"), *session_counters(sessions))
            .select_from(listed.outerjoin(sessions, s.source_ip == listed.c.ip_address))
            .where(listed.c.ip_address.in_(ips))
            .group_by(listed.c.ip_address)
        )
    else:  # a full recount also clears IPs that no longer have any session
        aggregate = select(s.source_ip.label("ip"), *session_counters(sessions)).group_by(s.source_ip)
        conn.execute(update(IPInventory).values(session_count=0, first_seen=None, last_seen=None))
    a = aggregate.subquery()
    conn.execute(
        update(IPInventory)
        .where(IPInventory.ip_address == a.c.ip)
        # ingestion keeps most counters right already: rewriting an unchanged row costs its index updates
        .where(
            or_(
                IPInventory.session_count.is_distinct_from(a.c.n),
                IPInventory.first_seen.is_distinct_from(a.c.first),
                IPInventory.last_seen.is_distinct_from(a.c.last),
            )
        )
        .values(session_count=a.c.n, first_seen=a.c.first, last_seen=a.c.last)
    )


def refresh_asn_counters(conn: Connection, asns: Collection[int] | None) -> None:
    """IPs now in the AS, and sessions attributed to it at attack time (snapshots), with their time span.

    ``None`` recounts every AS. Rows are locked in ASN order first: concurrent workers queue instead of
    deadlocking, and each recount sees the sessions the previous worker committed. Counters are reset,
    then set from grouped aggregates, so an AS that lost its last IP or session goes back to zero.
    """
    if asns is not None and not asns:
        return
    chosen = None if asns is None else sorted(asns)

    def only(statement: Any, column: Any) -> Any:
        return statement if chosen is None else statement.where(column.in_(chosen))

    conn.execute(
        only(
            select(ASNInventory.asn_number).order_by(ASNInventory.asn_number), ASNInventory.asn_number
        ).with_for_update()
    )
    conn.execute(
        only(update(ASNInventory), ASNInventory.asn_number).values(
            unique_ip_count=0, total_session_count=0, first_seen=None, last_seen=None
        )
    )
    table = SessionSummary.__table__
    s = table.c
    sessions = only(
        select(s.snapshot_asn.label("asn"), *session_counters(table)).group_by(s.snapshot_asn), s.snapshot_asn
    ).subquery()
    conn.execute(
        update(ASNInventory)
        .where(ASNInventory.asn_number == sessions.c.asn)
        .values(total_session_count=sessions.c.n, first_seen=sessions.c.first, last_seen=sessions.c.last)
    )
    ips = only(
        select(IPInventory.current_asn.label("asn"), func.count().label("n")).group_by(IPInventory.current_asn),
        IPInventory.current_asn,
    ).subquery()
    conn.execute(update(ASNInventory).where(ASNInventory.asn_number == ips.c.asn).values(unique_ip_count=ips.c.n))


def pending_snapshot_ips(conn: Connection, limit: int) -> list[str]:
    """IPs already enriched (and not being worked on) that have sessions without a snapshot."""
    rows = conn.execute(
        select(SessionSummary.source_ip)
        .join(IPInventory, IPInventory.ip_address == SessionSummary.source_ip)
        .where(SessionSummary.enrichment_at.is_(None), IPInventory.enrichment_updated_at.is_not(None))
        .where(IPInventory.claimed_by.is_(None))
        .distinct()
        .limit(limit)
    ).all()
    return [r[0] for r in rows]


def asns_of(conn: Connection, ips: Sequence[str]) -> set[int]:
    """ASNs touched by these IPs: current ones and those of their session snapshots."""
    if not ips:
        return set()
    current = conn.execute(
        select(IPInventory.current_asn).where(IPInventory.ip_address.in_(ips), IPInventory.current_asn.is_not(None))
    ).scalars()
    snap = conn.execute(
        select(SessionSummary.snapshot_asn)
        .where(SessionSummary.source_ip.in_(ips), SessionSummary.snapshot_asn.is_not(None))
        .distinct()
    ).scalars()
    return {int(a) for a in (*current, *snap)}


def ensure_asn_rows(conn: Connection, asns: Collection[int]) -> None:
    """Snapshot ASNs from routing history may be unknown to the inventory yet: give them a row."""
    if not asns:
        return
    stmt = dialects.of(conn).insert(ASNInventory).values([{"asn_number": a} for a in sorted(asns)])
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[ASNInventory.asn_number]))
