"""``db upgrade`` reports the vacuum and analyse that follow the upgrade's transaction (both backends)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.storage import schema
from tests.storage.test_migration import _v15

runner = CliRunner()


def test_upgrade_from_v15_reports_what_it_vacuumed_and_analysed(empty_db_url: str, backend: str) -> None:
    _v15(empty_db_url).dispose()
    result = runner.invoke(app, ["--db", empty_db_url, "db", "upgrade", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["from"], report["to"]) == ("v15", schema.HEAD)
    statements = [m["statement"] for m in report["maintenance"]]
    if backend == "postgresql":
        vacuumed = [v.removeprefix("VACUUM (ANALYZE) ") for v in statements if v.startswith("VACUUM (ANALYZE) ")]
        assert vacuumed[:4] == ["session_summaries", "ip_inventory", "asn_inventory", "ip_asn_history"]  # v16
        assert {"raw_events", "auth_attempts", "port_forwards"} <= set(vacuumed)  # v20 re-keys, v21 fills
        assert len(vacuumed) == len(set(vacuumed))  # each table once, however many revisions rewrote it
        rest = statements[len(vacuumed) :]
        assert len(rest) == 1 and rest[0].startswith("ANALYZE ") and "session_summaries" not in rest[0]
        assert all(m["seconds"] >= 0 for m in report["maintenance"])
        assert report["maintenance"][0]["size_after"] > 0
    else:
        assert statements == ["ANALYZE"]
        assert isinstance(report["sqlite_free_bytes"], int)  # what a VACUUM would give back (here little)

    down = runner.invoke(app, ["--db", empty_db_url, "db", "downgrade", "--to", "v15"])
    assert down.exit_code == 0, down.output
    assert "ready:" in down.stdout  # the downgrade rewrote raw events' payloads
    again = runner.invoke(app, ["--db", empty_db_url, "db", "upgrade", "--vacuum"])
    assert again.exit_code == 0, again.output
    assert f"upgrade: v15 -> {schema.HEAD}" in again.stdout
    if backend == "postgresql":
        assert "ready: VACUUM (ANALYZE) session_summaries in " in again.stdout
    else:  # --vacuum: SQLite also compacts the file, and says by how much
        assert "ready: ANALYZE in " in again.stdout
        assert "ready: VACUUM in " in again.stdout and "MiB ->" in again.stdout

    nothing = runner.invoke(app, ["--db", empty_db_url, "db", "upgrade", "--format", "json"])
    assert json.loads(nothing.stdout)["maintenance"] == []  # nothing changed, nothing to do
    if backend == "sqlite":  # at head, --vacuum still compacts the file when asked
        compact = json.loads(
            runner.invoke(app, ["--db", empty_db_url, "db", "upgrade", "--vacuum", "--format", "json"]).stdout
        )
        assert [m["statement"] for m in compact["maintenance"]] == ["ANALYZE", "VACUUM"]
        assert compact["sqlite_free_bytes"] == 0
