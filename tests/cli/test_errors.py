"""Errors are messages, never tracebacks: every command with bad input ends in a line or two and an exit code.

Exit codes (``cowrieprocessor.errors``): 2 usage / configuration / input, 3 database, 4 revision, 70 a bug.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from cowrieprocessor.cli import context, query
from cowrieprocessor.cli.main import app
from cowrieprocessor.errors import EXIT_DATABASE, EXIT_INTERNAL, EXIT_USAGE
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine

runner = CliRunner()
SERVER_DOWN = "postgresql://postgres@127.0.0.1:1/test"


def _leaf_commands() -> list[list[str]]:
    """Every command path of the CLI (also ones other modules register)."""
    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            found.append(path)

    walk(get_command(app), [])
    return found


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


COMMANDS = _leaf_commands()
#: ``data`` keeps files, not the database: it is not asked with database URLs (and must never download here).
DB_COMMANDS = [c for c in COMMANDS if c[0] != "data"]


def test_every_command_is_found() -> None:
    names = {" ".join(c) for c in COMMANDS}
    assert {"ingest", "enrich", "lookup", "db upgrade", "db verify", "query sessions", "dead-letters list"} <= names


@pytest.mark.parametrize("command", DB_COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_with_bad_input_prints_a_message(command: list[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-dir" / "x.sqlite")
    bad_inputs = [
        ["--db", missing, *command, "--bogus-option"],  # usage
        ["--db", missing, *command, "--format", "xml"],  # not a format
        ["--db", "", *command],  # an empty --db is not the default
        ["--db", "sqlite://", *command],  # in memory: nothing to read, nothing kept
        ["--db", missing, *command],  # missing database (or a required argument first)
        ["--db", SERVER_DOWN, *command],  # server down
    ]
    for args in bad_inputs:
        code, out = _run(*args)
        assert code in (EXIT_USAGE, EXIT_DATABASE, 4), (args, code, out)
        assert out.strip(), args
    assert not (tmp_path / "no-such-dir").exists()  # nothing created on the way


@pytest.mark.parametrize("command", [c for c in COMMANDS if c[0] == "data"], ids=lambda c: " ".join(c))
def test_data_commands_with_bad_input_print_a_message(command: list[str], tmp_path: Path) -> None:
    """Bad usage of ``data`` is refused before anything is read or fetched."""
    config = tmp_path / "c.toml"
    config.write_text(f'[data]\ndirectory = "{tmp_path / "data"}"\nroutevews_url = "http://127.0.0.1:9/"\n')
    for args in (
        [*command, "--bogus-option"],
        [*command, "--format", "xml"],
        ["--config", str(config), *command],  # a typo in [data] is an error, not a silent default
    ):
        code, out = _run(*args)
        assert code == EXIT_USAGE and out.strip(), (args, code, out)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("command", [["db", "status"], ["query", "top-asns"], ["ingest", "--sample"]])
def test_server_down(command: list[str]) -> None:
    code, out = _run("--db", SERVER_DOWN, *command)
    assert code == EXIT_DATABASE
    assert "cannot reach the database server" in out and "is PostgreSQL running" in out


@pytest.mark.postgres
def test_missing_postgresql_database(pg_server: object) -> None:
    code, out = _run("--db", "postgresql://postgres@127.0.0.1:5432/cowrieprocessor_no_such_db", "query", "top-asns")
    assert code == EXIT_DATABASE
    assert '"cowrieprocessor_no_such_db" does not exist' in out and "createdb" in out


def test_read_only_commands_never_create_a_database(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    for args in (["db", "status"], ["query", "top-asns"], ["enrich"], ["dead-letters", "list"], ["db", "verify"]):
        code, out = _run("--db", str(path), *args)
        assert code == EXIT_DATABASE, (args, out)
        assert "no database at" in out
        assert not path.exists()


def test_plain_paths_and_home_are_sqlite_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _run("--db", "x.sqlite", "db", "upgrade")[0] == 0
    assert (tmp_path / "x.sqlite").is_file()
    monkeypatch.setenv("HOME", str(tmp_path))
    code, out = _run("--db", "~/x.sqlite", "db", "status")
    assert code == 0 and str(tmp_path / "x.sqlite") in out
    monkeypatch.setenv("COWRIEPROCESSOR_DB", str(tmp_path / "x.sqlite"))
    assert _run("db", "status")[0] == 0
    monkeypatch.setenv("COWRIEPROCESSOR_DB", "sqlite:///~/x.sqlite")
    assert _run("db", "status")[0] == 0


def test_missing_directory(tmp_path: Path) -> None:
    code, out = _run("--db", f"sqlite:///{tmp_path}/missing-dir/x.sqlite", "db", "upgrade")
    assert code == EXIT_DATABASE and "does not exist" in out and "create the directory" in out
    code, out = _run("--db", f"sqlite:///{tmp_path}/missing-dir/x.sqlite", "ingest", "--sample")
    assert code == EXIT_DATABASE and not (tmp_path / "missing-dir").exists()


def test_upgrade_targets(db_url: str) -> None:
    code, out = _run("--db", db_url, "db", "upgrade", "--to", "v99")
    assert code == EXIT_USAGE and "unknown revision 'v99'" in out
    code, out = _run("--db", db_url, "db", "upgrade", "--to", "v15")
    assert code == EXIT_USAGE and "already past v15" in out and "db downgrade --to v15" in out
    code, out = _run("--db", db_url, "db", "downgrade", "--to", "v99")
    assert code == EXIT_USAGE and "unknown revision" in out
    assert _run("--db", db_url, "db", "upgrade")[1].strip() == f"upgrade: already at {schema.HEAD}"


def test_unknown_values_are_rejected(db_url: str) -> None:
    for args, words in (
        (["lookup", "not-an-ip"], "not an IPv4 or IPv6 address"),
        (["query", "stale", "--source", "foo"], "unknown source 'foo'"),
        (["dead-letters", "list", "--status", "foo"], "foo"),
        (["query", "top-asns", "--type", "foo"], "no ASN of type 'foo'"),
        (["query", "related", "--ssh-key", "x", "--kind", "foo"], "foo"),
    ):
        code, out = _run("--db", db_url, *args)
        assert code == EXIT_USAGE, (args, out)
        assert words in out, (args, out)


def test_ingest_of_nothing_says_so_before_creating_anything(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite"
    code, out = _run("--db", str(db), "ingest", "/nonexistent/cowrie.json")
    assert code == EXIT_USAGE and "no such file, directory or glob match: /nonexistent/cowrie.json" in out
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "notes.txt").write_text("not a log")
    code, out = _run("--db", str(db), "ingest", str(tmp_path / "logs"))
    assert code == EXIT_USAGE and "a directory without Cowrie logs" in out
    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "loop.json").symlink_to(tmp_path / "loop.json")
    code, out = _run("--db", str(db), "ingest", str(tmp_path / "fifo.json"), str(tmp_path / "loop.json"), "/dev/null")
    assert code == EXIT_USAGE, out
    assert "fifo.json: not a regular file: a FIFO (named pipe)" in out and "loop.json: symbolic link loop" in out
    assert "/dev/null: not a regular file: a character device" in out
    assert not db.exists()


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("[freshnes]\nhosting_days = 3\n", "freshnes: unknown key"),
        ("[enrich]\nbatchsize = 3\n", "enrich.batchsize: unknown key"),
        ("[database]\nurls = 'x'\n", "database.urls: unknown key"),
        ("[providers.greynoise]\nrate = 1\n", "rate: unknown key"),
        ("[enrich\n", "is not valid TOML"),
        ("[freshness]\nhosting_days = 'soon'\n", "freshness.hosting_days"),
    ],
)
def test_configuration_typos_are_errors(tmp_path: Path, toml: str, words: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(toml)
    for args in (["query", "top-asns"], ["db", "status"], ["lookup", "192.0.2.1"]):
        code, out = _run("--config", str(config), "--db", str(tmp_path / "x.sqlite"), *args)
        assert code == EXIT_USAGE, (args, out)
        assert "invalid configuration" in out or "not valid TOML" in out
        assert words in out.replace("\n", " "), out


def test_configuration_variables_with_unknown_sections(tmp_path: Path) -> None:
    env = {"COWRIEPROCESSOR_FRESHNES__HOSTING_DAYS": "3"}
    code, out = _run("--db", str(tmp_path / "x.sqlite"), "db", "status", env=env)
    assert code == EXIT_USAGE and "COWRIEPROCESSOR_FRESHNES__HOSTING_DAYS" in out and "freshnes" in out
    code, out = _run("--config", str(tmp_path / "none.toml"), "db", "status")
    assert code == EXIT_USAGE and "configuration file not found" in out
    code, out = _run("--config", str(tmp_path), "db", "status")
    assert code == EXIT_USAGE and "configuration file is a directory" in out


def test_a_bug_is_one_line_not_a_traceback(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from cowrieprocessor import analysis

    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(analysis, "asn_types", broken)
    code, out = _run("--db", db_url, "query", "asn-types")
    assert code == EXIT_INTERNAL
    assert "internal error: KeyError: 'boom'" in out and "COWRIEPROCESSOR_DEBUG=1" in out


def test_the_light_head_constant_matches_the_schema() -> None:
    assert context.HEAD == schema.HEAD


def test_cli_key_kinds_match_the_analysis_ones() -> None:
    """The light enum the CLI declares (so that ``--help`` loads no SQLAlchemy) mirrors the library's; the
    campaign kinds are one enum, in a module that loads no SQLAlchemy."""
    from cowrieprocessor import kinds
    from cowrieprocessor.analysis import campaigns
    from cowrieprocessor.analysis.keys import LISTED_KINDS
    from cowrieprocessor.cli import explore

    assert [k.value for k in query.Kind] == [k.value for k in LISTED_KINDS]
    assert explore.By is kinds.By and campaigns.By is kinds.By
    from cowrieprocessor.cli import lookup
    from cowrieprocessor.enrichment.cascade import ORDER

    assert lookup.SOURCES == ORDER


def test_an_older_database_is_refused_by_queries_also_via_env(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    schema.upgrade(engine, "v17")
    engine.dispose()
    code, out = _run("query", "top-asns", env={"COWRIEPROCESSOR_DB": empty_db_url})
    assert code == 4 and "at revision v17" in out and "run `cowrieprocessor db upgrade`" in out


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--db", "/nonexistent-dir/x.sqlite", "query", "top-asns"], EXIT_DATABASE, "no database at"),
        (["lookup", "not-an-ip"], EXIT_USAGE, "not an IPv4 or IPv6 address"),
        (["--db", SERVER_DOWN, "db", "status"], EXIT_DATABASE, "cannot reach the database server"),
        (["--db", "", "db", "status"], EXIT_USAGE, "--db is empty"),
    ],
)
def test_real_process(args: list[str], code: int, words: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COWRIEPROCESSOR_")}
    done = subprocess.run(
        [sys.executable, "-m", "cowrieprocessor.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=60,
    )
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert words in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 4  # a message and a remedy, not a page
