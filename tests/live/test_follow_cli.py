"""``cowrieprocessor follow`` as an operator runs it: a process that SIGTERM ends cleanly between two batches,
that ``kill -9`` cannot make lose or repeat a line, ``--status`` from another process, and the metrics."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.live import metrics, status
from cowrieprocessor.live.stats import FollowStats
from tests.e2e.cowrie_harness import free_port
from tests.live.logs import append, assert_exactly_once, scalar, session_lines

runner = CliRunner()


def start(db_url: str, logs: Path, *extra: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "cowrieprocessor.cli.main", "--db", db_url, "follow", str(logs), *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COWRIEPROCESSOR_")}
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def stored(engine: Engine) -> int:
    try:
        return scalar(engine, "SELECT count(*) FROM raw_events")
    except Exception:  # the schema is being created by the child
        return 0


def test_sigterm_ends_between_two_batches_with_exit_0_and_a_restart_reads_the_rest(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    logs = tmp_path / "cowrie"
    logs.mkdir()
    written = session_lines(0, 3000)
    append(logs / "cowrie.json", written)
    proc = start(db_url, logs, "--batch", "100", "--no-enrich", "--format", "json")
    wait_for(lambda: stored(engine) > 0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    at_stop = stored(engine)
    assert 0 < at_stop < len(written), "the stop must land in the middle of the file"
    assert json.loads(out)["events_new"] == at_stop
    (row,) = status.read(engine, dt.datetime.now(dt.UTC))
    assert row["state"] == "stopped"
    again = runner.invoke(app, ["--db", db_url, "follow", str(logs), "--max-ticks", "1", "--no-enrich"])
    assert again.exit_code == 0, again.output
    assert_exactly_once(engine, written)


def test_kill_9_mid_batch_then_restart_loses_and_repeats_nothing(engine: Engine, db_url: str, tmp_path: Path) -> None:
    logs = tmp_path / "cowrie"
    logs.mkdir()
    written = session_lines(10_000, 3000)
    append(logs / "cowrie.json", written[:15_000])
    proc = start(db_url, logs, "--batch", "100", "--no-enrich", "--interval", "0.2")
    wait_for(lambda: stored(engine) > 0)
    proc.kill()
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert 0 < stored(engine) < 15_000, "the kill must land in the middle of the file"
    append(logs / "cowrie.json", written[15_000:18_000])  # Cowrie goes on, then rotates
    os.rename(logs / "cowrie.json", logs / "cowrie.json.2025-02-25")
    append(logs / "cowrie.json", written[18_000:])
    (row,) = status.read(engine, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    assert row["state"] == "gone"  # a kill -9 leaves "running" behind, with an old heartbeat
    again = runner.invoke(app, ["--db", db_url, "follow", str(logs), "--max-ticks", "1", "--no-enrich"])
    assert again.exit_code == 0, again.output
    assert_exactly_once(engine, written)


def test_status_from_another_process_and_its_exit_code(engine: Engine, db_url: str, tmp_path: Path) -> None:
    none = runner.invoke(app, ["--db", db_url, "follow", "--status"])
    assert none.exit_code == 1
    assert "No follower" in none.output
    stats = FollowStats(paths=["/var/log/cowrie/cowrie.json"], events_new=42, dead_letters=3, provider_errors=2)
    now = dt.datetime.now(dt.UTC)
    status.write(engine, "a", "stopped", stats, now, now)
    ok = runner.invoke(app, ["--db", db_url, "follow", "--status", "--format", "json"])
    assert ok.exit_code == 0, ok.output
    (row,) = json.loads(ok.stdout)
    assert (row["name"], row["state"], row["events_new"], row["dead_letters"], row["provider_errors"]) == (
        "a", "stopped", 42, 3, 2,
    )  # fmt: skip
    old = now - dt.timedelta(hours=1)
    status.write(engine, "b", "running", stats, old, old)
    gone = runner.invoke(app, ["--db", db_url, "follow", "--status", "--format", "csv", "--columns", "name,state"])
    assert gone.exit_code == 1
    assert gone.stdout.split() == ["name,state", "a,stopped", "b,gone"]
    only = runner.invoke(app, ["--db", db_url, "follow", "--status", "--name", "a", "--format", "json"])
    assert [r["name"] for r in json.loads(only.stdout)] == ["a"]


def test_metrics_endpoint_serves_the_counters_as_prometheus_text() -> None:
    stats = FollowStats(events_new=7, dead_letters=2, provider_errors=1, lag_bytes=512, last_batch_at=1_700_000_000.0)
    port = free_port()
    server = metrics.serve(stats, port)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        stats.events_new = 9  # read at each scrape
        again = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    finally:
        server.shutdown()
    values = {s.name: s.value for f in text_string_to_metric_families(body) for s in f.samples}
    assert values["cowrieprocessor_follow_events_new_total"] == 7
    assert values["cowrieprocessor_follow_dead_letters_total"] == 2
    assert values["cowrieprocessor_follow_provider_errors_total"] == 1
    assert values["cowrieprocessor_follow_lag_bytes"] == 512
    assert values["cowrieprocessor_follow_last_batch_timestamp_seconds"] == 1_700_000_000.0
    assert "cowrieprocessor_follow_events_new_total 9.0" in again


def test_a_port_in_use_is_a_usage_error(db_url: str, tmp_path: Path) -> None:
    stats = FollowStats()
    port = free_port()
    server = metrics.serve(stats, port)
    try:
        result = runner.invoke(app, ["--db", db_url, "follow", str(tmp_path), "--metrics-port", str(port)])
    finally:
        server.shutdown()
    assert result.exit_code == 2
    assert f"--metrics-port {port}" in result.output


def test_a_missing_directory_is_a_usage_error(db_url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", db_url, "follow", str(tmp_path / "nope" / "cowrie.json")])
    assert result.exit_code == 2
    assert "no such directory" in result.output


def test_alerts_run_only_when_a_rule_has_a_destination() -> None:
    from cowrieprocessor.cli.follow import alert_hook
    from cowrieprocessor.config import Settings

    assert alert_hook(Settings()) is None
    no_destination = {"alerts": {"rules": [{"name": "planted", "type": "planted_key_login"}]}}
    assert alert_hook(Settings.model_validate(no_destination)) is None
    hook = {"type": "webhook", "url_env": "CP_TEST_HOOK"}
    configured = {"alerts": {**no_destination["alerts"], "destinations": {"hook": hook}}}
    assert callable(alert_hook(Settings.model_validate(configured)))
