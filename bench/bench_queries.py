"""Benchmark of the analyst's queries (``cowrieprocessor.analysis``) on a populated v16 database.

    python bench/bench_queries.py --db postgresql://postgres@127.0.0.1/bench [--generate] [--repeat 9]

Reports the median of ``--repeat`` runs (after one warm-up) per query against the issue's targets, and on
PostgreSQL the access paths of each statement's ``EXPLAIN ANALYZE`` (index vs sequential scans), so that a
plan regression is visible. ``--generate`` first fills an empty database with three-tier data at the seed's
scale (see ``bench_data.py``). The campaign measured is the SSH key (and command signature) whose session
count is closest to ``--campaign-size``, so any populated database works.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_data

from cowrieprocessor import analysis
from cowrieprocessor.analysis import CampaignKey, SessionFilter
from cowrieprocessor.storage.engine import make_engine

SNAPSHOT, ONE_JOIN, TWO_JOINS, INVENTORY = 100.0, 500.0, 1000.0, 100.0


def pick_campaign(engine: Engine, column: str, size: int) -> tuple[str, int]:
    sql = f"""SELECT {column}, COUNT(*) AS n FROM session_summaries WHERE {column} IS NOT NULL
              GROUP BY {column} HAVING COUNT(*) BETWEEN 300 AND 5000
              ORDER BY ABS(COUNT(*) - :size), {column} LIMIT 1"""
    with engine.connect() as conn:
        row = conn.execute(text(sql), {"size": size}).first()
    if row is None:
        raise SystemExit(f"no {column} with 300..5000 sessions: is the database populated?")
    return str(row[0]), int(row[1])


def busiest_ip(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(text("SELECT ip_address FROM ip_inventory ORDER BY session_count DESC LIMIT 1")).scalar_one()
        )


def queries(
    engine: Engine, key: CampaignKey, sig: CampaignKey, ip: str
) -> list[tuple[str, float | None, Callable[[], Any]]]:
    return [
        ("sessions --ssh-key (limit 1000)", SNAPSHOT,
         lambda: analysis.find_sessions(engine, SessionFilter(ssh_key=key.value), limit=1000)),
        ("sessions --ip --since (limit 100)", SNAPSHOT,
         lambda: analysis.find_sessions(engine, SessionFilter(ip=ip, since=bench_data.START), limit=100)),
        ("campaign --ssh-key", SNAPSHOT, lambda: analysis.campaign_summary(engine, key)),
        ("campaign --command-sig", SNAPSHOT, lambda: analysis.campaign_summary(engine, sig)),
        ("attribution --ssh-key", ONE_JOIN, lambda: analysis.attribution(engine, key)),
        ("infrastructure --ssh-key", TWO_JOINS, lambda: analysis.infrastructure(engine, key)),
        ("related --ssh-key (all kinds)", TWO_JOINS, lambda: analysis.related(engine, key)),
        ("related --command-sig (all kinds)", TWO_JOINS, lambda: analysis.related(engine, sig)),
        ("related --ssh-key --kind ssh_key (seed)", TWO_JOINS,
         lambda: analysis.related(engine, key, kinds=(analysis.KeyKind.ssh_key,))),
        ("top-asns", INVENTORY, lambda: analysis.top_asns(engine, limit=20)),
        ("asn-types", INVENTORY, lambda: analysis.asn_types(engine)),
        ("persistent-ips --min-days 30", INVENTORY, lambda: analysis.persistent_ips(engine, min_days=30)),
        ("movements (limit 100)", None, lambda: analysis.movements(engine, limit=100)),
        ("stale (summary)", None, lambda: analysis.stale(engine)),
    ]  # fmt: skip


def capture(engine: Engine, call: Callable[[], Any]) -> tuple[Any, list[tuple[str, Any]]]:
    """Run ``call`` once and return what it returned and the SQL it sent."""
    seen: list[tuple[str, Any]] = []

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        result = call()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return result, seen


PLAN_NODE = re.compile(r"(Index Only Scan|Index Scan|Bitmap Index Scan|Bitmap Heap Scan|Seq Scan|Function Scan)"
                       r"(?: Backward)?(?: using (\S+))? on (\S+)")  # fmt: skip


def explain(engine: Engine, statements: list[tuple[str, Any]]) -> list[str]:
    out: list[str] = []
    with engine.connect() as conn:
        for statement, params in statements:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + statement, params).scalars().all()
            nodes = []
            for line in plan:
                match = PLAN_NODE.search(line)
                if match:
                    kind, index, table = match.groups()
                    nodes.append(f"{kind} {index + ' ' if index else ''}on {table}")
            total = next((line for line in plan if line.startswith("Execution Time")), "")
            out.append("; ".join(dict.fromkeys(nodes)) + f"  [{total}]")
    return out


def run(engine: Engine, repeat: int, campaign_size: int, show_plans: bool) -> bool:
    ssh, n_ssh = pick_campaign(engine, "ssh_key_fingerprint", campaign_size)
    sig, n_sig = pick_campaign(engine, "command_signature", campaign_size // 2)
    ip = busiest_ip(engine)
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                  for t in ("session_summaries", "ip_inventory", "asn_inventory", "ip_asn_history")}  # fmt: skip
    print(f"backend: {engine.dialect.name}  rows: {counts}")
    print(f"campaign: ssh key {ssh} ({n_ssh} sessions); command sig {sig[:16]}... ({n_sig} sessions); ip {ip}")
    print(f"{'query':38} {'median ms':>10} {'min ms':>8} {'target':>7} {'rows':>6}  verdict")
    ok = True
    key, sig_key = CampaignKey.ssh_key(ssh), CampaignKey.command_sig(sig)
    for name, target, call in queries(engine, key, sig_key, ip):
        result, statements = capture(engine, call)  # warm-up, and the SQL for EXPLAIN
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            call()
            times.append((time.perf_counter() - t) * 1000)
        median = statistics.median(times)
        rows = len(result.groups) if isinstance(result, analysis.CampaignReport) else len(result)
        verdict = "-" if target is None else ("PASS" if median < target else "FAIL")
        ok = ok and verdict != "FAIL"
        tgt = "-" if target is None else f"<{target:.0f}"
        print(f"{name:38} {median:10.1f} {min(times):8.1f} {tgt:>7} {rows:6}  {verdict}")
        if show_plans and engine.dialect.name == "postgresql":
            for plan in explain(engine, statements):
                print(f"{'':4}plan: {plan}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="database URL (a populated v16 database, or empty with --generate)")
    parser.add_argument("--generate", action="store_true", help="first load three-tier data into an empty database")
    parser.add_argument("--sessions", type=int, default=1_680_000)
    parser.add_argument("--ips", type=int, default=300_000)
    parser.add_argument("--asns", type=int, default=15_000)
    parser.add_argument("--campaign-size", type=int, default=2000, help="sessions of the campaign measured")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--no-plans", action="store_true", help="skip the PostgreSQL EXPLAIN output")
    args = parser.parse_args()
    engine = make_engine(args.db)
    if args.generate:
        with engine.connect() as conn:
            has_tables = engine.dialect.has_table(conn, "session_summaries")
            populated = has_tables and conn.execute(text("SELECT 1 FROM session_summaries LIMIT 1")).first()
        if populated:
            raise SystemExit("--generate needs an empty database: this one already has sessions")
        t = time.perf_counter()
        timings = bench_data.load(engine, sessions=args.sessions, ips=args.ips, asns=args.asns,
                                  campaign_sessions=args.campaign_size)  # fmt: skip
        print(
            f"generated in {time.perf_counter() - t:.0f} s: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
        )
    ok = run(engine, args.repeat, args.campaign_size, not args.no_plans)
    engine.dispose()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
