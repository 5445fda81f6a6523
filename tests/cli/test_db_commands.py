"""`cowrieprocessor db ...` through the real command line, on both backends."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.storage import schema

runner = CliRunner()


def _json(args: list[str]) -> dict[str, object]:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_upgrade_status_downgrade_cycle(empty_db_url: str) -> None:
    assert _json(["--db", empty_db_url, "db", "upgrade", "--format", "json"]) == {
        "action": "upgrade",
        "from": None,
        "to": schema.HEAD,
        "maintenance": [],  # a database created from nothing has nothing to vacuum
    }
    status = _json(["--db", empty_db_url, "db", "status", "--format", "json"])
    assert status["revision"] == schema.HEAD
    assert status["up_to_date"] is True
    tables = status["tables"]
    assert isinstance(tables, dict)
    assert {"asn_inventory", "ip_inventory", "session_summaries", "ip_asn_history"} <= set(tables)
    assert _json(["--db", empty_db_url, "db", "downgrade", "--to", "v15", "--format", "json"])["to"] == "v15"
    status = _json(["--db", empty_db_url, "db", "status", "--format", "json"])
    assert status["revision"] == "v15"
    assert "ip_inventory" not in status["tables"]  # type: ignore[operator]
    assert _json(["--db", empty_db_url, "db", "upgrade", "--to", "v16", "--format", "json"])["to"] == "v16"


def test_env_variable_supplies_the_database(empty_db_url: str) -> None:
    result = runner.invoke(app, ["db", "upgrade"], env={"COWRIEPROCESSOR_DB": empty_db_url})
    assert result.exit_code == 0, result.output
    assert f"-> {schema.HEAD}" in result.stdout


def test_default_database_is_sqlite_in_current_directory(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COWRIEPROCESSOR_DB", raising=False)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cowrieprocessor.sqlite").is_file()


def test_unknown_backend_is_a_clear_error() -> None:
    result = runner.invoke(app, ["--db", "mysql://root@localhost/x", "db", "status"])
    assert result.exit_code == 2
    assert "unsupported database" in result.output


def test_every_level_has_help() -> None:
    for args in (["--help"], ["db", "--help"], ["db", "upgrade", "--help"], ["db", "downgrade", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0
        assert "Usage" in result.output
