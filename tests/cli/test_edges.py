"""Values at the edges of the command line (#15): each is refused at the edge with a clear message and exit 2,
never an overflow deep in a driver."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app

runner = CliRunner()
FAR = "9999-12-31T23:59:59-14:00"  # past the end of datetime in UTC


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["query", "sessions", "--asn", "9223372036854775808"], "--asn"),
        (["query", "movements", "--asn", "-1"], "--asn"),
        (["query", "top-asns", "--limit", "99999999999999999999"], "--limit"),
        (["query", "sessions", "--ip", "192.0.2.1", "--limit", "0"], "--limit"),
        (["dead-letters", "redrive", "--id", "99999999999999999999"], "--id"),
        (["dead-letters", "list", "--limit", "99999999999999999999"], "--limit"),
        (["query", "persistent-ips", "--min-days", "inf"], "36,525"),
        (["query", "persistent-ips", "--min-days", "1e308"], "36,525"),
        (["query", "persistent-ips", "--min-days", "nan"], "36,525"),
        (["query", "sessions", "--ip", "192.0.2.1", "--until", FAR], "out of range"),
        (["query", "sessions", "--ip", "192.0.2.1", "--since", "0001-01-01T00:00:00+14:00"], "out of range"),
        (["query", "stale", "--as-of", FAR], "out of range"),
        (["lookup", "192.0.2.1", "--at", FAR], "out of range"),
        (["db", "upgrade", "--to", "base"], "unknown revision 'base'"),
        (["enrich", "--limit", "99999999999999999999"], "--limit"),
        (["ingest", "--sample", "--batch", "99999999999999999999"], "--batch"),
    ],
)
def test_overflowing_arguments(db_url: str, args: list[str], words: str) -> None:
    result = runner.invoke(app, ["--db", db_url, *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and words in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("command", [["ingest", "--sample"], ["enrich"], ["db", "upgrade"], ["db", "reconcile"]])
@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_is_refused(command: list[str], url: str) -> None:
    result = runner.invoke(app, ["--db", url, *command])
    assert result.exit_code == 2 and "in-memory database" in result.output


def test_an_empty_db_is_not_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["--db", "", "ingest", "--sample"])
    assert result.exit_code == 2 and "--db is empty" in result.output
    assert not (tmp_path / "cowrieprocessor.sqlite").exists()


def test_edge_values_inside_the_range_work(db_url: str) -> None:
    for args in (
        ["query", "persistent-ips", "--min-days", "36525"],
        ["query", "sessions", "--asn", "4294967295"],
        ["query", "sessions", "--ip", "192.0.2.1", "--until", "9999-12-31T00:00:00"],
        ["query", "top-asns", "--limit", "10000000"],
    ):
        result = runner.invoke(app, ["--db", db_url, *args])
        assert result.exit_code == 0, (args, result.output)
