"""`cowrieprocessor query ...` through the real command line, on both backends, on the known dataset."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from cowrieprocessor.analysis.sql import COMMANDS, SESSIONS
from cowrieprocessor.cli import output
from cowrieprocessor.cli.main import app
from tests.analysis.conftest import AS_OF, DAY, K1, K2, T0, A, B, G, load

runner = CliRunner()


@pytest.fixture
def url(db_url: str, engine: Engine) -> str:
    load(engine)
    return db_url


def _run(url: str, *args: str) -> Any:
    result = runner.invoke(app, ["--db", url, "query", *args])
    assert result.exit_code == 0, result.output
    return result


def _json(url: str, *args: str) -> Any:
    return json.loads(_run(url, *args, "--format", "json").stdout)


def test_sessions_filters_and_formats(url: str) -> None:
    rows = _json(url, "sessions", "--password", "admin", "--asn", "64500")
    assert [r["session_id"] for r in rows] == ["e1", "e2"]
    assert rows[0]["snapshot_country"] == "US"
    rows = _json(url, "sessions", "--ssh-key", K1, "--since", "2025-03-02", "--until", "2025-03-03T00:00:00Z")
    assert [r["session_id"] for r in rows] == ["a2", "b1"]
    assert len(_json(url, "sessions", "--ssh-key", K1, "--limit", "3")) == 3
    text = _run(url, "sessions", "--ip", B, "--format", "csv").stdout
    records = list(csv.DictReader(io.StringIO(text)))
    assert [r["session_id"] for r in records] == ["b1", "b2", "b3"]
    assert json.loads(records[0]["snapshot_ip_types"]) == ["RESIDENTIAL"]


def test_sessions_needs_a_filter_and_valid_input(url: str) -> None:
    assert runner.invoke(app, ["--db", url, "query", "sessions"]).exit_code == 2
    assert runner.invoke(app, ["--db", url, "query", "sessions", "--ip", "not-an-ip"]).exit_code == 2
    assert runner.invoke(app, ["--db", url, "query", "sessions", "--ip", A, "--since", "yesterday"]).exit_code == 2


def test_empty_results_say_so(url: str) -> None:
    result = _run(url, "sessions", "--ssh-key", "SHA256:nobody")
    assert "No session matches" in result.stdout
    result = _run(url, "sessions", "--ssh-key", "SHA256:nobody", "--format", "json")
    assert json.loads(result.stdout) == []
    assert "No session matches" in result.stderr
    assert "No session has this ssh_key" in _run(url, "campaign", "--ssh-key", "SHA256:nobody").stdout
    assert "No IP was active" in _run(url, "persistent-ips", "--min-days", "400").stdout


def test_campaign_needs_exactly_one_key(url: str) -> None:
    assert runner.invoke(app, ["--db", url, "query", "campaign"]).exit_code == 2
    both = ["--db", url, "query", "campaign", "--ssh-key", K1, "--password", "x"]
    assert runner.invoke(app, both).exit_code == 2


def test_campaign_attribution_infrastructure_related(url: str) -> None:
    report = _json(url, "campaign", "--ssh-key", K1)
    assert (report["sessions"], report["ips"], report["asns"]) == (10, 5, 4)
    assert {"country": "SG", "ip_type": "VPN", "sessions": 2, "ips": 1, "asns": 1} in report["groups"]
    table = _run(url, "campaign", "--ssh-key", K1).stdout
    assert "10 sessions, 5 IPs, 4 ASNs" in table

    statuses = {(r["ip"], r["asn_at_attack"]): r["status"] for r in _json(url, "attribution", "--ssh-key", K1)}
    assert statuses[(B, 64501)] == "ASN_CHANGED"
    assert statuses[(G, None)] == "UNKNOWN"

    infra = _json(url, "infrastructure", "--ssh-key", K1)
    assert [(r["asn"], r["sessions"]) for r in infra][:2] == [(64500, 4), (64501, 2)]

    rel = _json(url, "related", "--ssh-key", K1, "--kind", "ssh_key")
    assert [(r["key"], r["asn"], r["sessions"]) for r in rel] == [(K2, 64500, 2)]
    by_password = _json(url, "related", "--password", "admin", "--kind", "ssh_key")
    assert [(r["key"], r["asn"]) for r in by_password] == [(K1, 64500)]


def test_inventory_commands(url: str) -> None:
    assert [r["asn"] for r in _json(url, "top-asns", "--limit", "2")] == [64500, 64501]
    assert [r["asn"] for r in _json(url, "top-asns", "--type", "vpn")] == [64503]
    assert _json(url, "asn-types")[0] == {
        "asn_type": "hosting",
        "asns": 2,
        "sessions": 700,
        "ips": 70,
        "avg_sessions_per_asn": 350.0,
    }
    assert [r["ip"] for r in _json(url, "persistent-ips", "--min-days", "10")] == [A, B]
    moves = _json(url, "movements", "--ip", B)
    assert [(m["asn"], m["valid_until"]) for m in moves] == [(64501, (T0 + 10 * DAY).isoformat()), (64502, None)]
    stale = {(r["tier"], r["source"]): r["count"] for r in _json(url, "stale", "--as-of", AS_OF.isoformat())}
    assert stale[("ip", "maxmind")] == 2
    listed = _json(url, "stale", "--source", "spur", "--as-of", AS_OF.isoformat())
    assert [r["ip"] for r in listed] == [A]


EVIL_USER = "\x1b[31mEVILUSER\x1b[0m\x07"
EVIL_COMMAND = "echo \x1b]0;pwned\x07 \x9b2J [bold]x[/bold] \u202eolleh"


def test_attacker_text_never_reaches_the_terminal_raw(
    url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(SESSIONS),
            {
                "session_id": "evil1",
                "source_ip": A,
                "first_event_at": T0 + 30 * DAY,
                "login_username": EVIL_USER,
                "client_version": "SSH-2.0-\x1b[2Jclient",
                "ssh_key_fingerprint": "SHA256:evil",
            },
        )
        conn.execute(
            insert(COMMANDS),
            {
                "event_uid": "u1",
                "session_id": "evil1",
                "event_time": T0 + 30 * DAY,
                "sequence": 0,
                "input": EVIL_COMMAND,
            },
        )
    monkeypatch.setattr(output, "console", Console(width=400, force_terminal=False))
    result = _run(url, "sessions", "--ssh-key", "SHA256:evil", "--commands")
    out = result.stdout
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in out
    assert "\\x1b[31mEVILUSER\\x1b[0m\\x07" in out  # shown, escaped
    assert "\\x1b]0;pwned\\x07" in out and "\\x9b2J" in out and "\\u202e" in out
    assert "[bold]x[/bold]" in out  # rich markup shown literally, not interpreted
    # JSON keeps the exact text for pipelines, but as escapes: no raw control byte reaches stdout either.
    result = _run(url, "sessions", "--ssh-key", "SHA256:evil", "--commands", "--format", "json")
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    row = json.loads(result.stdout)[0]
    assert (row["login_username"], row["commands"]) == (EVIL_USER, [EVIL_COMMAND])


@pytest.mark.parametrize("terminal", [True, False])
def test_csv_escapes_control_characters_only_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    evil = "\x1b]0;pwned\x07root\u202e\x9b2J[bold]x"
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    output.print_rows([{"login_username": evil, "sessions": 3}], output.OutputFormat.csv)
    text = capsys.readouterr().out
    record = next(csv.DictReader(io.StringIO(text)))
    if terminal:
        for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
            assert raw not in text
        assert record["login_username"] == "\\x1b]0;pwned\\x07root\\u202e\\x9b2J[bold]x"  # no rich markup escape
    else:  # piped: the exact data, for the next program
        assert record["login_username"] == evil
    assert record["sessions"] == "3"


def test_campaigns_by_what_sessions_tried(url: str, engine: Engine) -> None:
    """``--password``/``--username``: every session that tried it, not only those whose summary keeps it."""
    from sqlalchemy import update

    from cowrieprocessor.analysis.keys import hash_password
    from cowrieprocessor.analysis.sql import AUTH
    from cowrieprocessor.ingestion.fields import credential_list_hash

    listed = credential_list_hash([("oracle", "hunter2"), ("root", "admin")])
    with engine.begin() as conn:  # e1 (password "admin") also tried hunter2 as oracle, first
        conn.execute(insert(AUTH), [{"event_uid": "e1-try", "session_id": "e1", "event_time": T0 + 5 * DAY,
                                     "username": "oracle", "password_hash": hash_password("hunter2"),
                                     "success": False}])  # fmt: skip
        conn.execute(update(SESSIONS).where(SESSIONS.c.session_id == "e1").values(credential_list_hash=listed))
    assert _json(url, "campaign", "--password", "hunter2")["sessions"] == 12  # K1's 10, h1, and e1
    assert _json(url, "campaign", "--password", "admin")["sessions"] == 3
    assert _json(url, "campaign", "--username", "oracle")["sessions"] == 1
    assert [r["ip"] for r in _json(url, "attribution", "--username", "oracle")] == ["192.0.2.5"]
    assert [r["session_id"] for r in _json(url, "sessions", "--username", "oracle")] == ["e1"]
    assert _json(url, "campaign", "--credentials", str(listed).upper())["sessions"] == 1
    rel = _json(url, "related", "--credentials", str(listed), "--kind", "ssh_key")
    assert [(r["key"], r["asn"], r["sessions"]) for r in rel] == [(K1, 64500, 4), (K2, 64500, 1)]  # e1 left out
    refused = runner.invoke(app, ["--db", url, "query", "related", "--username", "oracle", "--kind", "username"])
    assert refused.exit_code == 2 and "'username' is not one of" in refused.output  # not a listed kind
