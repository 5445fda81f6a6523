"""Output that fits: tables that never cut an IP, a hash or a time; --columns; a record view; complete CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cowrieprocessor.cli import output
from cowrieprocessor.cli.main import app
from cowrieprocessor.errors import UsageError

runner = CliRunner()
T = dt.datetime(2025, 2, 20, 6, 27, 48, tzinfo=dt.UTC)
IPV6 = "2001:0db8:85a3:0000:0000:8a2e:0370:7334"
HASH = "b03ddf3ca2e714a6548e7495e2a03f5e824eaac9837cd7f159c67b90fb4b7342"
KEY = "SHA256:/9NULwXqkLRWoulX5TjjNejXVpozQzL2Ha+/2dBrAqI"


def _rows(n: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "session_id": f"88b0a9a4dd8{i}",
            "first_event_at": T + dt.timedelta(hours=i),
            "source_ip": IPV6 if i % 2 else f"203.0.113.{200 + i}",
            "password_hash": HASH,
            "ssh_key_fingerprint": KEY,
            "client_version": "SSH-2.0-Go a very long client version string that may wrap anywhere at all",
            "command_count": 8 + i,
            "organization_name": "A Hosting Company With A Long Name, Ltd.",
        }
        for i in range(n)
    ]


def _render(monkeypatch: pytest.MonkeyPatch, width: int, rows: list[dict[str, Any]], **kwargs: Any) -> str:
    console = Console(width=width, record=True, force_terminal=False, file=io.StringIO())
    monkeypatch.setattr(output, "console", console)
    output.print_rows(rows, output.OutputFormat.table, **kwargs)
    return console.export_text()


@pytest.mark.parametrize("width", [80, 120, 200])
def test_tables_fit_and_never_cut_an_ip_hash_or_time(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    rows = _rows()
    text = _render(monkeypatch, width, rows, priority=("session_id", "source_ip", "first_event_at"))
    assert max(len(line) for line in text.splitlines()) <= width
    table_lines = text.splitlines()
    for row in rows:  # the first priority columns are always there, whole, on one line
        line = next(line for line in table_lines if row["session_id"] in line)
        assert row["source_ip"] in line
        if width > 80:
            assert row["first_event_at"].strftime("%Y-%m-%dT%H:%M:%SZ") in line
    for token in (HASH, KEY):  # when a hash or a key is shown, it is whole
        if token[:12] in text:
            assert all(token in line for line in table_lines if token[:12] in line)
    assert "…" not in text
    if width == 80:
        assert "more column(s) at this width" in text and "--columns" in text


def test_every_value_of_a_shown_column_is_whole_at_80(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{**r, "source_ip": f"203.0.113.{i}"} for i, r in enumerate(_rows(5))]
    text = _render(monkeypatch, 80, rows, columns=["source_ip", "password_hash", "first_event_at"])
    lines = text.splitlines()
    assert all(any(r["source_ip"] in line and HASH in line for line in lines) for r in rows)
    assert "1 more column(s) at this width: first_event_at" in text  # it did not fit: named, not cut
    text = _render(monkeypatch, 80, rows, columns=["source_ip", "first_event_at", "command_count"])
    assert all(r["first_event_at"].strftime("%Y-%m-%dT%H:%M:%SZ") in text for r in rows)


def test_chosen_columns_that_do_not_fit_become_records(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _rows(2)
    text = _render(monkeypatch, 80, rows, pick="source_ip,password_hash,ssh_key_fingerprint,first_event_at")
    assert HASH in text and KEY in text and IPV6 in text and "2025-02-20T07:27:48Z" in text
    assert "client_version" not in text  # only what was asked


def test_one_row_is_a_record(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _render(monkeypatch, 80, _rows(1))
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("password_hash"))
    assert HASH in lines[at] or lines[at + 1].strip() == HASH  # whole, on its line or the next
    assert max(len(line) for line in lines) <= 80
    assert any(line.startswith("organization_name") for line in lines)


def test_unknown_columns_are_an_error_that_names_the_real_ones() -> None:
    with pytest.raises(UsageError) as caught:
        output.parse_columns("source_ip,nope", ["source_ip", "asn"])
    assert "nope" in caught.value.message and caught.value.remedy == "this command has: source_ip, asn"


def test_columns_apply_to_machine_formats_too(capsys: pytest.CaptureFixture[str]) -> None:
    output.print_rows(_rows(2), output.OutputFormat.json, pick="source_ip,command_count")
    assert json.loads(capsys.readouterr().out) == [
        {"source_ip": "203.0.113.200", "command_count": 8},
        {"source_ip": IPV6, "command_count": 9},
    ]


def test_csv_is_complete(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    output.print_rows([], output.OutputFormat.csv, columns=["ip", "active_days"])
    assert capsys.readouterr().out.strip() == "ip,active_days"  # a header row even without records
    rows = [{"ip": "192.0.2.1", "active_days": 1.1367370137013495, "is_scanner": False, "ok": True, "n": None}]
    output.print_rows(rows, output.OutputFormat.csv)
    record = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert record == {"ip": "192.0.2.1", "active_days": "1.136737", "is_scanner": "false", "ok": "true", "n": ""}


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_neutralises_formulas(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    evil = f"{start}cmd|' /C calc'!A0"
    output.print_rows([{"login_username": evil, "asn": -5}], output.OutputFormat.csv)
    record = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert record == {"login_username": "'" + evil, "asn": "-5"}  # numbers stay numbers
    monkeypatch.setattr(output, "RAW_CSV", True)
    output.print_rows([{"login_username": evil}], output.OutputFormat.csv)
    assert next(csv.DictReader(io.StringIO(capsys.readouterr().out)))["login_username"] == evil


def test_raw_csv_is_a_global_option(db_url: str) -> None:
    result = runner.invoke(app, ["--raw-csv", "--db", db_url, "query", "asn-types", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("asn_type,asns,sessions,ips,avg_sessions_per_asn")


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\ufeff", "\u200b"])
def test_line_separators_are_escaped_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, char: str
) -> None:
    assert char not in output.safe_text(f"a{char}b") and f"\\u{ord(char):04x}" in output.safe_text(f"a{char}b")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    output.print_rows([{"u": f"a{char}b"}], output.OutputFormat.csv)
    assert char not in capsys.readouterr().out


def test_table_cells_are_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _render(monkeypatch, 80, [{"u": "\x1b[31mred\u2028[bold]x[/bold]", "n": 1}, {"u": "b", "n": 2}])
    assert "\x1b" not in text and "\\x1b[31mred\\u2028[bold]x[/bold]" in text


def test_emoji_codes_in_attacker_text_stay_text(capsys: pytest.CaptureFixture[str]) -> None:
    output.console.print(output.safe_text("root :smiley: :thumbs_up:"))
    out = capsys.readouterr().out
    assert ":smiley: :thumbs_up:" in out and "\N{SMILING FACE WITH OPEN MOUTH}" not in out


def test_empty_csv_from_a_query_has_its_header(db_url: str) -> None:
    result = runner.invoke(app, ["--db", db_url, "query", "persistent-ips", "--format", "csv"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("ip,first_seen,last_seen,active_days,session_count")


def test_reports_offer_no_csv(db_url: str) -> None:
    for args in (["ingest", "--sample"], ["enrich"], ["db", "status"], ["db", "verify"], ["db", "reconcile"]):
        result = runner.invoke(app, ["--db", db_url, *args, "--format", "csv"])
        assert result.exit_code == 2 and "table or json" in result.output, args


def test_lookup_csv_carries_whole_answers(tmp_path: Any) -> None:
    base = ["--db", str(tmp_path / "none.sqlite"), "lookup", "8.8.8.8", "--source", "embedded"]
    as_json = json.loads(runner.invoke(app, [*base, "--format", "json"]).stdout)
    data = as_json["results"]["8.8.8.8"]["embedded"]["data"]
    whole = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    assert len(whole) > 100  # longer than the table's preview
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, [*base, "--format", "csv"]).stdout)))
    assert next(r for r in rows if r["source"] == "embedded")["answer"] == whole


def test_help_texts(db_url: str) -> None:
    from tests.cli.test_errors import COMMANDS

    for command in COMMANDS:
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "<bool>" not in result.output, command
    db_help = runner.invoke(app, ["db", "--help"]).output
    assert "verify" in db_help and "reconcile" in db_help
    assert "At most this many" in runner.invoke(app, ["dead-letters", "list", "--help"]).output
    assert "--columns" in runner.invoke(app, ["query", "sessions", "--help"]).output


def test_every_list_command_documents_its_columns() -> None:
    """--columns is documented per command: each list command's help names every column it can show."""
    import dataclasses

    from cowrieprocessor import analysis

    for command, row in (
        ("attribution", analysis.AttributionRow), ("infrastructure", analysis.InfrastructureRow),
        ("related", analysis.RelatedRow), ("top-asns", analysis.AsnRow), ("asn-types", analysis.AsnTypeRow),
        ("persistent-ips", analysis.PersistentIPRow), ("movements", analysis.MovementRow),
        ("stale", analysis.StaleIPRow), ("sessions", analysis.SessionRow),
    ):  # fmt: skip
        text = " ".join(runner.invoke(app, ["query", command, "--help"], env={"COLUMNS": "200"}).output.split())
        for field in dataclasses.fields(row):
            assert field.name in text, (command, field.name)


def test_records_equal_asdict_without_copying() -> None:
    """``output.records`` gives what ``dataclasses.asdict`` gives (nested rows, lists, dicts), sharing values."""
    import dataclasses
    import datetime as dt

    @dataclasses.dataclass
    class Window:
        asn: int
        since: dt.datetime

    @dataclasses.dataclass
    class Moved:
        ip: str
        windows: list[Window]
        tags: dict[str, list[str]]
        pair: tuple[int, int]

    when = dt.datetime(2025, 2, 20, tzinfo=dt.UTC)
    rows = [Moved("192.0.2.1", [Window(64500, when), Window(64501, when)], {"t": ["a"]}, (1, 2))]
    assert output.records(rows) == [dataclasses.asdict(r) for r in rows]
    assert output.records(rows)[0]["windows"][0]["since"] is when
