"""End to end: a real Cowrie 3.1.4 log, recorded from real SSH/telnet clients, ingested on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.storage.models import DeadLetter, RawEvent, SessionSummary
from tests.e2e.compare import compare_database, save_log
from tests.e2e.conftest import CowrieRun

pytestmark = pytest.mark.e2e
runner = CliRunner()


def test_every_session_credential_command_key_and_file_matches_what_the_clients_did(
    cowrie_run: CowrieRun, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    log = save_log(cowrie_run, tmp_path / "logs")
    result = runner.invoke(app, ["--db", db_url, "ingest", str(log), "--no-enrich", "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    lines = cowrie_run.json_bytes.count(b"\n")
    assert summary["events_new"] == lines
    assert compare_database(engine, cowrie_run.record) == []
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 0
        assert session.scalar(select(func.count()).select_from(RawEvent)) == lines
        stored = {bytes(r) for r in session.scalars(select(RawEvent.raw_line))}
    assert stored == {line for line in cowrie_run.json_bytes.split(b"\n") if line}

    # the same log again, and as a renamed copy: nothing changes
    with Session(engine) as session:
        before = [tuple(r) for r in session.execute(select(SessionSummary.__table__).order_by("session_id"))]
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "cowrie.json.2026-01-01").write_bytes(log.read_bytes())
    for path in (log, tmp_path / "copy" / "cowrie.json.2026-01-01"):
        again = runner.invoke(app, ["--db", db_url, "ingest", str(path), "--no-enrich", "--format", "json"])
        assert again.exit_code == 0, again.output
        assert json.loads(again.stdout)["events_new"] == 0
    with Session(engine) as session:
        after = [tuple(r) for r in session.execute(select(SessionSummary.__table__).order_by("session_id"))]
    assert after == before
