"""The main job as a person (and cron) sees it, and a CLI that imports only what a command needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app

runner = CliRunner()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("COWRIEPROCESSOR_DB", "COWRIEPROCESSOR_CONFIG", "GREYNOISE_API_KEY", "SPUR_TOKEN", "ABUSEIPDB_API_KEY",
                "DSHIELD_CONTACT"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)


@pytest.mark.usefixtures("clean_env")
def test_main_job_says_where_and_what_next_and_is_quiet_on_reruns(tmp_path: Path) -> None:
    db = tmp_path / "cowrie.sqlite"
    first = runner.invoke(app, ["--db", str(db), "ingest", "--sample"])
    assert first.exit_code == 0, first.output
    out = first.stdout
    assert f"database: {db}" in out
    assert "next: cowrieprocessor query" in out
    assert "source answers" in out  # the first run asked the sources
    assert out.index("sessions") < out.index("snapshots") < out.index("enriched")  # the story in order
    assert "2,600 sessions got their attack-time snapshot" in out
    assert "not used" not in first.stderr  # unconfigured sources: one line on stdout, no warning per source
    assert "not configured:" in out
    again = runner.invoke(app, ["--db", str(db), "ingest", "--sample"])
    assert again.exit_code == 0
    assert "source answers" not in again.stdout  # nothing was asked: no empty table
    assert "0 new" in again.stdout
    quiet = runner.invoke(app, ["--db", str(db), "ingest", "--sample", "--quiet"])
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""


@pytest.mark.usefixtures("clean_env")
def test_quiet_still_reports_what_is_wrong(tmp_path: Path) -> None:
    db = tmp_path / "cowrie.sqlite"
    result = runner.invoke(app, ["--db", str(db), "ingest", "--sample", str(tmp_path / "gone.json"), "-q"])
    assert result.exit_code == 1
    assert result.stdout == "" and "gone.json" in result.stderr


def test_downgrade_shows_no_sqlalchemy_warning(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COWRIEPROCESSOR_")}
    run = [sys.executable, "-m", "cowrieprocessor.cli.main", "--db", str(db)]
    subprocess.run([*run, "db", "upgrade"], check=True, capture_output=True, env=env, timeout=120)
    done = subprocess.run(
        [*run, "db", "downgrade", "--to", "v15"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "Warning" not in done.stdout
    assert done.stdout.splitlines()[0].endswith("-> v15")


HEAVY = ("sqlalchemy", "alembic", "httpx", "pydantic_settings", "rich.table", "rich.progress", "psycopg", "orjson",
         "cowrieprocessor.storage", "cowrieprocessor.enrichment", "cowrieprocessor.analysis", "cowrieprocessor.tiers",
         "cowrieprocessor.ingestion", "cowrieprocessor.config")  # fmt: skip


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["query", "--help"], ["query", "sessions", "--help"]])
def test_version_and_help_import_nothing_heavy(args: list[str]) -> None:
    """#21: --version and --help must not pay for SQLAlchemy, Alembic, httpx, the sources or the models."""
    script = (
        "import sys\n"
        "from cowrieprocessor.cli.main import app\n"
        "try:\n"
        f"    app({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COWRIEPROCESSOR_")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_a_resumed_file_reports_progress_from_where_it_resumes(engine: Engine, tmp_path: Path) -> None:
    from cowrieprocessor.ingestion.pipeline import ingest
    from tests.ingestion.builders import Session, lines

    path = tmp_path / "cowrie.json"
    path.write_bytes(lines(Session("a00000000001", "203.0.113.7").connect().close().events))
    before = path.stat().st_size
    ingest(engine, [str(path)])
    with path.open("ab") as log:
        log.write(lines(Session("a00000000002", "203.0.113.8").connect().close().events))
    reports: list[tuple[int, int]] = []
    ingest(engine, [str(path)], progress=lambda nbytes, nevents: reports.append((nbytes, nevents)))
    assert reports[0] == (before, 0)  # the bar starts at the checkpoint, not at 0 of the whole file
    assert sum(n for n, _ in reports) == path.stat().st_size


def test_the_lazy_console_works_as_rich_expects() -> None:
    from rich.progress import Progress

    from cowrieprocessor.cli import output

    with output.err_console:
        pass
    with Progress(console=output.err_console, transient=True) as progress:
        progress.add_task("x", total=1)
    assert output.err_console.stderr


@pytest.mark.usefixtures("clean_env")
def test_a_configured_source_that_cannot_run_is_a_clear_error_not_a_crash(db_url: str, tmp_path: Path) -> None:
    """A ``.mmdb`` path that is not a MaxMind DB is refused when the configuration is read (#15), one line."""
    not_mmdb = tmp_path / "GeoLite2-City.mmdb"
    not_mmdb.write_text("not a database")
    config = tmp_path / "c.toml"
    config.write_text(f'[providers.maxmind]\npaths = ["{not_mmdb}"]\n')
    for command in (["enrich"], ["lookup", "192.0.2.1"]):
        result = runner.invoke(app, ["--config", str(config), "--db", db_url, *command])
        assert result.exit_code == 2, result.output
        assert "no MaxMind metadata" in " ".join(result.stderr.split()) and "Traceback" not in result.output
        assert "greynoise" not in result.stderr  # left off on purpose: not a problem
