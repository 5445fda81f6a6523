"""``follow`` keeping up with a live Cowrie log (issue 18): latency from write to queryable, CPU, memory.

    .venv/bin/python bench/bench_follow.py [--backends sqlite,postgresql] [--minutes 5] [--rate 1000]
                                           [--idle-seconds 60]

A writer thread appends realistic events (``bench/generate_logs.py``'s sessions, made once under
``/work/wt/data/i18-follow/``; each event's timestamp set to the moment it is written, so every session is live)
to ``cowrie.json`` at ``--rate`` events per second, in ten slices a second, for ``--minutes``. ``cowrieprocessor
follow`` runs as its own process (default settings: the offline sources enrich new IPs). A poller asks the
database every 50 ms which of the sessions written so far are queryable *with their snapshot*; a session's
latency is from the write of its first event to the poll that saw it. CPU (user + system) and peak RSS of the
follow process come from ``/proc``, while keeping up and then idle for ``--idle-seconds``. At the end follow
gets SIGTERM: it must exit 0 with every event stored exactly once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
WORK = Path("/work/wt/data/i18-follow")
CLI = [sys.executable, "-m", "cowrieprocessor.cli.main"]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DB = "bench_i18_follow"
TICKS = os.sysconf("SC_CLK_TCK")
POLL = 0.05


def source_events(count: int) -> list[dict[str, Any]]:
    """Realistic events (whole sessions, in time order), generated once and kept."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"follow-source-{count}.json"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "generate_logs.py"), str(path), "--events", str(count),
             "--no-rotate", "--seed", "18"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    with path.open("rb") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return round(values["VmRSS"], 1), round(values["VmHWM"], 1)


