"""Enrichment benchmark (issue 5): calls per session, Cymru connections, snapshot coverage, throughput, drift.

    .venv/bin/python bench/bench_enrich.py [--sessions 200000] [--pg postgresql://postgres@127.0.0.1/postgres]
        [--workers 2]

Per backend: generated logs (the seed's ~5.6 sessions per IP) are ingested once (``--no-enrich``) into a
template database; two copies of it are then enriched:
1. offline sources only (bogon check, a MaxMind-format database covering every address, the embedded
   dataset): wall time -> unique IPs per second, end to end including every database write;
2. offline + online sources, the online ones answered by local servers that speak the real protocols
   (Team Cymru bulk whois on TCP, GreyNoise's HTTP API): calls per source from the ledger, against one
   call per session, and Cymru connections against ceil(IPs / batch size).
After the first, ``snapshot_floor.py`` times the cheapest possible writing of all those snapshots, a floor
under any pass's wall time. Then snapshot coverage and `db reconcile` drift on the second copy. With
``--workers N`` (N > 1, PostgreSQL), a third copy is enriched offline by N processes at once (what
``enrich --workers N`` does); its wall time runs from the first pass's start to the last one's end, without
the processes' start-up.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.snapshot_floor import measure as snapshot_floor  # noqa: E402
from cowrieprocessor.config import load_settings  # noqa: E402
from cowrieprocessor.enrichment.cascade import build_sources  # noqa: E402
from cowrieprocessor.enrichment.ledger import DatabaseLedger  # noqa: E402
from cowrieprocessor.storage import schema  # noqa: E402
from cowrieprocessor.storage.engine import make_engine  # noqa: E402
from cowrieprocessor.storage.models import IPInventory, ProviderCall, SessionSummary  # noqa: E402
from cowrieprocessor.synthetic import generate  # noqa: E402
from cowrieprocessor.tiers import reconcile  # noqa: E402
from cowrieprocessor.tiers.enrichment_pass import EnrichmentPass  # noqa: E402
from cowrieprocessor.tiers.freshness import FreshnessPolicy  # noqa: E402
from tests.enrichment.conftest import FakeAPI, FakeWhois, Reply  # noqa: E402
from tests.tiers.conftest import write_mmdb  # noqa: E402

WORK = Path("/tmp/cowrieprocessor-bench-enrich")


def _asn_of(ip: str) -> int:
    """A stable, skewed ASN per /16 (a few large ASNs hold most addresses)."""
    head = ip.split(":")[:2] if ":" in ip else ip.split(".")[:2]
    h = hash(tuple(head)) & 0xFFFF
    return 64512 + (h % 40 if h % 3 else h % 4000)


def logs_for(sessions: int) -> Path:
    directory = WORK / f"logs-{sessions}"
    if not (directory / "done").exists():
        shutil.rmtree(directory, ignore_errors=True)
        result = generate(directory, sessions=sessions, seed=2025, days=7)
        (directory / "done").write_text(json.dumps({"events": result.events, "sessions": result.sessions}))
    return directory


def new_database(kind: str, pg_admin: str | None, name: str, template: str | None = None) -> str:
    if kind == "sqlite":
        path = WORK / f"{name}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        if template:
            shutil.copyfile(make_url(template).database or "", path)
        return f"sqlite:///{path}"
    assert pg_admin
    admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        clause = f' TEMPLATE "{make_url(template).database}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    admin.dispose()
    return make_url(pg_admin).set(database=name).render_as_string(hide_password=False)


def ingest(url: str, logs: Path) -> dict[str, Any]:
    """``cowrieprocessor ingest`` in a child process (``BENCH_SRC`` may point at another checkout's src)."""
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "cowrieprocessor.cli.main", "--db", url, "ingest", str(logs), "--no-enrich",
         "--format", "json"],
        check=True, capture_output=True, text=True,
        env={**os.environ, **({"PYTHONPATH": os.environ["BENCH_SRC"]} if os.environ.get("BENCH_SRC") else {})},
    )  # fmt: skip
    data: dict[str, Any] = json.loads(out.stdout)
    data["wall_seconds"] = round(time.perf_counter() - started, 1)
    return data


