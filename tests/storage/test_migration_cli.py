"""``db verify`` through the CLI: JSON report, exit 0 when intact, 1 on loss, 2 without a baseline."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.storage import schema
from tests.storage.test_migration import _v15

runner = CliRunner()


def test_db_verify_cli_exit_codes(empty_db_url: str) -> None:
    engine = _v15(empty_db_url)
    no_baseline = runner.invoke(app, ["--db", empty_db_url, "db", "verify"])
    assert no_baseline.exit_code == 2

    upgraded = runner.invoke(app, ["--db", empty_db_url, "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    ok = runner.invoke(app, ["--db", empty_db_url, "db", "verify", "--format", "json"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    assert report["ok"] and report["revision"] == schema.HEAD
    assert {c["metric"]: c["status"] for c in report["checks"]}["sessions"] == "intact"
    recorded = dt.datetime.fromisoformat(report["baseline_recorded_at"])  # UTC with its offset, both backends
    assert recorded.utcoffset() == dt.timedelta(0) and report["baseline_recorded_at"].endswith("+00:00")

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM auth_attempts WHERE session_id = 'no-ip'"))
    lost = runner.invoke(app, ["--db", empty_db_url, "db", "verify"])
    assert lost.exit_code == 1
    assert "NOT INTACT" in lost.stdout and "auth_attempts" in lost.stdout
    assert schema.current_revision(engine) == schema.HEAD
    engine.dispose()
