"""``query asn-types`` says when ASNs are still untyped, and ``db classify-asns`` types them (both backends)."""

from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.storage import schema
from tests.storage.test_migration import _v15

runner = CliRunner()


def test_untyped_asns_are_announced_and_classified_on_demand(empty_db_url: str) -> None:
    engine = _v15(empty_db_url)
    assert schema.upgrade(engine) == schema.HEAD
    with engine.begin() as conn:  # as a database upgraded before the upgrade typed its ASNs
        untyped = conn.execute(text("UPDATE asn_inventory SET asn_type = NULL WHERE asn_number <> 64501")).rowcount
    engine.dispose()
    assert untyped > 1

    before = runner.invoke(app, ["--db", empty_db_url, "query", "asn-types", "--format", "json"])
    assert before.exit_code == 0, before.output
    assert {r["asn_type"]: r["asns"] for r in json.loads(before.stdout)}[None] == untyped  # stdout stays JSON
    assert f"{untyped} ASNs" in before.stderr and "db classify-asns" in before.stderr

    classified = runner.invoke(app, ["--db", empty_db_url, "db", "classify-asns"])
    assert classified.exit_code == 0, classified.output
    assert f"classified {untyped} ASNs" in classified.stdout

    after = runner.invoke(app, ["--db", empty_db_url, "query", "asn-types", "--format", "json"])
    assert after.exit_code == 0, after.output
    assert None not in {r["asn_type"] for r in json.loads(after.stdout)}
    assert sum(r["asns"] for r in json.loads(after.stdout)) == sum(r["asns"] for r in json.loads(before.stdout))
    assert "no type yet" not in after.stderr
