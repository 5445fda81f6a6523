"""The fleet deployment: several real ingest and enrich processes against one PostgreSQL database at once.

They must finish without deadlocks or lost counter updates, and no source may be asked twice for one IP
within its TTL. The online source is a GreyNoise-shaped HTTP server on 127.0.0.1 that counts requests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import IPInventory, PayloadHostAddress, ProviderCall, SessionSummary
from cowrieprocessor.synthetic import generate
from cowrieprocessor.tiers import reconcile
from tests.conftest import PostgresServer
from tests.enrichment.conftest import FakeAPI, Reply

pytestmark = pytest.mark.postgres


def _cli(db_url: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cowrieprocessor.cli.main", "--db", db_url, *args, "--format", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _env(api: FakeAPI, *, batch_size: int) -> dict[str, str]:
    """The children's environment: GreyNoise on the local server, nothing else of the caller's config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COWRIEPROCESSOR_", "GREYNOISE", "SPUR", "ABUSE"))}
    env.update(
        GREYNOISE_API_KEY="test-key-not-a-secret",
        COWRIEPROCESSOR_PROVIDERS__GREYNOISE__BASE_URL=api.url,
        COWRIEPROCESSOR_PROVIDERS__GREYNOISE__RATE_PER_SECOND="5000",
        COWRIEPROCESSOR_PROVIDERS__GREYNOISE__DAILY_BUDGET="100000",
        COWRIEPROCESSOR_ENRICH__BATCH_SIZE=str(batch_size),
        COWRIEPROCESSOR_ENRICH__CLAIM_MINUTES="5",
        # the generated logs count as live: sessions of IPs the enrichers finished can get their snapshot at ingest
        COWRIEPROCESSOR_ENRICH__LIVE_SNAPSHOT_HOURS="1000000",
    )
    return env


def test_concurrent_ingest_and_enrich_workers(pg_server: PostgresServer, tmp_path: Path) -> None:
    db_url = pg_server.migrated_database()
    logs = tmp_path / "logs"
    generate(logs, sessions=1500, seed=11, days=1, sensors=2)
    sensor_dirs = sorted(p for p in logs.iterdir() if p.is_dir())
    assert len(sensor_dirs) == 2

    api = FakeAPI()
    api.on("/v3/community/", Reply(200, {"ip": "x", "noise": True, "riot": False, "classification": "malicious"},
                                   delay=0.002))  # fmt: skip
    env = _env(api, batch_size=40)
    try:
        workers = [_cli(db_url, env, "ingest", str(d), "--batch", "500") for d in sensor_dirs]
        enrichers: list[subprocess.Popen[str]] = []
        deadline = time.monotonic() + 240
        while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
            enrichers = [p for p in enrichers if p.poll() is None] + [
                _cli(db_url, env, "enrich") for _ in range(2 - sum(p.poll() is None for p in enrichers))
            ]
            time.sleep(0.3)
        finished = [*workers, *enrichers]
        results = [(p.args, *p.communicate(timeout=240), p.returncode) for p in finished]
        final = _cli(db_url, env, "enrich")
        out, err = final.communicate(timeout=240)
        results.append((final.args, out, err, final.returncode))
    finally:
        api.close()

    for args, _out, err, code in results:
        assert code == 0, f"{args[-3:]} exited {code}: {err[-2000:]}"
        assert "deadlock" not in err.lower()

    asked = Counter(r.path.rsplit("/", 1)[-1] for r in api.requests)
    engine = make_engine(db_url)
    with Session(engine) as session:
        ips = set(session.scalars(select(SessionSummary.source_ip).distinct()))
        inventory = set(session.scalars(select(IPInventory.ip_address)))
        unsnapped = session.scalar(
            select(func.count()).select_from(SessionSummary).where(SessionSummary.enrichment_at.is_(None))
        )
        ledger = Counter(session.scalars(select(ProviderCall.lookup_key).where(ProviderCall.source == "greynoise")))
        # #19: `enrich` adds the payload hosts' addresses (the generator's URLs name public addresses)
        payload = set(session.scalars(select(PayloadHostAddress.ip_address))) - ips
    drifts = reconcile.measure(engine)
    engine.dispose()

    assert len(ips) > 100
    assert inventory == ips | payload
    assert unsnapped == 0
    assert set(asked) == ips | payload, "every public IP asked"
    assert max(asked.values()) == 1, f"asked twice: {[ip for ip, n in asked.items() if n > 1][:5]}"
    assert ledger == asked
    assert all(d.drift == 0 for d in drifts), [d.as_json() for d in drifts if d.drift]
    # Nothing left for a last pass but the payload hosts' addresses it finds first: `ingest` enriches its
    # sessions' IPs itself, while files and URLs (and so payload hosts) are `enrich`'s alone.
    last = json.loads(results[-1][1])
    assert last["ips_enriched"] == last["artifacts"]["addresses_new"]


