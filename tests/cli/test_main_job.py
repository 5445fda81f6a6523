"""The README's main command: a first `ingest --sample` creates the embedded database and does the job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import ASNInventory, IPASNHistory, IPInventory, SessionSummary

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
    assert summary["enrichment"]["ips_enriched"] == 450
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


def test_sample_is_attributed_to_real_as_numbers_offline(empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh install, no configuration: every sample IP gets an AS number from the embedded data, the
    counters and history follow, `query top-asns` lists real ASNs and the summary names a campaign's."""
    for var in ("COWRIEPROCESSOR_CONFIG", "GREYNOISE_API_KEY", "SPUR_TOKEN", "ABUSEIPDB_API_KEY", "DSHIELD_CONTACT"):
        monkeypatch.delenv(var, raising=False)
    result = runner.invoke(app, ["--db", empty_db_url, "ingest", "--sample", "--format", "json"])
    assert result.exit_code == 0, result.output
    attribution = json.loads(result.stdout)["enrichment"]["attribution"]
    assert attribution["campaign"]["ips"] > 1 and attribution["campaign"]["asns"][0]["asn"] > 0
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as conn:
            no_asn = conn.execute(select(func.count()).where(IPInventory.current_asn.is_(None))).scalar_one()
            ips = conn.execute(select(func.count()).select_from(IPInventory)).scalar_one()
            asns = conn.execute(select(func.count()).select_from(ASNInventory)).scalar_one()
            sessions = conn.execute(select(func.sum(ASNInventory.total_session_count))).scalar_one()
            snapshotted = conn.execute(
                select(func.count()).where(SessionSummary.snapshot_asn.is_not(None))
            ).scalar_one()
            windows = conn.execute(select(func.count()).select_from(IPASNHistory)).scalar_one()
    finally:
        engine.dispose()
    assert ips == 450 and no_asn == 0 and asns > 100
    assert sessions == snapshotted == 2600 and windows == ips
    top = runner.invoke(app, ["--db", empty_db_url, "query", "top-asns", "--format", "json"])
    assert top.exit_code == 0, top.output
    rows = json.loads(top.stdout)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert rows[0]["asn"] in attribution_asns(attribution) and rows[0]["total_session_count"] > 50
    table = runner.invoke(app, ["--db", empty_db_url, "ingest", "--sample"])
    assert "top 5 ASNs" in table.stdout and "widest campaign:" in table.stdout
    # every query sees the AS numbers: by type, by campaign (then vs now), on the same networks
    option = {"ssh_key": "--ssh-key", "command_sig": "--command-sig"}[attribution["campaign"]["kind"]]
    key = attribution["campaign"]["key"]
    answers = {}
    for name, extra in (("asn-types", []), ("infrastructure", [option, key]), ("attribution", [option, key]),
                        ("related", [option, key]), ("sessions", ["--asn", str(rows[0]["asn"])])):  # fmt: skip
        out = runner.invoke(app, ["--db", empty_db_url, "query", name, *extra, "--format", "json"])
        assert out.exit_code == 0, (name, out.output)
        answers[name] = json.loads(out.stdout)
    assert {r["asn_type"] for r in answers["asn-types"]} >= {"CLOUD", "ISP"}
    assert all(r["asn"] for r in answers["infrastructure"])
    assert all(
        r["asn_at_attack"] == r["asn_now"] is not None and r["status"] == "STABLE" for r in answers["attribution"]
    )
    assert answers["related"] and len(answers["sessions"]) > 50


def attribution_asns(attribution: dict[str, Any]) -> set[int]:
    return {row["asn"] for row in attribution["top_asns"]}
