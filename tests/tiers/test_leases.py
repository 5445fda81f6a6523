"""Counting once in the enrichment pass (#15): leases of a killed worker, IPs counted as enriched, the ledger.

A ``kill -9`` leaves its leases behind: one test kills a real pass mid-batch with SIGKILL; another puts
leases in the names of real processes that are gone (exited and reaped, or a zombie not yet reaped).
"""

from __future__ import annotations

import datetime as dt
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from cowrieprocessor.enrichment.greynoise import GreyNoiseSource
from cowrieprocessor.enrichment.guard import Attempt, Guard
from cowrieprocessor.enrichment.ledger import DatabaseLedger, MemoryLedger, Outcome
from cowrieprocessor.enrichment.ratelimit import REGISTRY, SYSTEM_CLOCK
from cowrieprocessor.enrichment.settings import SourceSettings
from cowrieprocessor.storage.models import IPInventory, ProviderCall
from tests.tiers.conftest import NOW, Clock, add_session, make_pass, offline_sources

IPS = ["45.133.10.7", "45.133.10.8", "91.240.118.22", "91.240.118.23"]


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    REGISTRY.clear()
    yield
    REGISTRY.clear()


def _lease(engine: Engine, ips: list[str], holder: str, until: dt.datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(IPInventory).where(IPInventory.ip_address.in_(ips)).values(claimed_by=holder, claimed_until=until)
        )


def test_leases_of_a_gone_process_are_taken_over_and_others_reported(
    engine: Engine, mmdb_path: Path, clock: Clock
) -> None:
    for n, ip in enumerate(IPS):
        add_session(engine, f"s{n}", ip, NOW - dt.timedelta(minutes=5))
    host = socket.gethostname()
    reaped = subprocess.Popen(["true"])
    reaped.wait()
    zombie = subprocess.Popen(["true"])  # exits, not reaped yet: a zombie
    while zombie.poll() is None and Path(f"/proc/{zombie.pid}/stat").read_text().split(")")[1].split()[0] != "Z":
        time.sleep(0.01)
    until = NOW + dt.timedelta(minutes=30)
    _lease(engine, IPS[:1], f"{host}:{reaped.pid}", until)
    _lease(engine, IPS[1:2], f"{host}:{zombie.pid}", until)
    _lease(engine, IPS[2:3], "other-host:4242", until)  # elsewhere: may be alive, its lease stands
    try:
        report = make_pass(engine, offline_sources(mmdb_path), clock).run()
    finally:
        zombie.wait()
    assert report.ips_enriched == 3  # the two taken over and the free one
    assert report.leases_taken_over == {f"{host}:{reaped.pid}": 1, f"{host}:{zombie.pid}": 1}
    assert report.leased_elsewhere == {"other-host:4242": (1, until.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"))}
    data = report.as_json()
    assert data["leased_elsewhere"]["other-host:4242"]["ips"] == 1


def test_with_the_budget_spent_ips_enriched_counts_what_was_enriched(
    engine: Engine, mmdb_path: Path, clock: Clock
) -> None:
    for n, ip in enumerate(IPS):
        add_session(engine, f"s{n}", ip, NOW - dt.timedelta(minutes=5))
    spent = SourceSettings(base_url="http://127.0.0.1:9", daily_budget=0)
    reports = []
    for _worker in ("a", "b"):  # two processes, one after the other, the daily budget spent
        greynoise = GreyNoiseSource(spent, MemoryLedger(), key="k")
        reports.append(make_pass(engine, [*offline_sources(mmdb_path), greynoise], clock).run())
    first, second = reports
    assert first.ips_enriched + second.ips_enriched == len(IPS)
    assert (first.ips_enriched, first.ips_unanswered) == (len(IPS), 0)  # the offline sources answered
    assert (second.ips_enriched, second.ips_unanswered) == (0, len(IPS))  # nothing new: not enriched again


def test_every_request_is_on_record_before_the_next_one(engine: Engine) -> None:
    """A kill -9 in the middle of a batch loses no ledger row of a request already made."""
    ledger = DatabaseLedger(engine)
    guard = Guard.for_source("greynoise", SourceSettings(rate_per_second=1000, daily_budget=100), ledger, SYSTEM_CLOCK)
    stored: list[int] = []

    def second_attempt() -> Attempt[str]:
        with engine.connect() as conn:
            stored.append(int(conn.execute(select(func.count()).select_from(ProviderCall)).scalar_one()))
        return Attempt[str](Outcome.FOUND, "ok", http_status=200)

    guard.call("45.133.10.7", lambda: Attempt[str](Outcome.FOUND, "ok", http_status=200))
    guard.call("45.133.10.8", second_attempt)
    assert stored == [1]
    guard.close()


STUCK_WORKER = """
import sys, time
from cowrieprocessor.config import EnrichSettings, FreshnessSettings
from cowrieprocessor.enrichment.validation import ValidationSource
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.tiers.freshness import FreshnessPolicy
from cowrieprocessor.tiers.enrichment_pass import EnrichmentPass

class Stuck:  # a source that never answers: the pass is mid-batch, its IPs leased, when it is killed
    name, online = "maxmind", False
    def lookup_many(self, ips, at=None):
        print("asked", len(ips), flush=True)
        time.sleep(3600)
    def close(self):
        pass

EnrichmentPass(make_engine(sys.argv[1]), [ValidationSource(), Stuck()], FreshnessPolicy(FreshnessSettings()),
               EnrichSettings(batch_size=50)).run()
"""


def test_kill_9_during_the_pass_then_the_next_pass_takes_over_at_once(
    engine: Engine, db_url: str, mmdb_path: Path, clock: Clock
) -> None:
    for n, ip in enumerate(IPS):
        add_session(engine, f"s{n}", ip, NOW - dt.timedelta(minutes=5))
    worker = subprocess.Popen([sys.executable, "-c", STUCK_WORKER, db_url], stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None and worker.stdout.readline().split() == ["asked", str(len(IPS))]
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    with engine.connect() as conn:
        held = conn.execute(select(func.count()).where(IPInventory.claimed_by.is_not(None))).scalar_one()
    assert held == len(IPS)  # the killed pass left its leases (30 minutes by default)
    report = make_pass(engine, offline_sources(mmdb_path), clock).run()
    assert report.ips_enriched == len(IPS)
    assert report.leases_taken_over == {f"{socket.gethostname()}:{worker.pid}": len(IPS)}
