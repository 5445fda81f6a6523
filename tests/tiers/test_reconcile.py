"""db reconcile: true counts from the sessions, drift per counter, exit status, repair."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import Engine, update
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.storage.models import ASNInventory, IPInventory
from cowrieprocessor.tiers import reconcile
from tests.tiers.conftest import NOW, Clock, add_session, make_pass, offline_sources

runner = CliRunner()


def _populate(engine: Engine, mmdb_path: Path, clock: Clock) -> None:
    for i in range(40):
        add_session(engine, f"r{i:02d}", f"45.133.10.{i % 8 + 1}", NOW - dt.timedelta(hours=i))
    for i in range(10):
        add_session(engine, f"b{i:02d}", f"91.240.118.{i % 3 + 1}", NOW - dt.timedelta(hours=i))
    make_pass(engine, offline_sources(mmdb_path), clock).run()


def test_pipeline_counters_have_no_drift(engine: Engine, db_url: str, mmdb_path: Path, clock: Clock) -> None:
    _populate(engine, mmdb_path, clock)
    drifts = reconcile.measure(engine)
    assert {d.counter for d in drifts} >= {"ip_inventory.session_count", "asn_inventory.total_session_count"}
    assert all(d.drift == 0 for d in drifts), [d.as_json() for d in drifts]
    result = runner.invoke(app, ["--db", db_url, "db", "reconcile", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert all(c["ok"] for c in json.loads(result.stdout)["counters"])


def test_drift_is_reported_and_fixed(engine: Engine, db_url: str, mmdb_path: Path, clock: Clock) -> None:
    _populate(engine, mmdb_path, clock)
    with engine.begin() as conn:
        conn.execute(update(IPInventory).where(IPInventory.ip_address == "45.133.10.1").values(session_count=500))
        conn.execute(update(ASNInventory).where(ASNInventory.asn_number == 64501).values(last_seen=NOW))
    drifts = {d.counter: d for d in reconcile.measure(engine)}
    assert drifts["ip_inventory.session_count"].rows_wrong == 1
    assert drifts["ip_inventory.session_count"].drift == (500 - 5) / 50
    assert drifts["asn_inventory.last_seen"].rows_wrong == 1
    result = runner.invoke(app, ["--db", db_url, "db", "reconcile"])
    assert result.exit_code == 1
    result = runner.invoke(app, ["--db", db_url, "db", "reconcile", "--fix", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert all(c["drift"] == 0 for c in json.loads(result.stdout)["after_fix"])
    assert all(d.drift == 0 for d in reconcile.measure(engine))
