"""What issue #16's additions cost: the activity summariser at ingest, the v21 backfill, the new queries.

    .venv/bin/python bench/bench_front_door.py --log LOG [--db sqlite:///COPY.sqlite]

* ``--log``: a Cowrie JSON log (e.g. ``bench/generate_logs.py /tmp/x.json --events 300000 --no-rotate``):
  CPU seconds of ``summarise`` (the session summary, as before) and of ``summarise_activity`` (port
  forwarding, exploits: the extra pass the writer now makes) over all of its sessions, best of three.
* ``--db``: a database at v21 *that may be modified* (a copy): it is downgraded to v20 and upgraded again,
  timing the v21 upgrade (its backfill reads the raw events of the forwarding, exploit and transfer
  eventids); then ``overview``, ``top_keys`` for every kind, ``tunnel_destinations`` and ``tunnel_asns``
  are timed on it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cowrieprocessor.analysis.campaigns import By, top_keys  # noqa: E402
from cowrieprocessor.analysis.overview import overview  # noqa: E402
from cowrieprocessor.analysis.tunnels import tunnel_asns, tunnel_destinations  # noqa: E402
from cowrieprocessor.ingestion.activity import summarise_activity  # noqa: E402
from cowrieprocessor.ingestion.events import Event, parse_line  # noqa: E402
from cowrieprocessor.ingestion.summaries import summarise  # noqa: E402
from cowrieprocessor.ingestion.writer import by_session  # noqa: E402
from cowrieprocessor.storage import schema  # noqa: E402
from cowrieprocessor.storage.engine import make_engine  # noqa: E402


def best_cpu(work: Callable[[], Any], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def summarisers(log: Path) -> None:
    events = [e for e in (parse_line(line) for line in log.read_bytes().splitlines() if line.strip())]
    groups = by_session([e for e in events if isinstance(e, Event)])
    n = sum(len(g) for g in groups.values())
    summary = best_cpu(lambda: [summarise(sid, ev) for sid, ev in groups.items()])
    activity = best_cpu(lambda: [summarise_activity(ev) for ev in groups.values()])
    print(f"events {n:,} in {len(groups):,} sessions")
    print(f"summarise           {summary:7.3f} s CPU  ({summary / n * 1e6:.2f} us/event)")
    print(f"summarise_activity  {activity:7.3f} s CPU  ({activity / n * 1e6:.2f} us/event, {activity / summary:.1%})")


def database(url: str) -> None:
    engine = make_engine(url)
    schema.downgrade(engine, "v20")
    start = time.perf_counter()
    schema.upgrade(engine)
    print(f"v20 -> v21 upgrade (backfill) {time.perf_counter() - start:7.2f} s wall")
    for name, work in (
        ("overview", lambda: overview(engine)),
        *((f"top_keys --by {by.value}", lambda by=by: top_keys(engine, by)) for by in By),
        ("tunnel_destinations", lambda: tunnel_destinations(engine)),
        ("tunnel_asns", lambda: tunnel_asns(engine)),
    ):
        start = time.perf_counter()
        work()
        print(f"{name:28} {time.perf_counter() - start:7.3f} s wall")
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path)
    parser.add_argument("--db")
    args = parser.parse_args()
    if args.log is None and args.db is None:
        parser.error("give --log, --db or both")
    if args.log is not None:
        summarisers(args.log)
    if args.db is not None:
        database(args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
