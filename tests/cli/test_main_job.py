"""The README's main command: a first `ingest --sample` creates the embedded database and does the job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine

runner = CliRunner()


def test_ingest_sample_on_a_fresh_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("COWRIEPROCESSOR_DB", "COWRIEPROCESSOR_CONFIG", "GREYNOISE_API_KEY", "SPUR_TOKEN", "ABUSEIPDB_API_KEY",
                "DSHIELD_CONTACT"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    result = runner.invoke(app, ["ingest", "--sample", "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["sessions_new"] == 2600 and summary["dead_letters"] == 0
    assert summary["enrichment"]["ips_enriched"] == 470
    assert summary["enrichment"]["sessions_snapshotted"] == 2600
    assert (tmp_path / "cowrieprocessor.sqlite").is_file()
    again = runner.invoke(app, ["ingest", "--sample", "--format", "json"])
    assert json.loads(again.stdout)["events_new"] == 0


def test_commands_refuse_an_old_schema(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    schema.upgrade(engine, "v15")
    engine.dispose()
    queries = [["query", q] for q in ("top-asns", "asn-types", "stale", "persistent-ips")]
    for args in (
        ["ingest", "--sample"],
        ["enrich"],
        ["db", "reconcile"],
        ["query", "sessions", "--ip", "1.2.3.4"],
        *queries,
    ):
        result = runner.invoke(app, ["--db", empty_db_url, *args])
        assert result.exit_code == 4, (args, result.output)  # errors.EXIT_REVISION
        assert "run `cowrieprocessor db upgrade`" in result.output
        assert "Traceback" not in result.output
    engine = make_engine(empty_db_url)
    assert schema.current_revision(engine) == "v15"  # never upgraded behind the user's back
    engine.dispose()


def test_ingest_without_paths_is_an_error() -> None:
    result = runner.invoke(app, ["--db", "sqlite:///:memory:", "ingest"])
    assert result.exit_code == 2
    assert "--sample" in result.output
