"""Steady state (issue 5): the next day's logs of a sensor whose IPs are mostly known and enriched already.

    .venv/bin/python bench/bench_steady_state.py [--sessions 200000] [--backends postgresql,sqlite]

Uses the enrichment benchmark's generated week of logs and MaxMind-format database (``bench_enrich.py``
makes them on first use). Per backend: the first six days are ingested and enriched (offline sources) once,
into a template; then the last day is ingested and enriched on two copies of it:
- ``pass_only``: every new session waits for the pass, which writes its snapshot (an UPDATE of its row);
- ``at_ingest``: live sessions of IPs enriched already are written with their snapshot; the pass handles
  the rest (new IPs).
The live window is set to cover the generated dates, as if the logs were today's. Printed: each step's wall
time, the sessions snapshotted by ingest and by the pass, and the pass's snapshot coverage and drift.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_enrich import WORK, drop_databases, logs_for, new_database, run_pass  # noqa: E402

from cowrieprocessor.ingestion import ingest  # noqa: E402
from cowrieprocessor.storage import schema  # noqa: E402
from cowrieprocessor.storage.engine import make_engine  # noqa: E402
from cowrieprocessor.storage.models import SessionSummary  # noqa: E402
from cowrieprocessor.tiers import reconcile  # noqa: E402

#: Hours: a live window that reaches back to the generated logs' dates.
LIVE_HOURS = 24.0 * 365 * 20


def _ingest(url: str, files: list[Path], snapshot_hours: float | None) -> dict[str, Any]:
    engine = make_engine(url)
    started = time.perf_counter()
    stats = ingest(engine, [str(f) for f in files], snapshot_hours=snapshot_hours)
    seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "events_new": stats.events_new,
        "sessions_new": stats.sessions_new,
        "sessions_snapshotted_at_ingest": stats.sessions_snapshotted,
        "seconds": round(seconds, 2),
    }


def _coverage(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(SessionSummary)) or 0
        pending = conn.scalar(select(func.count()).where(SessionSummary.enrichment_at.is_(None))) or 0
        rows = conn.execute(
            select(SessionSummary.snapshot_source, func.count()).group_by(SessionSummary.snapshot_source)
        ).all()
        by_source = {str(source): int(n) for source, n in rows}
    drift = max((d.drift for d in reconcile.measure(engine)), default=0.0)
    engine.dispose()
    return {"sessions": total, "without_snapshot": pending, "snapshot_sources": by_source, "max_drift": drift}


def bench_backend(kind: str, files: list[Path], pg_admin: str | None, offline: dict[str, Any]) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    template = new_database(kind, pg_admin, f"cp_bench_steady_{tag}_t")
    engine = make_engine(template)
    schema.upgrade(engine)
    engine.dispose()
    history, today = files[:-1], files[-1:]
    out: dict[str, Any] = {"history_ingest": _ingest(template, history, None)}
    out["history_pass"] = {k: v for k, v in run_pass(template, offline).items() if k in ("ips_enriched", "seconds")}
    for name, hours in (("pass_only", None), ("at_ingest", LIVE_HOURS)):
        url = new_database(kind, pg_admin, f"cp_bench_steady_{tag}_{name}", template)
        step = _ingest(url, today, hours)
        enriched = run_pass(url, offline)
        out[name] = {
            "ingest": step,
            "pass": {k: enriched[k] for k in ("ips_enriched", "sessions_snapshotted", "seconds")},
            "ingest_plus_pass_seconds": round(step["seconds"] + enriched["seconds"], 2),
            "after": _coverage(url),
        }
        print(json.dumps({kind: {name: out[name]}}), file=sys.stderr, flush=True)
    if kind == "postgresql":
        drop_databases(pg_admin or "", [f"cp_bench_steady_{tag}_{s}" for s in ("t", "pass_only", "at_ingest")])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--backends", default="postgresql,sqlite")
    args = parser.parse_args()
    logs = logs_for(args.sessions)
    mmdb = WORK / f"geo-{args.sessions}.mmdb"
    if not mmdb.exists():
        sys.exit(f"{mmdb} is missing: run bench/bench_enrich.py --sessions {args.sessions} once first")
    # Cowrie's rotation: cowrie.json.YYYY-MM-DD are the past days, plain cowrie.json is today
    files = [*sorted(logs.glob("cowrie.json.*")), logs / "cowrie.json"]
    offline = {"maxmind": {"paths": [str(mmdb)]}, "cymru": {"enabled": False}}
    results: dict[str, Any] = {"days": len(files), "today": files[-1].name}
    for kind in args.backends.split(","):
        results[kind] = bench_backend(kind, files, args.pg if kind == "postgresql" else None, offline)
        print(json.dumps({kind: results[kind]}, indent=2), flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
