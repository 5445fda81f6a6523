"""How long a command takes from the shell: ``--version``, ``--help`` and small queries, end to end.

Each command is run ``--runs`` times as a fresh process (as hyperfine does) after ``--warmup`` runs; the
figures are the minimum, median and mean wall time, and each median is printed against its target (#21):
``--version`` and ``--help`` under 150 ms, a small query under 300 ms. The small queries run on a database
made once from the bundled sample (``ingest --sample``, enriched offline) in a temporary directory; with
``--postgres URL`` (an empty database, e.g. ``postgresql://postgres@127.0.0.1/bench_i21startup``) the same
queries run on PostgreSQL too. The import lines say what a query pays before it runs: Python itself, the
CLI, SQLAlchemy Core and each driver (psycopg is what a PostgreSQL query adds), all in fresh processes.

    python bench/bench_startup.py                      # this checkout
    python bench/bench_startup.py --src /tmp/old/src   # another source tree (e.g. `git archive` of main)
    python bench/bench_startup.py --postgres postgresql://postgres@127.0.0.1/bench_i21startup
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELP_TARGET_MS = 150
QUERY_TARGET_MS = 300

#: The small queries people run by hand and in loops (database first, then the command).
QUERIES: list[list[str]] = [
    ["query", "top-asns", "--limit", "5"],
    ["query", "top-asns", "--format", "json"],
    ["query", "asn-types"],
    ["query", "overview"],
    ["query", "campaign", "--password", "123456"],
    ["query", "sessions", "--password", "123456", "--limit", "5"],
    ["query", "related", "--password", "123456"],
    ["db", "status"],
]

#: What a command imports before it runs, each in a fresh interpreter (no target: where the time goes).
IMPORTS: list[tuple[str, str]] = [
    ("import cowrieprocessor.cli.main", "import cowrieprocessor.cli.main"),
    ("+ sqlalchemy, sqlite3 (Core, SQLite)", "import cowrieprocessor.cli.main, sqlalchemy.dialects.sqlite, sqlite3"),
    ("+ sqlalchemy, psycopg (Core, PostgreSQL)", "import cowrieprocessor.cli.main, sqlalchemy.dialects.postgresql, "
     "psycopg"),
    ("+ the analysis queries", "import cowrieprocessor.cli.main, cowrieprocessor.analysis.inventory"),
]  # fmt: skip


def command(src: Path | None) -> list[str]:
    """The CLI as its console script runs it, optionally from another source tree."""
    return [sys.executable, "-c", "from cowrieprocessor.cli.main import app; app()"]


def environment(src: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COWRIEPROCESSOR_")}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    env["COLUMNS"] = "120"
    return env


def timed(argv: list[str], env: dict[str, str], runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        subprocess.run(argv, env=env, capture_output=True, check=False)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv[3:])} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return times


def sample_database(base: list[str], env: dict[str, str], url: str) -> None:
    made = subprocess.run([*base, "--db", url, "ingest", "--sample", "--format", "json"], env=env,
                          capture_output=True, check=False)  # fmt: skip
    if made.returncode != 0:
        raise SystemExit(f"could not make the sample database at {url}: {made.stderr.decode()[-500:]}")


def row(shown: str, times: list[float], target: int | None) -> tuple[str, bool]:
    median = statistics.median(times) * 1e3
    verdict = "" if target is None else ("ok" if median <= target else "OVER")
    figures = f"{min(times) * 1e3:8.0f} {median:8.0f} {statistics.mean(times) * 1e3:8.0f}"
    return f"{shown:<52} {figures} {'' if target is None else target:>6} {verdict}", verdict != "OVER"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--src", type=Path, help="source tree to import cowrieprocessor from (default: installed)")
    parser.add_argument("--postgres", help="an empty PostgreSQL database to also run the queries on")
    args = parser.parse_args()
    base = command(args.src)
    env = environment(args.src)
    with tempfile.TemporaryDirectory() as tmp:
        databases = {"sqlite": f"sqlite:///{Path(tmp) / 'sample.sqlite'}"}
        if args.postgres:
            databases["postgresql"] = args.postgres
        for url in databases.values():
            sample_database(base, env, url)
        cases: list[tuple[str, list[str], int | None]] = [
            ("--version", ["--version"], HELP_TARGET_MS),
            ("--help", ["--help"], HELP_TARGET_MS),
            ("query --help", ["query", "--help"], HELP_TARGET_MS),
        ]
        for backend, url in databases.items():
            cases += [(f"[{backend}] {' '.join(q)}", ["--db", url, *q], QUERY_TARGET_MS) for q in QUERIES]
        print(f"source: {args.src or 'installed package'}; {args.runs} runs after {args.warmup} warm-up runs; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
        print(f"{'command':<52} {'min ms':>8} {'median':>8} {'mean':>8} {'target':>6}")
        met = True
        print(row("(python -c pass)", timed([sys.executable, "-c", "pass"], env, args.runs, args.warmup), None)[0])
        for shown, statement in IMPORTS:
            print(row(shown, timed([sys.executable, "-c", statement], env, args.runs, args.warmup), None)[0])
        for shown, argv, target in cases:
            line, ok = row(shown, timed([*base, *argv], env, args.runs, args.warmup), target)
            met = met and ok
            print(line, flush=True)
        print("every target met" if met else "some targets NOT met (OVER)")


if __name__ == "__main__":
    main()
