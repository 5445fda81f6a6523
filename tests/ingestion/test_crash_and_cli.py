"""kill -9 in the middle of a run, and the command line (summary, JSON, dead-letters, enrich hook)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cowrieprocessor.cli import enrich
from cowrieprocessor.cli.main import app
from cowrieprocessor.ingestion import ingest
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine
from tests.ingestion.builders import Session, counts, lines, summaries, write

CHILD = """
import sys
from cowrieprocessor.ingestion import ingest
from cowrieprocessor.storage.engine import make_engine
ingest(make_engine(sys.argv[1]), [sys.argv[2]], batch_events=100)
"""


def many_sessions(n: int) -> bytes:
    events: list[dict[str, Any]] = []
    for i in range(n):
        s = Session(f"{i:012x}", f"198.51.{i % 200}.{i % 250 + 1}", start=i * 3.0).connect().version()
        s.fail("root", "x").login("root", f"pw{i % 7}").cmd("uname -a").close()
        events += s.events
    return lines(events)


def test_kill_9_mid_run_loses_and_doubles_nothing(engine: Engine, db_url: str, tmp_path: Path) -> None:
    data = many_sessions(1500)
    path = write(tmp_path / "cowrie.json", data)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, db_url, str(path)], env={**os.environ})
    offset = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        with engine.connect() as conn:
            offset = conn.execute(text("SELECT COALESCE(MAX(offset_bytes), 0) FROM ingest_files")).scalar_one()
        if offset > 0:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM raw_events")).scalar_one()
    assert 0 < stored < data.count(b"\n"), "the kill must land in the middle of the run"
    ingest(engine, [str(path)])
    ref = make_engine(f"sqlite:///{tmp_path / 'ref.sqlite'}")
    schema.upgrade(ref)
    ingest(ref, [str(path)])
    assert summaries(engine) == summaries(ref)
    assert counts(engine) == counts(ref)
    ref.dispose()


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    monkeypatch.setattr(enrich, "enrich_after_ingest", lambda state, ids: calls.append(ids), raising=False)
    return calls


def test_cli_ingest_json_summary_and_enrich_hook(db_url: str, tmp_path: Path, hook: list[Any]) -> None:
    path = write(tmp_path / "cowrie.json", many_sessions(3) + b"garbage\n")
    runner = CliRunner()
    result = runner.invoke(app, ["--db", db_url, "ingest", str(path), "--format", "json", "--sensor", "s1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["files_read"], data["events_new"], data["sessions_new"], data["dead_letters"]) == (1, 21, 3, 1)
    assert hook == [["000000000000", "000000000001", "000000000002"]]
    result = runner.invoke(app, ["--db", db_url, "ingest", str(path), "--no-enrich"])
    assert result.exit_code == 0 and "0 new" in result.stdout and len(hook) == 1
    engine = make_engine(db_url)
    assert {s["sensor"] for s in summaries(engine).values()} == {"s1"}
    engine.dispose()
    listed = runner.invoke(app, ["--db", db_url, "dead-letters", "list", "--format", "json"])
    (letter,) = json.loads(listed.stdout)
    assert (letter["reason"], letter["offset"], letter["source"]) == (
        "invalid_json",
        path.stat().st_size - 8,
        str(path),
    )
    redriven = runner.invoke(app, ["--db", db_url, "dead-letters", "redrive", "--format", "json"])
    assert json.loads(redriven.stdout)["still_pending"] == 1
    missing = runner.invoke(app, ["--db", db_url, "ingest", str(tmp_path / "nope.json"), "--no-enrich"])
    assert missing.exit_code == 2  # nothing to read: a usage error, said before anything is opened
    some = runner.invoke(app, ["--db", db_url, "ingest", str(path), str(tmp_path / "nope.json"), "--no-enrich"])
    assert some.exit_code == 1 and "nope.json" in some.output  # the rest is read; the run says what was missing


def test_cli_warns_of_sessions_that_mix_sensors(db_url: str, tmp_path: Path, hook: list[Any]) -> None:
    a = Session("c0ffee00beef", "203.0.113.7", sensor="sensor-a").connect().close()
    b = Session("c0ffee00beef", "198.51.100.9", sensor="sensor-b", start=30).connect().close()
    path = write(tmp_path / "cowrie.json", lines(a.events + b.events))
    result = CliRunner().invoke(app, ["--db", db_url, "ingest", str(path), "--no-enrich"])
    assert result.exit_code == 0, result.output
    assert "1 session(s) hold events from more than one sensor" in result.stderr
    assert "c0ffee00beef" in result.stderr
