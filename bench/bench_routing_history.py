"""Routing-history bench: load a realistic generated snapshot, then time lookups.

Usage: .venv/bin/python bench/bench_routing_history.py [--prefixes 800000] [--lookups 200000]

The snapshot mimics a RouteViews pfx2as day: mostly /24s, nested less-specifics (/8-/23), a few
multi-origin entries, plus IPv6 (~1/5 of the IPv4 count). Lookups mix routed and unrouted addresses.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import random
import socket
import tempfile
import time
from pathlib import Path

from cowrieprocessor.enrichment.routing_history import RoutingHistorySource


def write_snapshot(directory: Path, prefixes: int, rng: random.Random) -> None:
    lengths = [24] * 60 + [23, 22, 22, 21, 20, 20, 19, 18, 17, 16, 16, 15, 14, 12, 10, 8]
    with gzip.open(directory / "routeviews-rv2-20240501-1200.pfx2as.gz", "wt", compresslevel=1) as f:
        for i in range(prefixes):
            plen = rng.choice(lengths)
            value = (rng.randrange(1, 224) << 24 | rng.getrandbits(24)) & ~((1 << (32 - plen)) - 1)
            asn = str(rng.randrange(1, 400_000))
            if i % 200 == 0:
                asn += f"_{rng.randrange(1, 400_000)}"
            f.write(f"{socket.inet_ntoa(value.to_bytes(4, 'big'))}\t{plen}\t{asn}\n")
    with gzip.open(directory / "routeviews-rv6-20240501-1200.pfx2as.gz", "wt", compresslevel=1) as f:
        for _ in range(prefixes // 5):
            plen = rng.choice([32, 36, 40, 44, 48, 48, 48])
            value = (0x2 << 124 | rng.getrandbits(124)) & ~((1 << (128 - plen)) - 1)
            f.write(
                f"{socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, 'big'))}\t{plen}\t{rng.randrange(1, 400_000)}\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prefixes", type=int, default=800_000)
    parser.add_argument("--lookups", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        write_snapshot(directory, args.prefixes, rng)
        took = time.perf_counter() - started
        print(f"generated {args.prefixes:,} IPv4 + {args.prefixes // 5:,} IPv6 prefixes in {took:.1f} s")
        source = RoutingHistorySource(directory)
        at = dt.date(2024, 5, 2)
        started, cpu = time.perf_counter(), time.process_time()
        snapshot = source.snapshot_for(at)
        load, load_cpu = time.perf_counter() - started, time.process_time() - cpu
        assert snapshot is not None
        print(f"load: {load:.2f} s wall, {load_cpu:.2f} s CPU for {snapshot.prefixes:,} prefixes")
        v4 = [socket.inet_ntoa(rng.getrandbits(32).to_bytes(4, "big")) for _ in range(args.lookups)]
        v6 = [
            socket.inet_ntop(socket.AF_INET6, (0x2 << 124 | rng.getrandbits(124)).to_bytes(16, "big"))
            for _ in range(args.lookups // 10)
        ]
        for label, ips in (("IPv4", v4), ("IPv6", v6)):
            started, cpu = time.perf_counter(), time.process_time()
            found = sum(1 for ip in ips if snapshot.lookup(ip) is not None)
            elapsed, used = time.perf_counter() - started, time.process_time() - cpu
            print(
                f"{label} Snapshot.lookup: {len(ips) / elapsed:,.0f} lookups/s wall, {len(ips) / used:,.0f}/s CPU "
                f"({found:,} of {len(ips):,} routed)"
            )
        batch = v4[:50_000]
        started, cpu = time.perf_counter(), time.process_time()
        answers = source.lookup_many(batch, at=dt.datetime(2024, 5, 2, tzinfo=dt.UTC))
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"lookup_many (LookupResult objects): {len(answers) / elapsed:,.0f} IPs/s wall, "
            f"{len(answers) / used:,.0f}/s CPU"
        )


if __name__ == "__main__":
    main()
