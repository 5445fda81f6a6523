"""``cowrieprocessor report``: the file and where it is, JSON figures, the digest, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine
from tests.report.conftest import HOSTILE_HOST, ReportData

runner = CliRunner()


def test_html_report_is_written_and_said(report_data: ReportData, db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    args = ["--db", db_url, "report", "--since", "2025-03-01", "--until", "2025-03-15", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "report of 22 sessions, 2025-03-01 00:00 to 2025-03-15 00:00 UTC, written to" in result.stdout
    assert str(out.resolve()) in result.stdout
    html = out.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in html


def test_json_figures_and_sensor_filter(report_data: ReportData, db_url: str) -> None:
    args = ["--db", db_url, "report", "--since", "2025-03-01", "--until", "2025-03-15", "--format", "json"]
    data = json.loads(runner.invoke(app, args).stdout)
    assert data["totals"]["sessions"] == 22 and data["previous_totals"]["sessions"] == 1
    assert {c["key"] for c in data["campaigns"]["ssh_key"]} >= {"SHA256:campaignKEY1"}
    hosts = data["payload_hosts"]["rows"]
    assert {(h["host"], h["ip"], h["asn_then"], h["asn_now"]) for h in hosts if h["ip"] == "198.51.100.2"} == {
        (HOSTILE_HOST, "198.51.100.2", 64501, 64502),
        ("198.51.100.2", "198.51.100.2", 64501, 64502),
    }
    eu = json.loads(runner.invoke(app, [*args, "--sensor", "honeypot-eu"]).stdout)
    assert eu["totals"]["sessions"] == 3 and eu["period"]["sensors"] == ["honeypot-eu"]


def test_digest_from_the_command_line(report_data: ReportData, db_url: str) -> None:
    base = ["--db", db_url, "report", "--since-last", "daily"]
    first = runner.invoke(app, [*base, "--since", "2025-03-01", "--until", "2025-03-06"])
    assert first.exit_code == 0 and first.stdout.startswith('**cowrieprocessor digest "daily" #1**')
    second = runner.invoke(app, [*base, "--format", "json"])
    body = json.loads(second.stdout)
    assert body["run"] == 2 and body["since"] == "2025-03-06T00:00:00+00:00"
    assert runner.invoke(app, [*base, "--run", "1"]).stdout == first.stdout
    missing = runner.invoke(app, [*base, "--run", "9"])
    assert missing.exit_code == 2 and "has no run 9" in missing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "markdown"], "add --since-last NAME"),
        (["--run", "1"], "give --since-last NAME too"),
        (["--since-last", "x", "--out", "a.html"], "a digest is --format markdown or json"),
        (["--since", "2025-03-05", "--until", "2025-03-01"], "the period is empty"),
        (["--since", "yesterday"], "not an ISO-8601 date/time"),
    ],
)
def test_refusals(report_data: ReportData, db_url: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["--db", db_url, "report", *args])
    assert result.exit_code == 2 and message in " ".join(result.output.replace("│", " ").split()), result.output


def test_an_unwritable_place_is_an_error_not_a_traceback(report_data: ReportData, db_url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", db_url, "report", "--out", str(tmp_path)])  # a directory
    assert result.exit_code == 1 and "cannot write" in result.output and "Traceback" not in result.output


def test_an_old_schema_is_refused(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    schema.upgrade(engine, "v21")
    engine.dispose()
    result = runner.invoke(app, ["--db", empty_db_url, "report"])
    assert result.exit_code == 4 and "db upgrade" in result.output


def test_ingest_sample_ends_with_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's main command: its last line says where the sample's report is."""
    monkeypatch.chdir(tmp_path)
    for var in ("COWRIEPROCESSOR_DB", "COWRIEPROCESSOR_CONFIG", "GREYNOISE_API_KEY", "SPUR_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    result = runner.invoke(app, ["ingest", "--sample"])
    assert result.exit_code == 0, result.output
    report = tmp_path / "cowrieprocessor-report.html"
    assert f"report of the sample written to {report}" in " ".join(result.stdout.split())
    assert 'data-metric="sessions" data-value="2600"' in report.read_text("utf-8")


def test_an_empty_database_gives_an_empty_report(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "empty.html"
    result = runner.invoke(app, ["--db", db_url, "report", "--out", str(out)])
    assert result.exit_code == 0 and "report of 0 sessions" in result.stdout
    assert 'data-metric="sessions" data-value="0"' in out.read_text("utf-8")
    digest = runner.invoke(app, ["--db", db_url, "report", "--since-last", "x"])
    assert digest.exit_code == 0 and digest.stdout.rstrip().endswith("Nothing new.")
