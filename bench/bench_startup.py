"""How long a command takes from the shell: ``--version``, ``--help`` and small queries, end to end.

Each command is run ``--runs`` times as a fresh process (as hyperfine does) after ``--warmup`` runs; the
figures are the minimum, median and mean wall time. Targets (#21): ``--version`` and ``--help`` under
150 ms, a small query under 300 ms. The small queries run on a database made once from the bundled sample
(``ingest --sample``, enriched offline), in a temporary directory.

    python bench/bench_startup.py                      # this checkout
    python bench/bench_startup.py --src /tmp/old/src   # another source tree (e.g. `git archive` of main)
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

TARGETS_MS = {"--version": 150, "--help": 150}
QUERY_TARGET_MS = 300


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--src", type=Path, help="source tree to import cowrieprocessor from (default: installed)")
    args = parser.parse_args()
    base = command(args.src)
    env = environment(args.src)
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "sample.sqlite")
        made = subprocess.run(
            [*base, "--db", f"sqlite:///{db}", "ingest", "--sample", "--format", "json"],
            env=env,
            capture_output=True,
            check=False,
        )
        if made.returncode != 0:
            raise SystemExit(f"could not make the sample database: {made.stderr.decode()[-500:]}")
        cases = [
            (["--version"], TARGETS_MS["--version"]),
            (["--help"], TARGETS_MS["--help"]),
            (["query", "--help"], TARGETS_MS["--help"]),
            (["--db", f"sqlite:///{db}", "query", "asn-types"], QUERY_TARGET_MS),
            (["--db", f"sqlite:///{db}", "query", "top-asns", "--limit", "5"], QUERY_TARGET_MS),
            (["--db", f"sqlite:///{db}", "query", "top-asns", "--format", "json"], QUERY_TARGET_MS),
            (["--db", f"sqlite:///{db}", "db", "status"], QUERY_TARGET_MS),
        ]
        python = timed([sys.executable, "-c", "pass"], env, args.runs, args.warmup)
        print(f"source: {args.src or 'installed package'}; {args.runs} runs after {args.warmup} warm-up runs")
        print(f"{'command':<46} {'min ms':>8} {'median':>8} {'mean':>8} {'target':>8}")
        print(f"{'(python -c pass)':<46} {min(python) * 1e3:8.0f} {statistics.median(python) * 1e3:8.0f} "
              f"{statistics.mean(python) * 1e3:8.0f}")  # fmt: skip
        for argv, target in cases:
            times = timed([*base, *argv], env, args.runs, args.warmup)
            shown = " ".join(a if not a.startswith("sqlite:") else "DB" for a in argv)
            median = statistics.median(times) * 1e3
            verdict = "ok" if median <= target else "OVER"
            print(f"{shown:<46} {min(times) * 1e3:8.0f} {median:8.0f} {statistics.mean(times) * 1e3:8.0f} "
                  f"{target:>6} {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
