"""Write realistic Cowrie 3.1.4 logs for benchmarks and manual tests.

python bench/generate_logs.py /tmp/logs --events 1000000 --days 7 --compression gz
python bench/generate_logs.py /tmp/one.json.bz2 --events 1000000 --no-rotate --compression bz2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from cowrieprocessor.synthetic import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="output directory (daily rotation) or file (--no-rotate)")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--events", type=int, help="write at least this many events (whole sessions)")
    size.add_argument("--sessions", type=int, help="write exactly this many sessions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2025, 2, 20), help="YYYY-MM-DD (UTC)")
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--sensors", type=int, default=1)
    parser.add_argument("--compression", choices=("none", "gz", "bz2"), default="none")
    parser.add_argument("--no-rotate", dest="rotate", action="store_false", help="one file instead of daily files")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)

    result = generate(
        args.path,
        events=args.events,
        sessions=args.sessions,
        seed=args.seed,
        start=dt.datetime.combine(args.start, dt.time(), tzinfo=dt.UTC),
        days=args.days,
        sensors=args.sensors,
        compression=args.compression,
        rotate_daily=args.rotate,
    )
    summary: dict[str, Any] = {
        "files": [{"path": str(p), "bytes": p.stat().st_size} for p in result.files],
        "events": result.events,
        "sessions": result.sessions,
        "unique_source_ips": result.unique_ips,
        "sessions_per_ip": round(result.sessions_per_ip, 2),
        "json_bytes": result.bytes_written,
        "first_event": result.first_event.isoformat() if result.first_event else None,
        "last_event": result.last_event.isoformat() if result.last_event else None,
        "seconds": round(result.seconds, 2),
        "events_per_second": round(result.events / result.seconds) if result.seconds else None,
        "eventids": result.eventids,
    }
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
        return 0
    for f in summary["files"]:
        print(f"{f['path']}  {f['bytes']:,} bytes")
    print(
        f"{result.events:,} events, {result.sessions:,} sessions, {result.unique_ips:,} source IPs "
        f"({result.sessions_per_ip:.2f} sessions/IP), {result.bytes_written / 1e6:.1f} MB of JSON "
        f"in {result.seconds:.1f} s ({summary['events_per_second']:,} events/s)"
    )
    print(f"time span: {summary['first_event']} .. {summary['last_event']}")
    for eventid, count in result.eventids.items():
        print(f"  {eventid:40s} {count:>10,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
