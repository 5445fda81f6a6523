"""Artifact enrichment benchmark (#19): calls per unique file/URL/host, against one per download event.

    .venv/bin/python bench/bench_artifacts.py [--sessions 50000] [--pg postgresql://postgres@127.0.0.1/postgres]

A generated data set with the reuse real sensors see - many sessions replaying a few payloads: each session
makes 1-4 transfers drawn from heavy-tailed pools of URLs (on host names and address literals) and files;
some URLs fail (no hash), some files are uploaded (no URL). Per backend it is loaded into a fresh database,
then ``enrich``'s artifact part runs against local servers speaking VirusTotal's, MalwareBazaar's and URLhaus'
wire formats and a local DNS server (budgets and rates lifted: the figure is this program's cost, not the
providers' limits):
1. first pass: inventories from the transfers, host names resolved, the IP pass over the payload addresses
   (validation + embedded), each source asked per unique subject; the ledger (``provider_calls``) gives calls
   per source and the most calls any one subject got (1 = once per subject), against the events a per-event
   design (Cowrie's output plugins) would send;
2. second pass: the same again - every answer fresh, so no call at all; its time is the steady-state cost.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_data import _zipf_weights  # noqa: E402
from cowrieprocessor.config import EnrichSettings, FreshnessSettings  # noqa: E402
from cowrieprocessor.enrichment.artifacts.artifact_pass import ArtifactPass  # noqa: E402
from cowrieprocessor.enrichment.artifacts.inventory import host_of  # noqa: E402
from cowrieprocessor.enrichment.artifacts.resolve import HostResolver  # noqa: E402
from cowrieprocessor.enrichment.artifacts.settings import ArtifactSettings  # noqa: E402
from cowrieprocessor.enrichment.artifacts.sources import build_artifact_sources  # noqa: E402
from cowrieprocessor.enrichment.embedded import EmbeddedSource  # noqa: E402
from cowrieprocessor.enrichment.ledger import DatabaseLedger  # noqa: E402
from cowrieprocessor.enrichment.ratelimit import REGISTRY  # noqa: E402
from cowrieprocessor.enrichment.settings import ProvidersSettings  # noqa: E402
from cowrieprocessor.enrichment.validation import ValidationSource  # noqa: E402
from cowrieprocessor.storage import schema  # noqa: E402
from cowrieprocessor.storage.engine import make_engine  # noqa: E402
from cowrieprocessor.storage.models import FileTransfer, IPInventory, ProviderCall, SessionSummary  # noqa: E402
from cowrieprocessor.tiers.enrichment_pass import EnrichmentPass  # noqa: E402
from cowrieprocessor.tiers.freshness import FreshnessPolicy  # noqa: E402
from tests.enrichment.artifacts.conftest import (  # noqa: E402
    ABUSE_KEY,
    VT_KEY,
    AddressDNS,
    FakeProviders,
    vt_attributes,
)

WORK = Path("/work/wt/data/i19-malware")
PG_NAME = "bench_i19-malware"
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


class DataSet:
    """Deterministic sessions and transfers with heavy-tailed payload reuse."""

    def __init__(self, sessions: int, files: int, urls: int, hosts: int, seed: int = 19) -> None:
        rng = random.Random(seed)
        self.rng = rng
        self.sessions = sessions
        self.hashes = [f"{rng.getrandbits(256):064x}" for _ in range(files)]
        names = [f"cdn{i}.payload-{rng.randrange(10**6)}.example" for i in range(hosts * 2 // 3)]
        literals = [f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                    for _ in range(hosts - len(names))]  # fmt: skip
        self.hosts = names + literals
        #: every host name resolves to one or two addresses of a small pool (hosts share networks)
        pool = [f"{rng.choice((8, 23, 45, 51, 91, 104, 185, 193))}.{rng.randrange(256)}.{rng.randrange(256)}.7"
                for _ in range(max(8, hosts // 4))]  # fmt: skip
        self.dns = {name: rng.sample(pool, rng.choice((1, 1, 2))) for name in names}
        paths, kinds = ("bins", "x", "m"), ("sh", "arm7", "x86")
        self.urls = [
            f"http://{rng.choice(self.hosts)}/{rng.choice(paths)}/{i}.{rng.choice(kinds)}" for i in range(urls)
        ]
        self.serves = {u: rng.choice(self.hashes) if rng.random() < 0.8 else None for u in self.urls}  # None: dead
        self.url_weights = _zipf_weights(len(self.urls))
        self.file_weights = _zipf_weights(len(self.hashes))

    def rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        rng, uid = self.rng, itertools.count()
        ips = [f"203.0.{i // 250}.{i % 250 + 1}" for i in range(max(1, self.sessions // 6))]
        sessions, transfers = [], []
        for n in range(self.sessions):
            sid, when = f"b{n:08d}", START + dt.timedelta(seconds=n * 13)
            sessions.append({"session_id": sid, "source_ip": rng.choice(ips), "sensor": f"s{n % 3}",
                             "first_event_at": when, "last_event_at": when + dt.timedelta(seconds=40)})  # fmt: skip
            for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
                if rng.random() < 0.1:  # an upload: a file, no URL
                    url, sha = None, rng.choices(self.hashes, self.file_weights)[0]
                else:
                    url = rng.choices(self.urls, self.url_weights)[0]
                    sha = self.serves[url]
                transfers.append({
                    "event_uid": f"t{next(uid)}", "session_id": sid, "event_time": when + dt.timedelta(seconds=5),
                    "direction": "upload" if url is None else "download",
                    "outcome": "failed" if sha is None else "success", "url": url, "shasum": sha,
                })  # fmt: skip
        return [{"ip_address": ip} for ip in ips], sessions, transfers


def load(engine: Engine, data: DataSet) -> dict[str, int]:
    schema.upgrade(engine)
    ips, sessions, transfers = data.rows()
    with engine.begin() as conn:
        for table, rows in ((IPInventory, ips), (SessionSummary, sessions), (FileTransfer, transfers)):
            for start in range(0, len(rows), 20_000):
                conn.execute(insert(table), rows[start : start + 20_000])
    return {
        "sessions": len(sessions),
        "transfers": len(transfers),
        "with_hash": sum(1 for t in transfers if t["shasum"]),
        "with_url": sum(1 for t in transfers if t["url"]),
        "with_name": sum(1 for t in transfers if t["url"] and not host_of(t["url"])[1]),  # type: ignore[index]
    }


def providers_for(data: DataSet) -> FakeProviders:
    """Providers that know some of it: VirusTotal 60 % of files, MalwareBazaar 40 %, URLhaus 30 %."""
    fake = FakeProviders()
    rng = random.Random(7)
    for sha in data.hashes:
        if rng.random() < 0.6:
            fake.vt[sha] = vt_attributes(sha, first_submission=rng.choice((1_600_000_000, 1_800_000_000)))
        if rng.random() < 0.4:
            fake.bazaar[sha] = {"sha256_hash": sha, "signature": "Mirai", "file_type": "elf"}
    for url in data.urls:
        if rng.random() < 0.3:
            fake.urls[url] = {"url": url, "url_status": "online", "threat": "malware_download"}
    for host in data.hosts:
        if rng.random() < 0.3:
            fake.hosts[host] = {"host": host, "url_count": "3", "urls": []}
    return fake


def one_pass(engine: Engine, settings: ArtifactSettings, providers: ProvidersSettings) -> dict[str, float]:
    ledger = DatabaseLedger(engine)
    sources = build_artifact_sources(providers, ledger)
    resolver = HostResolver(settings.dns, ledger, server=settings.dns_server)
    step = ArtifactPass(engine, sources, settings, resolver=resolver)
    timings: dict[str, float] = {}
    try:
        t = time.perf_counter()
        step.prepare()
        timings["prepare_s"] = time.perf_counter() - t
        t = time.perf_counter()
        ip_report = EnrichmentPass(
            engine, [ValidationSource(), EmbeddedSource()], FreshnessPolicy(FreshnessSettings()), EnrichSettings()
        ).run()
        timings["ip_pass_s"] = time.perf_counter() - t
        timings["ips_enriched"] = ip_report.ips_enriched
        t = time.perf_counter()
        step.finish()
        timings["sources_s"] = time.perf_counter() - t
    finally:
        step.close()
        ledger.flush()
    return {k: round(v, 3) for k, v in timings.items()}


def ledger_figures(engine: Engine) -> dict[str, dict[str, int]]:
    p = ProviderCall.__table__.c
    per_key = select(p.source, p.lookup_key, func.count().label("n")).group_by(p.source, p.lookup_key).subquery()
    stmt = select(per_key.c.source, func.count(), func.sum(per_key.c.n), func.max(per_key.c.n)).group_by(
        per_key.c.source
    )
    with engine.connect() as conn:
        return {
            s: {"unique_keys": int(k), "calls": int(c), "max_calls_per_key": int(m)}
            for s, k, c, m in conn.execute(stmt)
        }


def new_database(kind: str, pg: str | None) -> str:
    """A fresh SQLite file under WORK, or PostgreSQL database ``bench_i19-malware`` (dropped by :func:`drop`)."""
    if kind == "sqlite":
        path = WORK / "bench.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    assert pg
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    admin.dispose()
    return make_url(pg).set(database=PG_NAME).render_as_string(hide_password=False)


def drop(kind: str, pg: str | None) -> None:
    if kind == "postgresql" and pg:
        admin = create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
        admin.dispose()


def run(kind: str, pg: str | None, data: DataSet) -> dict[str, Any]:
    url = new_database(kind, pg)
    engine = make_engine(url)
    t = time.perf_counter()
    events = load(engine, data)
    load_s = time.perf_counter() - t
    fake, dns = providers_for(data), AddressDNS(data.dns)
    fast = {"base_url": fake.url, "rate_per_second": 100_000.0, "daily_budget": None}
    settings = ArtifactSettings(
        dns_server=dns.address,
        dns={"enabled": True, "rate_per_second": 100_000.0, "timeout_seconds": 2.0, "max_attempts": 1},  # type: ignore[arg-type]
    )
    providers = ProvidersSettings.model_validate(
        {n: fast for n in ("virustotal", "malwarebazaar", "urlhaus_url", "urlhaus_host")}
    )
    REGISTRY.clear()
    try:
        first = one_pass(engine, settings, providers)
        calls_first = ledger_figures(engine)
        requests_first = len(fake.requests)
        second = one_pass(engine, settings, providers)
        calls_second = {
            s: f["calls"] - calls_first.get(s, {}).get("calls", 0) for s, f in ledger_figures(engine).items()
        }
    finally:
        fake.close()
        dns.close()
        engine.dispose()
        drop(kind, pg)
    per_event = {
        "virustotal": events["with_hash"], "malwarebazaar": events["with_hash"], "urlhaus_url": events["with_url"],
        "urlhaus_host": events["with_url"], "dns": events["with_name"],
    }  # fmt: skip
    subjects = sum(f["unique_keys"] for s, f in calls_first.items() if s != "dns")
    return {
        "backend": kind,
        "events": events,
        "load_s": round(load_s, 2),
        "first_pass": first,
        "ledger_first_pass": calls_first,
        "per_event_design_calls": per_event,
        "http_requests_first_pass": requests_first,
        "second_pass": second,
        "calls_second_pass": calls_second,
        "subjects_per_second_sources": round(subjects / first["sources_s"], 1) if first["sources_s"] else None,
        "transfers_per_second_prepare": round(events["transfers"] / first["prepare_s"]) if first["prepare_s"] else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--urls", type=int, default=600)
    parser.add_argument("--hosts", type=int, default=120)
    parser.add_argument("--pg", help="PostgreSQL admin URL (also benchmark PostgreSQL)")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    os.environ["VIRUSTOTAL_API_KEY"], os.environ["ABUSECH_AUTH_KEY"] = VT_KEY, ABUSE_KEY
    pg = args.pg.replace("postgresql://", "postgresql+psycopg://", 1) if args.pg else None
    results = []
    for kind in ("sqlite", *(("postgresql",) if pg else ())):
        data = DataSet(args.sessions, args.files, args.urls, args.hosts)
        results.append(run(kind, pg, data))
        print(json.dumps(results[-1], indent=2), flush=True)
    for r in results:
        print(f"\n[{r['backend']}] {r['events']['transfers']:,} transfers in {r['events']['sessions']:,} sessions")
        print(f"{'source':<14} {'unique':>7} {'calls':>7} {'max/key':>7} {'per-event':>10} {'2nd pass':>8}")
        for source, f in sorted(r["ledger_first_pass"].items()):
            print(
                f"{source:<14} {f['unique_keys']:>7,} {f['calls']:>7,} {f['max_calls_per_key']:>7} "
                f"{r['per_event_design_calls'][source]:>10,} {r['calls_second_pass'].get(source, 0):>8}"
            )
        print(f"first pass {r['first_pass']}; second pass {r['second_pass']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
