"""Set-based steps of the v15 -> v16 upgrade, run inside the migration's single transaction.

Every step is ``INSERT ... SELECT`` or ``UPDATE ... FROM`` over the whole table (the snapshot update in
keyset ranges of session ids, so progress can be shown): no OFFSET loops and no row-by-row Python, so the
upgrade scales with the database engine. Legacy JSON shapes are read by the SQL of
:mod:`cowrieprocessor.storage.v15_enrichment`; the session ``enrichment`` column is only ever read.

Progress goes to the callback installed with :func:`reporting` (the CLI renders it; tests install none).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import Connection, text

from cowrieprocessor.storage import dialects
from cowrieprocessor.storage.v15_enrichment import LegacySQL

log = logging.getLogger(__name__)

SNAPSHOT_CHUNK = 100_000
FK_NAME = "fk_session_summaries_source_ip_ip_inventory"

DETAIL_TABLES = ("raw_events", "auth_attempts", "commands", "file_transfers", "ssh_keys")


@dataclass(frozen=True)
class Progress:
    """One step of one phase: ``done`` of ``total`` rows after ``elapsed`` seconds."""

    phase: str
    done: int
    total: int | None
    elapsed: float
    finished: bool = False
    note: str = ""


ProgressCallback = Callable[[Progress], None]
_callback: ContextVar[ProgressCallback | None] = ContextVar("backfill_progress", default=None)


@contextmanager
def reporting(callback: ProgressCallback) -> Iterator[None]:
    """Send the progress of any upgrade run inside this block to ``callback``."""
    token = _callback.set(callback)
    try:
        yield
    finally:
        _callback.reset(token)


class _Phase:
    """One named step of an upgrade, reported to the installed callback (and logged when finished)."""

    def __init__(self, name: str, total: int | None) -> None:
        self.name, self.total, self.started = name, total, time.monotonic()

    def update(self, done: int, *, finished: bool = False, note: str = "") -> None:
        progress = Progress(self.name, done, self.total, time.monotonic() - self.started, finished, note)
        if finished:
            log.info("%s: %s rows in %.1fs %s", self.name, done, progress.elapsed, note)
        callback = _callback.get()
        if callback is not None:
            callback(progress)


Phase = _Phase  # for the other modules of the upgrade


# ------------------------------------------------------------------------------------- baseline ---


def _asn_sql(bind: Connection) -> str:
    """Distinct ASNs named by the stored session enrichment (same SQL at v15 and v16: it reads JSON only)."""
    sql = LegacySQL(bind)
    obj = f"{sql.typ('enrichment')} = 'object'"
    roots = f"SELECT {sql.root('enrichment', 'source_ip')} AS r FROM session_summaries WHERE {obj}"
    return f"SELECT COUNT(DISTINCT a) FROM (SELECT {sql.snapshot_asn('q.r')} AS a FROM ({roots}) q) t"


def measure(bind: Connection) -> dict[str, int]:
    """The metrics that must survive any schema change, as they are now."""
    queries = {
        "sessions": "SELECT COUNT(*) FROM session_summaries",
        "sessions_with_enrichment": "SELECT COUNT(*) FROM session_summaries WHERE enrichment IS NOT NULL",
        "unique_source_ips": "SELECT COUNT(DISTINCT source_ip) FROM session_summaries",
        "unique_asns": _asn_sql(bind),
        **{table: f"SELECT COUNT(*) FROM {table}" for table in DETAIL_TABLES},
    }
    return {name: int(bind.execute(text(sql)).scalar_one()) for name, sql in queries.items()}


def revision_number(revision: str | None) -> int:
    """``"v15"`` -> 15 (the baseline table stores integers); no revision -> 0."""
    digits = "".join(ch for ch in (revision or "") if ch.isdigit())
    return int(digits) if digits else 0


def record_baseline(bind: Connection, from_revision: str) -> dict[str, int]:
    phase = _Phase("baseline", None)
    metrics = measure(bind)
    metrics["schema_revision"] = revision_number(from_revision)
    bind.execute(
        text("INSERT INTO migration_baseline (metric, value, from_revision) VALUES (:m, :v, :r)"),
        [{"m": name, "v": value, "r": from_revision} for name, value in metrics.items()],
    )
    phase.update(metrics["sessions"], finished=True, note=f"{metrics['unique_asns']} ASNs")
    return metrics


# ---------------------------------------------------------------------------------------- tiers ---


def populate_tiers(bind: Connection) -> None:
    """Snapshots, then ASN inventory, IP inventory, IP->ASN history and ASN types, all from stored data."""
    from cowrieprocessor.storage.asn_types import classify_asns  # it reports through this module

    sql = LegacySQL(bind)
    for statement in (*sql.d.bulk_setup, *sql.d.session_helpers):
        bind.execute(text(statement))
    backfill_snapshots(bind, sql)
    build_asn_inventory(bind, sql)
    build_ip_inventory(bind, sql)
    build_ip_asn_history(bind)
    classify_asns(bind)


def _chunk_bounds(bind: Connection, size: int) -> list[str | None]:
    """Session ids at every ``size``-th position: keyset boundaries found in one ordered scan."""
    rows = bind.execute(
        text(
            "SELECT session_id FROM (SELECT session_id, ROW_NUMBER() OVER (ORDER BY session_id) AS rn "
            "FROM session_summaries) t WHERE rn % :size = 0 ORDER BY session_id"
        ),
        {"size": size},
    ).scalars()
    return [None, *rows, None]


def backfill_snapshots(bind: Connection, sql: LegacySQL, chunk: int = SNAPSHOT_CHUNK) -> int:
    """Every session with a stored enrichment object gets its point-in-time snapshot from that object."""
    total = int(bind.execute(text("SELECT COUNT(*) FROM session_summaries")).scalar_one())
    phase = _Phase("snapshots", total)
    is_obj = f"{sql.typ('enrichment')} = 'object'"
    r = "q.r"
    statement = f"""
        UPDATE session_summaries SET
            snapshot_asn = f.asn, snapshot_country = f.cc, snapshot_ip_types = f.types,
            snapshot_source = 'migration',
            enrichment_at = COALESCE(f.at, session_summaries.created_at, session_summaries.last_event_at)
        FROM (
            SELECT q.session_id, {sql.snapshot_asn(r)} AS asn, {sql.snapshot_country(r)} AS cc,
                   {sql.snapshot_ip_types(r)} AS types, {sql.enrichment_time("q.e", r)} AS at
            FROM (SELECT session_id, enrichment AS e, {sql.root("enrichment", "source_ip")} AS r
                  FROM session_summaries WHERE {is_obj} AND {{range}}) q
        ) f
        WHERE session_summaries.session_id = f.session_id
    """
    bounds = _chunk_bounds(bind, chunk)
    updated = 0
    for done, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        conditions = [c for c, v in (("session_id > :lo", lo), ("session_id <= :hi", hi)) if v is not None]
        where = " AND ".join(conditions) or "1 = 1"
        updated += bind.execute(text(statement.replace("{range}", where)), {"lo": lo, "hi": hi}).rowcount
        phase.update(min((done + 1) * chunk, total))
    phase.update(total, finished=True, note=f"{updated} snapshots")
    return updated


def _latest(sql: LegacySQL, key: str, columns: str, where: str, order: str) -> str:
    """One row per ``key``: the latest by ``order`` (DISTINCT ON on PostgreSQL, a window on SQLite)."""
    if sql.d.distinct_on:
        return f"SELECT DISTINCT ON ({key}) {columns} FROM session_summaries WHERE {where} ORDER BY {key}, {order}"
    return (
        f"SELECT * FROM (SELECT {columns}, ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY {order}) AS rn "
        f"FROM session_summaries WHERE {where}) w WHERE w.rn = 1"
    )


def build_asn_inventory(bind: Connection, sql: LegacySQL) -> int:
    """One row per ASN seen in a snapshot; names from the latest enrichment, counters from the sessions."""
    phase = _Phase("asn_inventory", None)
    latest = _latest(
        sql, "snapshot_asn",
        f"snapshot_asn AS asn, {sql.root('enrichment', 'source_ip')} AS r",
        "snapshot_asn IS NOT NULL", "enrichment_at DESC, session_id DESC",
    )  # fmt: skip
    name, country, registry = sql.org("o.r", "o.asn")
    count = bind.execute(
        text(f"""
            INSERT INTO asn_inventory (asn_number, organization_name, organization_country, rir_registry,
                                       first_seen, last_seen, unique_ip_count, total_session_count)
            SELECT a.asn, {name}, {country}, {registry}, a.first_seen, a.last_seen, a.ips, a.sessions
            FROM (SELECT snapshot_asn AS asn, MIN(COALESCE(first_event_at, enrichment_at)) AS first_seen,
                         MAX(COALESCE(last_event_at, first_event_at, enrichment_at)) AS last_seen,
                         COUNT(DISTINCT source_ip) AS ips, COUNT(*) AS sessions
                  FROM session_summaries WHERE snapshot_asn IS NOT NULL GROUP BY snapshot_asn) a
            JOIN ({latest}) o ON o.asn = a.asn
        """)
    ).rowcount
    phase.update(count, finished=True)
    return count


def build_ip_inventory(bind: Connection, sql: LegacySQL) -> int:
    """One row per source IP: counters from all its sessions, document from its latest informative
    enrichment; ``enrichment_updated_at`` stays NULL so the next refresh treats every row as stale."""
    phase = _Phase("ip_inventory", None)
    latest = _latest(
        sql, "source_ip",
        f"source_ip AS ip, snapshot_asn AS asn, {sql.root('enrichment', 'source_ip')} AS r",
        "snapshot_source = 'migration' AND source_ip IS NOT NULL",
        "(CASE WHEN snapshot_asn IS NULL AND snapshot_country IS NULL THEN 1 ELSE 0 END), "
        "enrichment_at DESC, session_id DESC",
    )  # fmt: skip
    empty = sql.d.json_empty_object()
    # Materialised first: the document SQL reads ``r`` many times, cheap from a column, dear from a window.
    # The documents are built once into a temporary table, indexed, then joined (no nested-loop rescans).
    on_commit = sql.d.temp_on_commit_drop
    bind.execute(
        text(
            f"CREATE TEMP TABLE cp_latest_ip {on_commit}AS "
            f"SELECT d.ip, d.asn, d.doc FROM ({sql.document_query(latest)}) d"
        )
    )
    bind.execute(text("CREATE INDEX cp_latest_ip_ip ON cp_latest_ip (ip)"))
    count = bind.execute(
        text(f"""
            INSERT INTO ip_inventory (ip_address, current_asn, enrichment, first_seen, last_seen, session_count)
            SELECT c.ip, l.asn, COALESCE(l.doc, {empty}), c.first_seen, c.last_seen, c.sessions
            FROM (SELECT source_ip AS ip, MIN(first_event_at) AS first_seen,
                         MAX(COALESCE(last_event_at, first_event_at)) AS last_seen, COUNT(*) AS sessions
                  FROM session_summaries WHERE source_ip IS NOT NULL GROUP BY source_ip) c
            LEFT JOIN cp_latest_ip l ON l.ip = c.ip
        """)
    ).rowcount
    bind.execute(text("DROP TABLE cp_latest_ip"))
    phase.update(count, finished=True)
    return count


#: ``ip_asn_history.observed_by`` of the windows rebuilt from the ASN each v15 session recorded.
V15_PROVENANCE = "v15 session enrichment"

#: The ASN of every IP at each attack instant (one per instant: the latest session id's, if two disagree).
_OBSERVATIONS = """
    SELECT ip, asn, at FROM (
        SELECT source_ip AS ip, snapshot_asn AS asn, COALESCE(first_event_at, enrichment_at) AS at,
               ROW_NUMBER() OVER (PARTITION BY source_ip, COALESCE(first_event_at, enrichment_at)
                                  ORDER BY session_id DESC) AS rn
        FROM session_summaries
        WHERE snapshot_asn IS NOT NULL AND source_ip IS NOT NULL
          AND COALESCE(first_event_at, enrichment_at) IS NOT NULL
    ) o WHERE o.rn = 1
