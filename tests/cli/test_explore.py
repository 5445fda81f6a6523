"""`query overview|campaigns|session|tunnels|exploits` through the real command line, on both backends:
every format, tables at 80 columns that cut no IP, hash or time, and bad input answered without a traceback."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Engine, func, select, update
from typer.testing import CliRunner

from cowrieprocessor.cli import output
from cowrieprocessor.cli.main import app
from cowrieprocessor.ingestion import ingest
from cowrieprocessor.storage import schema, tables
from cowrieprocessor.tiers.freshness import format_time
from tests.analysis.conftest import ADMIN, HUNTER2, K1, load
from tests.ingestion.activity_builders import dropper, proxy_user, telnet_bypass
from tests.ingestion.builders import lines, write

runner = CliRunner()


@pytest.fixture
def url(db_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    load(engine)
    sessions = [proxy_user(), telnet_bypass(), dropper()]
    ingest(engine, [str(write(tmp_path / "cowrie.json", lines([e for s in sessions for e in s.events])))])
    monkeypatch.setattr(output, "console", Console(width=80, force_terminal=False))
    return db_url


def _invoke(url: str, *args: str) -> Any:
    result = runner.invoke(app, ["--db", url, "query", *args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _run(url: str, *args: str) -> str:
    result = _invoke(url, *args)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def _table(url: str, *args: str) -> str:
    """The table view, checked to fit 80 columns with nothing cut."""
    text = _run(url, *args)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "…" not in text, text
    return text


def _json(url: str, *args: str) -> Any:
    return json.loads(_run(url, *args, "--format", "json"))


def _csv(url: str, *args: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_run(url, *args, "--format", "csv"))))


def test_overview(url: str) -> None:
    data = _json(url, "overview")
    assert (data["sessions"], data["ips"], data["port_forward_requests"], data["exploit_attempts"]) == (17, 11, 2, 1)
    assert data["busiest"]["ssh-key"][0]["key"] == K1
    rows = _csv(url, "overview")
    assert {"section": "totals", "name": "sessions", "value": "17"} in rows
    assert any(r["section"] == "busiest:password" and r["name"] == HUNTER2 for r in rows)
    text = _table(url, "overview")
    for token in (K1, HUNTER2, "honeypot-us", "2025-02-25T23:59:00.500Z", "c" * 64, "AlphaHost"):
        assert token in text


def test_campaigns(url: str) -> None:
    keys = _json(url, "campaigns", "--by", "ssh-key")
    assert (keys[0]["key"], keys[0]["sessions"], keys[0]["asns_at_attack"], keys[0]["asns_now"]) == (K1, 10, 4, 3)
    text = _table(url, "campaigns", "--by", "ssh-key")
    assert K1 in text and "10 sessions, 5 IPs, ASNs 4 then 3 now, 2 sensors, 2025-03-01..2025-03-13" in text
    assert "query campaign --ssh-key KEY" in text
    text = _table(url, "campaigns", "--by", "password")
    assert f"admin\n     sha256 {ADMIN}" in text  # the password as typed, its hash whole below it
    text = _table(url, "campaigns", "--by", "download")
    assert "c" * 64 in text and "e.g. http://203.0.113.9/x.sh" in text
    rows = _csv(url, "campaigns", "--by", "download", "--limit", "2")
    assert len(rows) == 2 and list(rows[0]) == [
        "key", "sessions", "ips", "asns_at_attack", "asns_now", "sensors", "first_seen", "last_seen", "session",
        "example",
    ]  # fmt: skip
    later = ("campaigns", "--by", "hassh", "--since", "2030-01-01")
    assert _json(url, *later) == []
    assert "No session has a hassh key in this range." in _run(url, *later)


def test_session(url: str) -> None:
    text = _table(url, "session", "f0f0f0f0f0f0")
    for token in ("198.51.100.20", "to 93.184.216.34:80", "to mail.example.org:25", "forward_requests: 2"):
        assert token in text
    assert f"  password_hash:\n    {ADMIN}\n" in text  # too long for its label's line: whole on the next
    drop = _table(url, "session", "d0d0d0d0d0d0")
    assert "download (redirect) /tmp/.x sha256" in drop and "d" * 64 in drop  # wrapped before the hash, not cut
    detail = _json(url, "session", "e1e1e1e1e1e1")
    assert detail["summary"]["exploit_success"] is True
    assert [e["kind"] for e in detail["timeline"]].count("exploit attempt") == 1
    rows = _csv(url, "session", "e1e1e1e1e1e1")
    assert [r["kind"] for r in rows] == [e["kind"] for e in detail["timeline"]]
    assert json.loads(rows[0]["data"]) == detail["timeline"][0]["data"]
    missing = _invoke(url, "session", "000000000000")
    assert missing.exit_code == 1 and "no session 000000000000" in missing.stderr


def test_tunnels_and_exploits(url: str) -> None:
    text = _table(url, "tunnels")
    assert "93.184.216.34" in text and "mail.example.org" in text
    rows = _json(url, "tunnels")
    assert [(r["destination"], r["port"], r["payload_bytes"]) for r in rows] == [
        ("93.184.216.34", 80, 37), ("mail.example.org", 25, 0),
    ]  # fmt: skip
    assert _csv(url, "tunnels", "--by-asn")[0]["requests"] == "2"
    picked = _table(url, "tunnels", "--columns", "destination,first_seen,last_seen")
    assert "2025-02-25 23:59:03" in picked and "requests" not in picked  # times whole, only the columns asked
    assert list(_csv(url, "tunnels", "--columns", "port,destination")[0]) == ["port", "destination"]
    assert "CVE-2026-24061" in _table(url, "exploits")
    assert _json(url, "exploits", "--asn", "64500") == []


def test_empty_database_says_so(engine: Engine, db_url: str) -> None:
    assert "No port forwarding recorded." in _run(db_url, "tunnels")
    empty = _invoke(db_url, "exploits", "--format", "csv")
    assert empty.stdout.splitlines()[0].startswith("cve,name,value,attempts")  # a header even when empty
    assert "No exploit attempt recorded." in empty.stderr
    assert "holds no session yet" in _run(db_url, "overview")


@pytest.mark.parametrize(
    "args",
    [
        ["campaigns"],
        ["campaigns", "--by", "nonsense"],
        ["campaigns", "--by", "ssh-key", "--since", "yesterday"],
        ["campaigns", "--by", "ssh-key", "--limit", "0"],
        ["session"],
        ["session", "x", "--limit", "-1"],
        ["tunnels", "--by-asn", "--asn", "64500"],
        ["tunnels", "--asn", "many"],
        ["tunnels", "--columns", "destination,nonsense"],
        ["exploits", "--columns", ","],
        ["exploits", "--until", "soon"],
        ["overview", "--format", "xml"],
    ],
)
def test_bad_input_is_a_usage_error(engine: Engine, db_url: str, args: list[str]) -> None:
    result = _invoke(db_url, *args)
    assert result.exit_code == 2, result.output


def test_older_database_is_refused_with_the_remedy(engine: Engine, db_url: str) -> None:
    schema.downgrade(engine, "v20")
    for args in (["overview"], ["campaigns", "--by", "command"], ["session", "x"], ["tunnels"], ["exploits"]):
        result = _invoke(db_url, *args)
        assert result.exit_code == 4 and "db upgrade" in result.stderr, result.output


def test_overview_counts_what_is_due_by_the_configured_ttls(
    url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#21: the sources' "due again" follows the TTLs in force; it used the defaults whatever was configured."""
    ten_days_ago = format_time(dt.datetime.now(dt.UTC) - dt.timedelta(days=10))
    entry = {"status": "ok", "fetched_at": ten_days_ago, "class": "residential", "version": "1"}
    with engine.begin() as conn:
        conn.execute(update(tables.ip_inventory).values(provenance={"maxmind": entry}))

    def due() -> dict[str, int]:
        return {s["source"]: s["due"] for s in _json(url, "overview")["sources"]}

    assert due() == {"maxmind": 0}  # residential answers stay fresh 30 days by default
    monkeypatch.setenv("COWRIEPROCESSOR_FRESHNESS__RESIDENTIAL_DAYS", "7")
    with engine.connect() as conn:
        ips = conn.execute(select(func.count()).select_from(tables.ip_inventory)).scalar_one()
    assert due() == {"maxmind": ips} and ips > 0