class Writer(threading.Thread):
    """Appends events at ``rate`` per second; remembers when each session's first event was written."""

    def __init__(self, path: Path, events: list[dict[str, Any]], rate: int, seconds: float) -> None:
        super().__init__(name="writer", daemon=True)
        self.path, self.events, self.rate, self.seconds = path, events, rate, seconds
        self.first_write: dict[str, float] = {}
        self.lock = threading.Lock()
        self.written = 0
        self.behind = 0.0  # the most the writer fell behind its schedule (s)

    def run(self) -> None:
        slice_events = max(1, self.rate // 10)
        total = min(len(self.events), int(self.rate * self.seconds))
        started = time.monotonic()
        with self.path.open("ab", buffering=0) as fh:
            while self.written < total:
                due = started + self.written / self.rate
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                else:
                    self.behind = max(self.behind, -wait)
                chunk = self.events[self.written : min(total, self.written + slice_events)]
                stamp = dt.datetime.now(dt.UTC)
                data = bytearray()
                new: list[str] = []
                for i, event in enumerate(chunk):  # distinct times: identical events stay distinct events
                    event["timestamp"] = (stamp + dt.timedelta(microseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                    data += json.dumps(event, separators=(",", ":")).encode() + b"\n"
                    sid = event["session"]
                    if sid not in self.first_write:
                        new.append(sid)
                fh.write(bytes(data))  # one write per slice, lines whole, as Cowrie flushes per line
                now = time.time()
                with self.lock:
                    for sid in new:
                        self.first_write.setdefault(sid, now)
                self.written += len(chunk)


def poll_latencies(url: str, writer: Writer, until: threading.Event) -> dict[str, float]:
    """Session -> seconds from its first write to being queryable with its snapshot."""
    engine = create_engine(url)
    seen: dict[str, float] = {}
    query = text("SELECT session_id FROM session_summaries WHERE snapshot_source IS NOT NULL AND session_id IN :ids")
    from sqlalchemy import bindparam

    query = query.bindparams(bindparam("ids", expanding=True))
    try:
        while True:
            with writer.lock:
                pending = [s for s in writer.first_write if s not in seen]
            if not pending and until.is_set():
                return seen
            with engine.connect() as conn:
                for i in range(0, len(pending), 500):
                    found = conn.execute(query, {"ids": pending[i : i + 500]}).scalars().all()
                    now = time.time()
                    for sid in found:
                        seen[sid] = now - writer.first_write[sid]
            time.sleep(POLL)
    finally:
        engine.dispose()


def database(backend: str, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'follow.sqlite'}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_DB}"))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"


def drop(backend: str) -> None:
    if backend == "postgresql":
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
        admin.dispose()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else float("nan")


def run(backend: str, events: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    folder = WORK / f"run-{backend}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "logs").mkdir(parents=True)
    url = database(backend, folder)
    subprocess.run([*CLI, "--db", url, "db", "upgrade"], check=True, stdout=subprocess.DEVNULL)
    live = folder / "logs" / "cowrie.json"
    env = {**os.environ, "COWRIEPROCESSOR_DB": url}
    env.pop("COWRIEPROCESSOR_CONFIG", None)
    follow = subprocess.Popen(
        [*CLI, "follow", str(live.parent), "--interval", str(args.interval), "--format", "json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        time.sleep(5)  # started, sources loaded
        idle_before = proc_cpu(follow.pid)
        time.sleep(10)
        idle_start = (proc_cpu(follow.pid) - idle_before) / 10
        seconds = args.minutes * 60
        writer = Writer(live, events, args.rate, seconds)
        done = threading.Event()
        result: dict[str, dict[str, float]] = {}
        poller = threading.Thread(target=lambda: result.setdefault("lat", poll_latencies(url, writer, done)))
        cpu0, wall0 = proc_cpu(follow.pid), time.monotonic()
        writer.start()
        poller.start()
        rss_samples = []
        while writer.is_alive():
            writer.join(5)
            rss_samples.append(proc_rss_mb(follow.pid)[0])
        cpu_busy = (proc_cpu(follow.pid) - cpu0) / (time.monotonic() - wall0)
        done.set()
        poller.join(60)
        time.sleep(3)
        cpu1 = proc_cpu(follow.pid)
        time.sleep(args.idle_seconds)
        cpu_idle = (proc_cpu(follow.pid) - cpu1) / args.idle_seconds
        rss_now, rss_peak = proc_rss_mb(follow.pid)
        follow.send_signal(signal.SIGTERM)
        out, err = follow.communicate(timeout=120)
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait()
    latencies = list(result.get("lat", {}).values())
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM raw_events")).scalar_one()
        sessions = conn.execute(text("SELECT count(*) FROM session_summaries")).scalar_one()
        snap = conn.execute(
            text("SELECT count(*) FROM session_summaries WHERE snapshot_source IS NOT NULL")
        ).scalar_one()
    engine.dispose()
    if backend == "postgresql" and not args.keep:
        drop(backend)
    final = json.loads(out) if follow.returncode == 0 and out.strip() else {}
    return {
        "backend": backend,
        "minutes": args.minutes,
        "rate": args.rate,
        "events_written": writer.written,
        "events_stored": stored,
        "exactly_once": stored == writer.written,
        "sessions": sessions,
        "sessions_with_snapshot": snap,
        "sessions_measured": len(latencies),
        "latency_median_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_p99_s": pct(latencies, 0.99),
        "latency_max_s": round(max(latencies), 3) if latencies else None,
        "writer_behind_max_s": round(writer.behind, 3),
        "cpu_keeping_up_cores": round(cpu_busy, 4),
        "cpu_idle_cores": round(cpu_idle, 4),
        "cpu_idle_before_writes_cores": round(idle_start, 4),
        "rss_mb_median_while_writing": statistics.median(rss_samples) if rss_samples else None,
        "rss_mb_end": rss_now,
        "rss_mb_peak": rss_peak,
        "follow_exit": follow.returncode,
        "follow_batches": final.get("batches"),
        "follow_dead_letters": final.get("dead_letters"),
        "stderr_tail": err.decode(errors="replace")[-300:] if follow.returncode else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    args = parser.parse_args()
    needed = int(args.rate * args.minutes * 60)
    pool = source_events(max(needed, 300_000))
    for backend in args.backends.split(","):
        events = [dict(e) for e in pool[:needed]]
        figures = run(backend, events, args)
        print(json.dumps(figures, indent=2), flush=True)


if __name__ == "__main__":
    main()
