"""#21: a small query imports what it needs and nothing else - the start-up budget, module by module.

Each command runs as the console script runs it (a fresh interpreter) on a database holding the bundled
sample; afterwards the modules it loaded are listed. What is forbidden is what once made a query take twice
its budget: the ORM and Alembic (queries read Core tables; the revision is one SELECT), the enrichment
clients, the ingestion pipeline and the configuration (a query that needs no settings reads none), the other
commands' modules (the CLI builds only the command that runs) and, on SQLite, the PostgreSQL driver and
SQLAlchemy's PostgreSQL dialect.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app

NEVER = (
    "sqlalchemy.orm", "alembic", "httpx", "jinja2", "rich.progress", "cowrieprocessor.storage.models",
    "cowrieprocessor.ingestion.pipeline", "cowrieprocessor.enrichment.cascade", "cowrieprocessor.enrichment.http",
    "cowrieprocessor.enrichment.base", "cowrieprocessor.tiers.enrichment_pass",
    "cowrieprocessor.cli.ingest", "cowrieprocessor.cli.enrich", "cowrieprocessor.cli.lookup",
    "cowrieprocessor.cli.report", "cowrieprocessor.cli.data",
)  # fmt: skip
#: The configuration and what it loads (its models: pydantic, the sources' settings); pydantic: cli.coercion.
NO_SETTINGS = ("pydantic", "pydantic_settings", "cowrieprocessor.config", "cowrieprocessor.enrichment")
SQLITE_NEVER = ("psycopg", "sqlalchemy.dialects.postgresql")

#: The small queries of the issue, and whether each may read the configuration.
QUERIES: list[tuple[list[str], bool]] = [
    (["query", "top-asns", "--limit", "5"], False),
    (["query", "top-asns", "--format", "json"], False),
    (["query", "asn-types"], False),
    (["query", "campaign", "--password", "123456"], False),
    (["query", "sessions", "--password", "123456", "--limit", "5"], False),
    (["query", "related", "--password", "123456"], False),
    (["query", "attribution", "--password", "123456"], False),
    (["query", "files", "--limit", "3"], False),
    (["query", "payload-hosts"], False),
    (["query", "overview"], False),  # with no configuration given, its staleness counts use the default TTLs
    (["query", "stale"], False),
    (["db", "status"], False),
]

SCRIPT = """
import sys
from cowrieprocessor.cli import coercion
if sys.argv[2] == "typer-coercion":
    coercion.install = lambda: False
from cowrieprocessor.cli.main import app
try:
    app(sys.argv[3:])
except SystemExit as exc:
    code = exc.code
else:
    code = 0
forbidden = tuple(sys.argv[1].split(","))
below = tuple(f + "." for f in forbidden)
print(code, sorted(m for m in sys.modules if m in forbidden or m.startswith(below)), file=sys.stderr)
"""


def imported(
    db_url: str, args: list[str], forbidden: tuple[str, ...], coercion: str = "fast", **config: str
) -> tuple[str, str]:
    """The exit code and the forbidden modules a fresh interpreter loaded for ``args`` (the last stderr line);
    ``config``: configuration variables to set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COWRIEPROCESSOR_")}
    env["COLUMNS"] = "100"
    env.update(config)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(forbidden), coercion, "--db", db_url, *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    code, _, modules = done.stderr.strip().splitlines()[-1].partition(" ")
    return code, modules


@pytest.fixture
def sample_db(db_url: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COWRIEPROCESSOR_")}
    result = CliRunner().invoke(app, ["--db", db_url, "ingest", "--sample", "--quiet"], env=env)
    assert result.exit_code == 0, result.output
    return db_url


def test_small_queries_import_only_what_they_need(sample_db: str, backend: str) -> None:
    for args, reads_settings in QUERIES:
        forbidden = NEVER + (() if reads_settings else NO_SETTINGS) + (SQLITE_NEVER if backend == "sqlite" else ())
        if args[1] != "overview":  # the one command of cli.explore here: the others do not build its commands
            forbidden += ("cowrieprocessor.cli.explore",)
        code, modules = imported(sample_db, args, forbidden)
        assert (code, modules) == ("0", "[]"), f"{' '.join(args)}: exit {code}, imported {modules}"


def test_the_budget_check_sees_a_heavy_import(sample_db: str) -> None:
    """The check can fail: ``query stale`` reads a configuration that is given (the TTLs in force), and
    without the fast coercion Typer imports pydantic for any command's options."""
    code, modules = imported(sample_db, ["query", "stale"], NO_SETTINGS, COWRIEPROCESSOR_FRESHNESS__HOSTING_DAYS="3")
    assert code == "0" and "cowrieprocessor.config" in modules and "pydantic_settings" in modules
    code, modules = imported(sample_db, ["query", "top-asns"], ("pydantic",), coercion="typer-coercion")
    assert code == "0" and "'pydantic'" in modules


def test_exit_skips_the_last_garbage_collections() -> None:
    """The CLI's exit hook freezes what is left (the collections at exit cost a small query ~70 ms)."""
    script = (
        "import atexit, gc\n"
        "before = gc.get_freeze_count()\n"
        "import cowrieprocessor.cli.main\n"
        "atexit._run_exitfuncs()\n"
        "print(before, gc.get_freeze_count() > 1000)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["0", "True"]


def test_collections_are_rare_until_the_command_has_its_database(sample_db: str) -> None:
    """Start-up collects rarely (its objects live as long as the process); the first engine freezes them and
    gives the usual thresholds back, so a long command collects as usual."""
    script = (
        "import gc, sys\n"
        "usual = gc.get_threshold()\n"
        "from cowrieprocessor.cli.main import app\n"
        "starting = gc.get_threshold()\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(usual == gc.get_threshold(), starting[0], gc.get_freeze_count() > 1000, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "--db", sample_db, "query", "top-asns", "--limit", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.stderr.split()[-3:] == ["True", "100000", "True"], done.stderr


def test_a_query_builds_only_its_own_command(sample_db: str) -> None:
    """Typer converts each command it builds (every parameter's annotations): ``query top-asns`` builds itself,
    not the group's dozen others; ``query --help`` still lists them all."""
    script = (
        "import sys\n"
        "from cowrieprocessor.cli import lazy\n"
        "from cowrieprocessor.cli.main import app\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = sorted(n for built in lazy._BUILT.values() for n in built)\n"
        "print(*names, file=sys.stderr)\n"
    )

    def built(*args: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", script, "--db", sample_db, *args], capture_output=True, text=True, timeout=120
        )
        return done.stderr.splitlines()[-1].split()

    assert built("query", "top-asns", "--limit", "1") == ["query", "top-asns"]
    listed = built("query", "--help")
    assert {"top-asns", "related", "stale", "files", "overview", "campaigns"} <= set(listed)
