"""End to end: ``follow`` tails a real Cowrie 3.1.4 while real SSH and telnet clients attack it, is killed with
``kill -9`` and restarted, and follows Cowrie's own midnight rotation (``DailyLogFile`` renames ``cowrie.json``
to ``cowrie.json.DATE`` at its first write of a new day); every session, detail and snapshot is checked, and
every planted SSH key is alerted to a local webhook exactly once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from cowrieprocessor.storage.models import SessionSummary
from tests.alerts.conftest import URL_ENV, WebhookServer, alerts_toml, webhook_server
from tests.e2e.compare import compare_database, expected_summary
from tests.e2e.cowrie_harness import running_cowrie
from tests.e2e.scenario import ScenarioRecord, run_scenario, wait_for_sessions_closed

pytestmark = pytest.mark.e2e
DAY = 86_400


ALERTS = alerts_toml(
    settle_seconds=3,
    evaluate_every_seconds=0,
    rules=[{"name": "planted", "type": "planted_key_login"}],
    destinations={"hook": {"type": "webhook", "url_env": URL_ENV, "rate_per_second": 100}},
)


@pytest.fixture
def receiver() -> Iterator[WebhookServer]:
    """A local webhook that records every alert it accepts."""
    with webhook_server() as state:
        yield state


def start_follow(db_url: str, logs: Path, config: Path, hook: WebhookServer) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "cowrieprocessor.cli.main", "--db", db_url, "--config", str(config), "follow",
            str(logs), "--interval", "0.2", "--format", "json"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("COWRIEPROCESSOR_")}
    env[URL_ENV] = hook.url
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def stored(engine: Engine) -> int:
    try:
        return count(engine, "SELECT count(*) FROM raw_events")
    except Exception:  # the child is still creating the schema
        return 0


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def running(engine: Engine) -> bool:
    return count(engine, "SELECT count(*) FROM follow_status WHERE state = 'running'") == 1


def lines_of(*paths: Path) -> list[bytes]:
    return [line for path in paths for line in path.read_bytes().split(b"\n") if line]


def second_day_problems(engine: Engine, record: ScenarioRecord, since: object) -> list[str]:
    """``compare_database`` for the sessions of the second day (the same client addresses as the first)."""
    problems = []
    with Session(engine) as db:
        for rec in record.sessions:
            day = (SessionSummary.source_ip == rec.src_ip, SessionSummary.first_event_at >= since)
            rows = db.scalars(select(SessionSummary).where(*day)).all()
            if len(rows) != 1:
                problems.append(f"{rec.name}: {len(rows)} rows on the second day")
                continue
            for column, want in expected_summary(rec, record).items():
                if getattr(rows[0], column) != want:
                    problems.append(f"{rec.name}: {column} = {getattr(rows[0], column)!r}, expected {want!r}")
    return problems


def test_follow_a_live_cowrie_through_kill_9_a_restart_of_cowrie_and_its_rotation(
    db_url: str, engine: Engine, receiver: WebhookServer, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(ALERTS)
    run_dir = Path(tempfile.mkdtemp(prefix="cowrieprocessor-e2e-follow-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with running_cowrie(logtype="rotating", run_dir=run_dir) as pot:
            logs = pot.json_log.parent
            procs.append(start_follow(db_url, logs, config, receiver))
            wait_for(lambda: running(engine))  # its sources are loaded: it reads within the next interval
            with ThreadPoolExecutor(1) as pool:
                attack = pool.submit(run_scenario, pot)  # real clients, while follow runs
                wait_for(lambda: stored(engine) > 0)
                procs[-1].kill()  # kill -9 while the attack goes on
                procs[-1].wait(timeout=30)
                assert not attack.done(), "the kill must land during the attack"
                first = attack.result()
            wait_for_sessions_closed(pot, first)
            procs.append(start_follow(db_url, logs, config, receiver))
            day_one = lines_of(pot.json_log)
            wait_for(lambda: stored(engine) == len(day_one))
            assert compare_database(engine, first) == []
        # Cowrie takes "today" from the log's modification time when it opens it: set it to yesterday, and its
        # first write after the restart rotates the file exactly as at midnight.
        yesterday = time.time() - DAY
        os.utime(pot.json_log, (yesterday, yesterday))
        with Session(engine) as db:
            boundary = db.scalar(select(SessionSummary.last_event_at).order_by(SessionSummary.last_event_at.desc()))
        with running_cowrie(logtype="rotating", run_dir=run_dir) as pot2:
            second = run_scenario(pot2)
            wait_for_sessions_closed(pot2, second)
        rotated = sorted(logs.glob("cowrie.json.*"))
        assert len(rotated) == 1, rotated
        everything = lines_of(rotated[0], pot2.json_log)
        assert len(everything) > len(day_one)
        wait_for(lambda: stored(engine) == len(everything))
        planted = {k.sha256 for rec in (*first.sessions, *second.sessions) for k in rec.keys_planted}
        assert len(planted) == 2  # one key planted each day
        # alerts wait settle_seconds after a session (it may still plant a key), then the next run sends them
        wait_for(lambda: len(receiver.received) >= len(planted), timeout=120)
        follow = procs[-1]
        follow.send_signal(signal.SIGTERM)
        out, err = follow.communicate(timeout=60)
        assert follow.returncode == 0, err.decode()
        assert json.loads(out)["rotations"] == 1
        with engine.connect() as conn:
            raw = sorted(bytes(r[0]) for r in conn.execute(text("SELECT raw_line FROM raw_events")))
        assert raw == sorted(everything)  # every line once, none twice, across kill -9, restart and rotation
        assert count(engine, "SELECT count(*) FROM dead_letters") == 0
        assert count(engine, "SELECT count(*) FROM session_summaries") == len(first.sessions) + len(second.sessions)
        assert count(engine, "SELECT count(*) FROM session_summaries WHERE snapshot_source IS NULL") == 0
        assert second_day_problems(engine, second, boundary) == []
        assert count(engine, "SELECT count(*) FROM ingest_files") == 2
        # each planted key alerted once, whatever was killed and restarted in between
        assert sorted(r.body["subject"] for r in receiver.received) == sorted(planted)
        assert len(set(receiver.keys())) == len(receiver.received)
        assert count(engine, "SELECT count(*) FROM alert_outbox WHERE status = 'sent'") == len(planted)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(run_dir, ignore_errors=True)
