"""The least time the snapshots of a pass can take: a floor under any enrichment pass's wall time.

    .venv/bin/python bench/snapshot_floor.py --db URL [--pg-admin URL]

``URL`` is a database whose enrichment pass has run (``bench_enrich.py`` measures one on each backend
itself). On a copy of it, every session's snapshot is cleared (the copy is compacted afterwards, so its
rows are laid out as after ingestion), then given again by the cheapest statement there is: one
set-based ``UPDATE`` of every session from ``ip_inventory``, in one transaction, with none of a pass's other
work. That is timed twice: with ``session_summaries``' indexes as the schema has them, and with its
secondary indexes dropped. IPs divided by that time is the most unique IPs per second any pass could reach
on these sessions while it writes their snapshots into ``session_summaries``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cowrieprocessor.storage.generated import snapshot_country_sql  # noqa: E402

_CLEAR = (
    "UPDATE session_summaries SET snapshot_asn = NULL, snapshot_country = NULL, snapshot_ip_types = NULL, "
    "enrichment = NULL, enrichment_at = NULL, snapshot_source = NULL"
)


def _sqlite(path: str, drop_indexes: bool) -> tuple[float, int, int]:
    copy = f"{path}.floor"
    for suffix in ("", "-wal", "-shm"):
        Path(copy + suffix).unlink(missing_ok=True)
    source = sqlite3.connect(path)
    source.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the file before it is copied
    source.close()
    shutil.copyfile(path, copy)
    conn = sqlite3.connect(copy, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA cache_size=-262144")  # what the pass gives itself (tiers.tier_writes.SQLITE_CACHE_KIB)
        conn.execute("DROP TRIGGER IF EXISTS trg_session_snapshot_immutable")
        conn.execute(_CLEAR)
        if drop_indexes:
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'session_summaries' "
                "AND sql IS NOT NULL"
            ).fetchall():
                conn.execute(f'DROP INDEX "{name}"')
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        ips = conn.execute("SELECT count(DISTINCT source_ip) FROM session_summaries").fetchone()[0]
        started = time.perf_counter()
        conn.execute("BEGIN")
        rows = conn.execute(
            "UPDATE session_summaries SET snapshot_asn = t.asn, snapshot_country = t.country, "
            "snapshot_ip_types = t.types, enrichment = t.doc, enrichment_at = '2026-01-01 00:00:00.000000', "
            "snapshot_source = 'late' FROM (SELECT s.rowid AS rid, i.current_asn AS asn, "
            f"{snapshot_country_sql('i.geo_country')} AS country, i.ip_types AS types, i.enrichment AS doc "
            "FROM session_summaries AS s JOIN ip_inventory AS i ON i.ip_address = s.source_ip ORDER BY s.rowid) AS t "
            "WHERE session_summaries.rowid = t.rid"  # tiers.tier_writes._SNAPSHOT_BY_ROWID, minus its IP list
        ).rowcount
        conn.execute("COMMIT")
        return time.perf_counter() - started, rows, ips
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(copy + suffix).unlink(missing_ok=True)


def _postgres(url: str, admin_url: str, drop_indexes: bool) -> tuple[float, int, int]:
    name = f"{make_url(url).database}_floor"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"'))
    engine = create_engine(make_url(url).set(database=name), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("ALTER TABLE session_summaries DISABLE TRIGGER USER"))  # the immutability guard
            conn.execute(text(_CLEAR))
            if drop_indexes:
                for (index,) in conn.execute(
                    text(
                        "SELECT indexname FROM pg_indexes WHERE tablename = 'session_summaries' "
                        "AND indexname <> 'pk_session_summaries'"
                    )
                ).all():
                    conn.execute(text(f'DROP INDEX "{index}"'))
            conn.execute(text("VACUUM FULL session_summaries"))
            conn.execute(text("VACUUM ANALYZE"))
            conn.execute(text("CHECKPOINT"))
            ips = conn.execute(text("SELECT count(DISTINCT source_ip) FROM session_summaries")).scalar_one()
            started = time.perf_counter()
            rows = conn.execute(
                text(
                    "UPDATE session_summaries AS s SET snapshot_asn = i.current_asn, "
                    f"snapshot_country = {snapshot_country_sql('i.geo_country')}, snapshot_ip_types = i.ip_types, "
                    "enrichment = i.enrichment, enrichment_at = now(), snapshot_source = 'late' "
                    "FROM ip_inventory AS i WHERE i.ip_address = s.source_ip"  # _SNAPSHOT_BY_ARRAY, minus its IP list
                )
            ).rowcount
            return time.perf_counter() - started, rows, ips
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(url: str, pg_admin: str | None = None) -> dict[str, Any]:
    """The floor on the enriched database ``url`` (PostgreSQL needs ``pg_admin`` to copy it)."""
    out: dict[str, Any] = {}
    for label, drop in (("schema_indexes", False), ("no_secondary_indexes", True)):
        if url.startswith("sqlite"):
            seconds, rows, ips = _sqlite(make_url(url).database or "", drop)
        else:
            assert pg_admin, "PostgreSQL: the admin URL is needed to copy the database"
            seconds, rows, ips = _postgres(url, pg_admin, drop)
        out[label] = {
            "sessions": rows,
            "unique_ips": ips,
            "seconds": round(seconds, 2),
            "ips_per_second_ceiling": round(ips / seconds) if seconds else None,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="an enriched database")
    parser.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(json.dumps(measure(args.db, args.pg_admin), indent=2))


if __name__ == "__main__":
    main()