def test_enrich_workers_split_the_work(pg_server: PostgresServer, tmp_path: Path) -> None:
    db_url = pg_server.migrated_database()
    generate(tmp_path / "logs", sessions=600, seed=5, days=1)
    api = FakeAPI()
    not_observed = "IP not observed scanning the internet or contained in RIOT data set."
    api.on("/v3/community/", Reply(404, {"ip": "x", "message": not_observed}))
    env = _env(api, batch_size=20)
    try:
        ingest = _cli(db_url, env, "ingest", str(tmp_path / "logs"), "--no-enrich")
        assert ingest.wait(timeout=120) == 0, ingest.communicate()[1]
        enrich = _cli(db_url, env, "enrich", "--workers", "2")
        out, err = enrich.communicate(timeout=240)
    finally:
        api.close()
    assert enrich.returncode == 0, err
    report = json.loads(out)
    asked = Counter(r.path.rsplit("/", 1)[-1] for r in api.requests)
    assert report["workers"] == 2
    assert report["ips_enriched"] == len(asked) > 50
    assert max(asked.values()) == 1
    assert report["outcomes"]["greynoise"] == {"not_found": len(asked)}


def test_ingest_snapshots_known_ips_while_enrichers_run(pg_server: PostgresServer, tmp_path: Path) -> None:
    """Yesterday's IPs are enriched; today's log is ingested in small batches while two enrichers work on the
    new IPs: ingestion snapshots the known IPs' sessions and counts them in their AS (IP rows, then AS rows,
    locked in order) as the enrichers lock the same rows - no deadlock, no drift, every session snapshotted."""
    db_url = pg_server.migrated_database()
    logs = tmp_path / "logs"
    generate(logs, sessions=1500, seed=13, days=2)
    yesterday, today = sorted(logs.glob("cowrie.json.*")), logs / "cowrie.json"
    assert len(yesterday) == 1 and today.exists()
    api = FakeAPI()
    api.on("/v3/community/", Reply(200, {"ip": "x", "noise": True, "riot": False, "classification": "malicious"},
                                   delay=0.002))  # fmt: skip
    env = _env(api, batch_size=40)
    try:
        first = _cli(db_url, env, "ingest", str(yesterday[0]))  # and its enrichment pass
        assert first.wait(timeout=240) == 0, first.communicate()[1]
        loader = _cli(db_url, env, "ingest", str(today), "--batch", "200", "--no-enrich")
        enrichers: list[subprocess.Popen[str]] = []
        deadline = time.monotonic() + 240
        while loader.poll() is None and time.monotonic() < deadline:
            enrichers = [p for p in enrichers if p.poll() is None] + [
                _cli(db_url, env, "enrich") for _ in range(2 - sum(p.poll() is None for p in enrichers))
            ]
            time.sleep(0.2)
        results = [(p.args, *p.communicate(timeout=240), p.returncode) for p in [loader, *enrichers]]
        final = _cli(db_url, env, "enrich")
        results.append((final.args, *final.communicate(timeout=240), final.returncode))
    finally:
        api.close()

    for args, _out, err, code in results:
        assert code == 0, f"{args[-3:]} exited {code}: {err[-2000:]}"
        assert "deadlock" not in err.lower()
    loaded = json.loads(results[0][1])
    engine = make_engine(db_url)
    with Session(engine) as session:
        by_source = Counter(session.scalars(select(SessionSummary.snapshot_source)))
    drifts = reconcile.measure(engine)
    engine.dispose()
    assert loaded["sessions_snapshotted"] > 0 and by_source["ingest"] >= loaded["sessions_snapshotted"]
    assert by_source[None] == 0
    assert all(d.drift == 0 for d in drifts), [d.as_json() for d in drifts if d.drift]
