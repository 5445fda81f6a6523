"""The most memory and database a hostile provider can cost a run (issue #15), after the caps.

    .venv/bin/python bench/hostile_provider.py [--ips 200] [--sessions-per-ip 3] [--mode worst,huge,drip]

A local server speaking GreyNoise's HTTP API (127.0.0.1) answers every IP with:
* ``worst``: the largest answer still accepted - a body just under ``max_response_bytes`` (1 MiB): every
  documented field at its longest plus an unknown field filling the rest;
* ``huge``: a 200 MB body (an unknown field that never ends), streamed;
* ``drip``: a valid answer sent one byte every 0.2 s (``total_timeout_seconds`` 5 s here; 5 IPs at most).
The log (``--ips`` addresses, ``--sessions-per-ip`` sessions each) is ingested into a fresh SQLite
database (``--no-enrich``); then one enrichment pass (validation + GreyNoise) runs in a child process.
Printed per mode: the pass's peak RSS (``os.wait4``), the database growth (file + WAL after a checkpoint),
the stored GreyNoise document's size, requests made, wall time.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cowrieprocessor.config import load_settings  # noqa: E402
from cowrieprocessor.enrichment.cascade import build_sources  # noqa: E402
from cowrieprocessor.enrichment.ledger import DatabaseLedger  # noqa: E402
from cowrieprocessor.ingestion import ingest  # noqa: E402
from cowrieprocessor.storage import schema  # noqa: E402
from cowrieprocessor.storage.engine import make_engine  # noqa: E402
from cowrieprocessor.tiers.enrichment_pass import EnrichmentPass  # noqa: E402
from cowrieprocessor.tiers.freshness import FreshnessPolicy  # noqa: E402
from tests.enrichment.conftest import RawHTTP  # noqa: E402
from tests.ingestion.builders import Session, lines  # noqa: E402

CAP = 1 << 20
FIELDS = {"classification": "malicious", "name": "N" * 10_000, "link": "L" * 10_000, "last_seen": "2024-05-01",
          "message": "M" * 10_000}  # fmt: skip


def respond(mode: str, path: str, wfile: Any) -> None:
    """GreyNoise's 200 answer for the IP at the end of ``path``, as hostile as ``mode`` says."""
    ip = path.rsplit("/", 1)[-1]
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
    body = {"ip": ip, "noise": True, "riot": False, **FIELDS}
    if mode == "worst":
        text = json.dumps({**body, "junk": ""})
        data = json.dumps({**body, "junk": "J" * (CAP - len(text) - 1)}).encode()
        wfile.write(head + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    elif mode == "huge":
        wfile.write(head + b"\r\n" + json.dumps(body).encode()[:-1] + b', "junk": "')
        block = b"J" * (1 << 20)
        for _ in range(200):
            wfile.write(block)
        wfile.write(b'"}')
    else:  # drip
        data = json.dumps(body).encode()
        wfile.write(head + f"Content-Length: {len(data)}\r\n\r\n".encode())
        for byte in data:
            wfile.write(bytes([byte]))
            wfile.flush()
            time.sleep(0.2)


def db_bytes(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def enrich(url: str, base_url: str) -> None:
    settings = load_settings()
    providers = {
        "maxmind": {"enabled": False}, "routing_history": {"enabled": False}, "embedded": {"enabled": False},
        "cymru": {"enabled": False}, "spur": {"enabled": False}, "dshield": {"enabled": False},
        "abuseipdb": {"enabled": False},
        "greynoise": {"base_url": base_url, "rate_per_second": 1000, "daily_budget": None, "max_attempts": 1,
                      "timeout_seconds": 2, "total_timeout_seconds": 5},
    }  # fmt: skip
    settings = settings.model_copy(update={"providers": type(settings.providers).model_validate(providers)})
    engine = make_engine(url)
    ledger = DatabaseLedger(engine)
    os.environ["GREYNOISE_API_KEY"] = "bench-key"
    sources = build_sources(settings.providers, ledger, unavailable={})
    try:
        EnrichmentPass(engine, sources, FreshnessPolicy(settings.freshness), settings.enrich).run()
    finally:
        for source in sources:
            source.close()
        ledger.flush()
        engine.dispose()


def run(mode: str, ips: int, per_ip: int, work: Path) -> dict[str, Any]:
    db = work / f"{mode}.sqlite"
    url = f"sqlite:///{db}"
    events = []
    for i in range(ips):
        for j in range(per_ip):
            sid = f"{i:08x}{j:04x}"
            events += Session(sid, f"45.{i // 250}.{i % 250}.7", start=i * 10.0 + j).connect().close().events
    log = work / f"{mode}.json"
    log.write_bytes(lines(events))
    engine = make_engine(url)
    schema.upgrade(engine)
    ingest(engine, [str(log)])
    engine.dispose()
    before = db_bytes(db)
    server = RawHTTP(functools.partial(respond, mode))
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            enrich(url, server.url)
        finally:
            os._exit(0)
    _pid, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    after = db_bytes(db)
    with sqlite3.connect(db) as conn:
        stored = conn.execute(
            "SELECT max(length(json_extract(enrichment, '$.greynoise'))), count(*) FROM ip_inventory"
        ).fetchone()
    server.close()
    return {
        "mode": mode, "ips": stored[1], "sessions": ips * per_ip, "requests": server.requests,
        "exit": os.waitstatus_to_exitcode(status), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "db_growth_mb": round((after - before) / 1e6, 2), "greynoise_doc_bytes": stored[0],
        "seconds": round(seconds, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ips", type=int, default=200)
    parser.add_argument("--sessions-per-ip", type=int, default=3)
    parser.add_argument("--mode", default="worst,huge,drip")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-provider-") as tmp:
        print(f"{'mode':6} {'IPs':>5} {'sessions':>8} {'requests':>8} {'peak RSS MB':>11} {'DB growth MB':>12} "
              f"{'doc bytes':>9} {'seconds':>7}")  # fmt: skip
        for mode in args.mode.split(","):
            ips = min(args.ips, 5) if mode == "drip" else args.ips  # 5 s each: a few show the bound
            r = run(mode, ips, args.sessions_per_ip, Path(tmp))
            print(f"{r['mode']:6} {r['ips']:>5} {r['sessions']:>8} {r['requests']:>8} {r['peak_rss_mb']:>11} "
                  f"{r['db_growth_mb']:>12} {r['greynoise_doc_bytes'] or 0:>9} {r['seconds']:>7}")  # fmt: skip


if __name__ == "__main__":
    main()
