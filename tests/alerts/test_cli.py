"""``alerts run|list|test``: cron's entry point, the outbox as a table / JSON / CSV, a test alert."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from tests.alerts.conftest import WebhookServer, alerts_toml, webhook_destination
from tests.report.conftest import ReportData

runner = CliRunner()
CONFIG = alerts_toml(
    settle_seconds=0,
    first_lookback_hours=876000,
    rules=[{"name": "passwords", "type": "new_campaign_key", "kinds": ["password"]}],
    destinations={"hook": webhook_destination()},
)


def _config(tmp_path: Path, text: str = CONFIG) -> str:
    path = tmp_path / "alerts.toml"
    path.write_text(text)
    return str(path)


def test_run_then_list(report_data: ReportData, db_url: str, webhook: WebhookServer, tmp_path: Path) -> None:
    base = ["--db", db_url, "--config", _config(tmp_path)]
    ran = runner.invoke(app, [*base, "alerts", "run", "--format", "json"])
    assert ran.exit_code == 0, ran.output
    summary = json.loads(ran.stdout)
    assert summary["sent"] == summary["recorded"] == len(webhook.received) > 0 and summary["errors"] == []
    assert "<script>window.__pwned=1</script>" in {r.body["details"]["label"] for r in webhook.received}

    listed = json.loads(runner.invoke(app, [*base, "alerts", "list", "--format", "json"]).stdout)
    assert len(listed) == summary["sent"] and {r["status"] for r in listed} == {"sent"}
    pending = runner.invoke(app, [*base, "alerts", "list", "--status", "pending", "--format", "json"])
    assert pending.stdout.strip() == "[]"
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, [*base, "alerts", "list", "--format", "csv"]).stdout)))
    assert len(rows) == len(listed) and "alert_id" in rows[0]
    table = runner.invoke(app, [*base, "alerts", "list", "--columns", "id,status,subject"], env={"COLUMNS": "80"})
    assert table.exit_code == 0 and all(len(line) <= 80 for line in table.stdout.splitlines())

    again = json.loads(runner.invoke(app, [*base, "alerts", "run", "--format", "json"]).stdout)
    assert again["sent"] == again["recorded"] == 0


def test_run_exits_1_when_a_destination_fails(
    report_data: ReportData, db_url: str, webhook: WebhookServer, tmp_path: Path
) -> None:
    webhook.statuses = [500] * 1000
    ran = runner.invoke(app, ["--db", db_url, "--config", _config(tmp_path), "alerts", "run"])
    assert ran.exit_code == 1 and "HTTP 500" in ran.output and "SECRET-TOKEN" not in ran.output


def test_test_sends_one_harmless_alert(db_url: str, webhook: WebhookServer, tmp_path: Path) -> None:
    base = ["--db", db_url, "--config", _config(tmp_path)]
    sent = runner.invoke(app, [*base, "alerts", "test", "hook"])
    assert sent.exit_code == 0 and "test alert accepted" in sent.output
    (received,) = webhook.received
    assert received.body["kind"] == "test" and received.body["rule"] == "test"
    assert json.loads(runner.invoke(app, [*base, "alerts", "list", "--format", "json"]).stdout) == []
    unknown = runner.invoke(app, [*base, "alerts", "test", "pager"])
    assert unknown.exit_code == 2 and "no alert destination 'pager'" in unknown.output and "hook" in unknown.output
    webhook.statuses = [404]
    refused = runner.invoke(app, [*base, "alerts", "test", "hook"])
    assert refused.exit_code == 1 and "HTTP 404" in refused.output


def test_run_without_rules_says_how_to_add_them(db_url: str, tmp_path: Path) -> None:
    ran = runner.invoke(app, ["--db", db_url, "--config", _config(tmp_path, "[alerts]\n"), "alerts", "run"])
    assert ran.exit_code == 2 and "no alert rules" in ran.output and "docs/alerts.md" in ran.output