def run_pass(url: str, providers: dict[str, Any]) -> dict[str, Any]:
    settings = load_settings()
    settings = settings.model_copy(update={"providers": type(settings.providers).model_validate(providers)})
    engine = make_engine(url)
    ledger = DatabaseLedger(engine)
    unavailable: dict[str, str] = {}
    sources = build_sources(settings.providers, ledger, unavailable=unavailable)
    enrichment = EnrichmentPass(
        engine, sources, FreshnessPolicy(settings.freshness), settings.enrich, on_batch=ledger.flush
    )
    started = time.perf_counter()
    report = enrichment.run()
    seconds = time.perf_counter() - started
    ledger.flush()
    for source in sources:
        source.close()
    data = report.as_json()
    data.update(wall_seconds=round(seconds, 2), ips_per_second=round(report.ips_enriched / seconds),
                sources=[s.name for s in sources], unavailable=unavailable)  # fmt: skip
    engine.dispose()
    return data


def _worker(url: str, providers: dict[str, Any], out: Any) -> None:
    result = run_pass(url, providers)
    result["ended"] = time.time()
    out.put(result)


def run_parallel(url: str, providers: dict[str, Any], workers: int) -> dict[str, Any]:
    """``workers`` passes at once on one database: the claims keep them apart."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_worker, args=(url, providers, queue)) for _ in range(workers)]
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    seconds = max(r["ended"] for r in results) - min(r["ended"] - r["wall_seconds"] for r in results)
    ips = sum(r["ips_enriched"] for r in results)
    return {
        "workers": workers,
        "ips_enriched": ips,
        "sessions_snapshotted": sum(r["sessions_snapshotted"] for r in results),
        "per_worker_ips": [r["ips_enriched"] for r in results],
        "wall_seconds": round(seconds, 2),
        "ips_per_second": round(ips / seconds),
    }


def measure(url: str, whois: FakeWhois | None, batch_size: int) -> dict[str, Any]:
    engine = make_engine(url)
    with engine.connect() as conn:
        sessions = conn.scalar(select(func.count()).select_from(SessionSummary)) or 0
        ips = conn.scalar(select(func.count()).select_from(IPInventory)) or 0
        public = conn.scalar(
            select(func.count()).select_from(SessionSummary).join(
                IPInventory, IPInventory.ip_address == SessionSummary.source_ip
            ).where(IPInventory.is_bogon_stored.is_(False))
        ) or 0  # fmt: skip
        covered = conn.scalar(
            select(func.count()).select_from(SessionSummary).join(
                IPInventory, IPInventory.ip_address == SessionSummary.source_ip
            ).where(IPInventory.is_bogon_stored.is_(False), SessionSummary.snapshot_asn.is_not(None),
                    SessionSummary.snapshot_country.is_not(None))
        ) or 0  # fmt: skip
        calls = {
            source: n
            for source, n in conn.execute(
                select(ProviderCall.source, func.sum(ProviderCall.batch_size)).group_by(ProviderCall.source)
            ).tuples()
        }
        rows = {
            source: n
            for source, n in conn.execute(
                select(ProviderCall.source, func.count()).group_by(ProviderCall.source)
            ).tuples()
        }
    drift = max((d.drift for d in reconcile.measure(engine)), default=0.0)
    engine.dispose()
    per_source = {
        source: {
            "ips_asked": int(asked),
            "ledger_rows": int(rows[source]),
            "calls_per_session": round(int(asked) / sessions, 4),
            "reduction_vs_one_call_per_session": f"{1 - int(asked) / sessions:.1%}",
        }
        for source, asked in sorted(calls.items())
    }
    result: dict[str, Any] = {
        "sessions": sessions,
        "unique_ips": ips,
        "sessions_per_ip": round(sessions / ips, 2) if ips else None,
        "online_sources": per_source,
        "snapshot_coverage_public_sessions": f"{covered / public:.2%}" if public else None,
        "reconcile_max_drift": drift,
    }
    if whois is not None:
        result["cymru_connections"] = len(whois.queries)
        result["cymru_connections_bound"] = math.ceil(ips / batch_size)
    return result


def bench_backend(kind: str, logs: Path, pg_admin: str | None, mmdb: Path, workers: int = 1) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    template = new_database(kind, pg_admin, f"cp_bench_enrich_{tag}_t")
    ingested = ingest(template, logs)
    offline = {"maxmind": {"paths": [str(mmdb)]}, "cymru": {"enabled": False}}
    out: dict[str, Any] = {"ingest": {k: ingested[k] for k in ("events_new", "sessions_new", "wall_seconds")}}
    url = new_database(kind, pg_admin, f"cp_bench_enrich_{tag}_a", template)
    out["offline_only"] = run_pass(url, offline)
    out["snapshot_floor"] = snapshot_floor(url, pg_admin)
    if workers > 1 and kind == "postgresql":
        url_w = new_database(kind, pg_admin, f"cp_bench_enrich_{tag}_w", template)
        out[f"offline_only_{workers}_workers"] = run_parallel(url_w, offline, workers)

    def whois_lines(ips: list[str]) -> str:
        return "".join(
            f"{_asn_of(ip)} | {ip} | {ip}/32 | NL | ripencc | 2020-01-01 | AS{_asn_of(ip)} Hosting, NL\n" for ip in ips
        )

    whois = FakeWhois(whois_lines)
    api = FakeAPI()
    api.on("/v3/community/", Reply(200, {"ip": "x", "noise": True, "riot": False, "classification": "malicious"}))
    # the fake server ignores the key; it is set for the online passes only: left in the environment, it
    # would turn GreyNoise on (at its real address) in the next backend's "offline" pass
    os.environ["GREYNOISE_API_KEY"] = "bench-key"
    batch = 500
    online = {
        **offline,
        "cymru": {"enabled": True, "whois_server": whois.address, "batch_size": batch, "rate_per_second": 1000,
                  "daily_budget": 10_000_000},
        "greynoise": {"base_url": api.url, "rate_per_second": 10_000, "daily_budget": 10_000_000},
    }  # fmt: skip
    url_b = new_database(kind, pg_admin, f"cp_bench_enrich_{tag}_b", template)
    try:
        out["with_online_sources"] = run_pass(url_b, online)
        out["figures"] = measure(url_b, whois, batch)
        again = run_pass(url_b, online)
        out["second_pass_ips_enriched"] = again["ips_enriched"]
        out["figures_after_second_pass"] = {"cymru_connections": len(whois.queries)}
    finally:
        os.environ.pop("GREYNOISE_API_KEY", None)
        whois.close()
        api.close()
    if kind == "postgresql":
        drop_databases(pg_admin or "", [f"cp_bench_enrich_{tag}_{suffix}" for suffix in ("t", "a", "b", "w")])
    return out


def drop_databases(pg_admin: str, names: list[str]) -> None:
    admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--workers", type=int, default=1, help="also time N concurrent passes (PostgreSQL)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    logs = logs_for(args.sessions)
    ips: set[str] = set()
    for path in logs.rglob("cowrie.json*"):
        with path.open("rb") as handle:
            for line in handle:
                start = line.find(b'"src_ip":"')
                if start >= 0:
                    ips.add(line[start + 10 : line.index(b'"', start + 10)].decode())
    mmdb = WORK / f"geo-{args.sessions}.mmdb"
    if not mmdb.exists():
        write_mmdb(
            mmdb, {f"{ip}/{128 if ':' in ip else 32}": (_asn_of(ip), f"AS{_asn_of(ip)} Hosting", "NL") for ip in ips}
        )
    results = {"sessions_generated": args.sessions, "unique_ips_in_logs": len(ips)}
    for kind in args.backends.split(","):
        results[kind] = bench_backend(kind, logs, args.pg if kind == "postgresql" else None, mmdb, args.workers)
        print(json.dumps({kind: results[kind]}, indent=2), flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