"""

#: Gaps and islands: a window starts at each observation whose ASN differs from the one before it, and
#: ends where the next one starts (the last stays open). Instants are distinct per IP, so every window
#: has ``valid_until > valid_from`` and no two windows of one IP overlap.
_WINDOWS = f"""
    SELECT s.ip, s.asn, s.at AS valid_from, LEAD(s.at) OVER (PARTITION BY s.ip ORDER BY s.at) AS valid_until
    FROM (SELECT m.ip, m.asn, m.at FROM (
              SELECT p.ip, p.asn, p.at, LAG(p.asn) OVER (PARTITION BY p.ip ORDER BY p.at) AS prev
              FROM ({_OBSERVATIONS}) p
          ) m WHERE m.prev IS NULL OR m.prev <> m.asn) s
"""


def build_ip_asn_history(bind: Connection) -> int:
    """Every IP's ASN windows, rebuilt from the ASN its sessions recorded at each attack, in time order.

    A new window opens at each change of ASN (back and forth included); the IP's current ASN is then the
    one of its open window, so the next enrichment pass closes that window when the IP moves again.
    """
    phase = _Phase("ip_asn_history", None)
    # PostgreSQL: in a scattered order - the no-overlap GiST index builds a poor tree from sorted keys
    # (234 k windows: 13-17 s so, 37-45 s in address order).
    order = dialects.of(bind).scattered_order("w.ip")
    count = bind.execute(
        text(f"""
            INSERT INTO ip_asn_history (ip_address, asn_number, valid_from, valid_until, observed_by)
            SELECT w.ip, w.asn, w.valid_from, w.valid_until, :by FROM ({_WINDOWS}) w {order}
        """),
        {"by": V15_PROVENANCE},
    ).rowcount
    realigned = bind.execute(
        text("""
            UPDATE ip_inventory SET current_asn = (
                SELECT h.asn_number FROM ip_asn_history h
                WHERE h.ip_address = ip_inventory.ip_address AND h.valid_until IS NULL)
            WHERE EXISTS (SELECT 1 FROM ip_asn_history h WHERE h.ip_address = ip_inventory.ip_address
                          AND h.valid_until IS NULL AND h.asn_number <> ip_inventory.current_asn)
        """)
    ).rowcount
    moved = int(
        bind.execute(
            text("SELECT COUNT(*) FROM (SELECT ip_address FROM ip_asn_history GROUP BY ip_address "
                 "HAVING COUNT(*) > 1) m")
        ).scalar_one()
    )  # fmt: skip
    ips = int(bind.execute(text("SELECT COUNT(DISTINCT ip_address) FROM ip_asn_history")).scalar_one())
    note = f"{count} windows, {count - ips} changes of ASN on {moved} IPs; {realigned} current ASNs set to the latest"
    phase.update(count, finished=True, note=note)
    return count


# --------------------------------------------------------------------------------- foreign keys ---

ORPHANS_SQL = (
    "SELECT s.source_ip FROM session_summaries s WHERE s.source_ip IS NOT NULL AND NOT EXISTS "
    "(SELECT 1 FROM ip_inventory i WHERE i.ip_address = s.source_ip)"
)


def orphans(bind: Connection) -> int:
    """Sessions whose source IP has no inventory row (must be 0 before the foreign key exists)."""
    return int(bind.execute(text(f"SELECT COUNT(*) FROM ({ORPHANS_SQL}) o")).scalar_one())


def add_session_ip_foreign_key(bind: Connection) -> None:
    """Sessions -> IP inventory, after an orphan check; on PostgreSQL NOT VALID then VALIDATE."""
    phase = _Phase("foreign key", None)
    found = orphans(bind)
    if found:
        examples = bind.execute(text(f"{ORPHANS_SQL} LIMIT 5")).scalars().all()
        raise RuntimeError(
            f"{found} sessions reference IPs missing from ip_inventory (e.g. {', '.join(map(str, examples))}); "
            "upgrade aborted, nothing changed"
        )
    if dialects.of(bind).alter_constraints:
        bind.execute(
            text(
                f"ALTER TABLE session_summaries ADD CONSTRAINT {FK_NAME} "
                "FOREIGN KEY (source_ip) REFERENCES ip_inventory (ip_address) NOT VALID"
            )
        )
        bind.execute(text(f"ALTER TABLE session_summaries VALIDATE CONSTRAINT {FK_NAME}"))
    else:
        from alembic import op

        with op.batch_alter_table("session_summaries") as batch:
            batch.create_foreign_key(FK_NAME, "ip_inventory", ["source_ip"], ["ip_address"])
    phase.update(0, finished=True, note="0 orphans")
