"""Time ``db upgrade``, ``db verify``, ``db downgrade`` (and the re-upgrade) on a database made by
``generate_v15.py``, through the real CLI, and print the figures that prove the migration whole - and
ready: the analyst's queries of ``bench_queries.py`` are timed against their targets on the database the
upgrade leaves (no manual VACUUM or ANALYZE), again after the re-upgrade, and the rebuilt IP->ASN history
is compared with the moves in the v15 sessions.

    python bench/bench_migration.py --url postgresql+psycopg://postgres@127.0.0.1:5432/cp_bench_v15
    python bench/bench_migration.py --url sqlite:////tmp/cp_bench_v15.sqlite

The database must be at v15 when it starts; it is left at v16 (``--keep-v15`` ends with a downgrade).
Exits 1 when a query misses its target.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_queries

from cowrieprocessor import analysis
from cowrieprocessor.storage import backfill
from cowrieprocessor.storage.engine import make_engine, normalise_url
from cowrieprocessor.storage.v15_enrichment import LegacySQL

CLI = [str(Path(sys.executable).with_name("cowrieprocessor"))]


def run(url: str, *args: str) -> tuple[float, int, str]:
    started = time.monotonic()
    proc = subprocess.run([*CLI, "--db", url, *args], capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{' '.join(args)} failed with {proc.returncode}")
    return elapsed, proc.returncode, proc.stdout


def coverage(url: str) -> dict[str, Any]:
    """Snapshot coverage over sessions whose stored enrichment names an ASN, and tier sizes."""
    engine = make_engine(url)
    sql = LegacySQL(engine.dialect.name)
    with engine.connect() as conn:
        named = (
            f"SELECT COUNT(*) AS named, COUNT(q.snapshot_asn) AS with_snapshot, "
            f"SUM(CASE WHEN q.snapshot_asn = {sql.snapshot_asn('q.r')} THEN 1 ELSE 0 END) AS agreeing FROM "
            f"(SELECT snapshot_asn, {sql.root('enrichment', 'source_ip')} AS r FROM session_summaries "
            f"WHERE enrichment IS NOT NULL) q WHERE {sql.snapshot_asn('q.r')} IS NOT NULL"
        )
        row = conn.execute(text(named)).mappings().one()
        counts = {
            t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in ("session_summaries", "ip_inventory", "asn_inventory", "ip_asn_history")
        }
        result = {
            "sessions_naming_an_asn": int(row["named"]),
            "with_snapshot_asn": int(row["with_snapshot"]),
            "snapshot_coverage_pct": round(100.0 * int(row["with_snapshot"]) / max(int(row["named"]), 1), 4),
            "snapshot_equals_stored_asn": int(row["agreeing"] or 0),
            "orphans": backfill.orphans(conn),
            **{f"rows_{k}": int(v) for k, v in counts.items()},
        }
    engine.dispose()
    return result


def history(url: str) -> dict[str, Any]:
    """The rebuilt IP->ASN windows against the v15 observations they come from, and the ASN types."""
    engine = make_engine(url)
    with engine.connect() as conn:
        per_ip = "SELECT ip_address, COUNT(*) AS n FROM ip_asn_history GROUP BY ip_address"
        row = conn.execute(
            text(f"SELECT COUNT(*), SUM(n), SUM(CASE WHEN n > 1 THEN 1 ELSE 0 END) FROM ({per_ip}) h")
        ).one()
        multi = conn.execute(
            text(
                "SELECT COUNT(*) FROM (SELECT source_ip FROM session_summaries WHERE snapshot_asn IS NOT NULL "
                "GROUP BY source_ip HAVING COUNT(DISTINCT snapshot_asn) > 1) m"
            )
        ).scalar_one()
        provenance = dict(
            conn.execute(text("SELECT observed_by, COUNT(*) FROM ip_asn_history GROUP BY observed_by")).tuples().all()
        )
    moved = analysis.movements(engine, limit=10_000_000)
    types = {str(r.asn_type): r.asns for r in analysis.asn_types(engine)}
    engine.dispose()
    ips, windows, moved_ips = int(row[0]), int(row[1] or 0), int(row[2] or 0)
    return {
        "history_windows": windows,
        "history_changes_of_asn": windows - ips,
        "history_ips_with_a_move": moved_ips,
        "v15_ips_in_more_than_one_asn": int(multi),
        "query_movements_ips": len({m.ip for m in moved}),
        "history_observed_by": provenance,
        "asn_types": types,
    }


def queries(url: str, label: str, repeat: int, plans: bool) -> bool:
    """``bench_queries.py``'s queries and targets on the database as the last command left it."""
    print(f"--- queries on the database {label} (no manual step) ---", flush=True)
    engine = make_engine(url)
    try:
        return bench_queries.run(engine, repeat, 2000, plans)
    finally:
        engine.dispose()
        sys.stdout.flush()


def size(url: str) -> str:
    engine = make_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            value = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar_one()
        else:
            value = f"{Path(str(engine.url.database)).stat().st_size / 2**30:.2f} GB"
    engine.dispose()
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--keep-v15", action="store_true", help="finish with a downgrade to v15")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query (median reported)")
    parser.add_argument("--no-queries", action="store_true", help="skip the query benchmark")
    args = parser.parse_args()
    url = normalise_url(args.url)
    figures: dict[str, Any] = {"url": make_engine(url).url.render_as_string(hide_password=True), "size_v15": size(url)}

    figures["upgrade_s"], _, out = run(url, "db", "upgrade", "--format", "json")
    figures["upgrade_maintenance"] = [f"{m['statement']} {m['seconds']:.1f}s" for m in json.loads(out)["maintenance"]]
    ok = args.no_queries or queries(url, "the upgrade left", args.repeat, plans=True)
    figures["verify_v16_s"], code, out = run(url, "db", "verify", "--format", "json")
    report = json.loads(out)
    figures["verify_v16_ok"] = report["ok"] and code == 0
    figures["baseline"] = {c["metric"]: [c["baseline"], c["live"], c["status"]] for c in report["checks"]}
    figures.update(coverage(url))
    figures.update(history(url))
    figures["size_v16"] = size(url)

    figures["downgrade_s"], _, out = run(url, "db", "downgrade", "--to", "v15", "--format", "json")
    figures["downgrade_maintenance"] = [f"{m['statement']} {m['seconds']:.1f}s" for m in json.loads(out)["maintenance"]]
    figures["verify_v15_s"], code, out = run(url, "db", "verify", "--format", "json")
    figures["verify_v15_ok"] = json.loads(out)["ok"] and code == 0
    figures["size_v15_after_downgrade"] = size(url)
    if not args.keep_v15:
        figures["reupgrade_s"], _, out = run(url, "db", "upgrade", "--format", "json")
        figures["reupgrade_maintenance"] = [
            f"{m['statement']} {m['seconds']:.1f}s" for m in json.loads(out)["maintenance"]
        ]
        figures["size_v16_after_reupgrade"] = size(url)
        ok = (args.no_queries or queries(url, "the re-upgrade left", args.repeat, plans=False)) and ok
    figures["query_targets_met"] = "skipped" if args.no_queries else ok
    for key, value in figures.items():
        print(f"{key:>32}: {round(value, 1) if isinstance(value, float) else value}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
