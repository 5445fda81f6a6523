"""Embedded-source bench: load time, lookups per second on one core, and extra memory.

Usage: .venv/bin/python bench/bench_embedded.py [--lookups 300000] [--batch 5000] [--repeat 3] [--compare]

Addresses are drawn from routed space (random ranges of the embedded AS table, 3 % IPv6), so every lookup
does the full work: AS number, organisation, network, country. ``lookup_many`` is timed in batches of the
enrichment pass's size, with the garbage collector on, as the pass runs it. Memory is the process's
resident set (VmRSS) after loading, minus before (the interpreter and imports excluded). ``--compare``
also times the alternatives considered: the publisher's country ``.mmdb`` through maxminddb's C reader
(if ``bench/data/geo-whois-asn-country.mmdb`` is there), and geoip2fast (the previous embedded source, if
installed; it has no AS numbers).
"""

from __future__ import annotations

import argparse
import gc
import random
import socket
import statistics
import time
from pathlib import Path


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def addresses(count: int, rng: random.Random) -> list[str]:
    from cowrieprocessor.enrichment.embedded import shared

    data, out = shared(), []
    for table, bits, share in ((data.v4, 32, 0.97), (data.v6, 128, 0.03)):
        routed = [i for i in range(len(table.asns) - 1) if table.asns[i]]
        family = socket.AF_INET if bits == 32 else socket.AF_INET6
        for _ in range(int(count * share)):
            i = rng.choice(routed)
            value = table.starts[i] + rng.randrange(table.starts[i + 1] - table.starts[i])
            out.append(socket.inet_ntop(family, value.to_bytes(bits // 8, "big")))
    rng.shuffle(out)
    return out


def country_mmdb(ips: list[str]) -> None:
    """The publisher's country .mmdb through maxminddb's C reader (what the first build shipped)."""
    import maxminddb

    path = Path(__file__).resolve().parent / "data" / "geo-whois-asn-country.mmdb"
    if not path.is_file():
        print(f"country .mmdb: {path} absent (npm pack @ip-location-db/geo-whois-asn-country-mmdb): skipped")
        return
    reader = maxminddb.open_database(str(path))
    started = time.process_time()
    for ip in ips:
        reader.get(ip)
    print(f"country .mmdb (maxminddb C reader) alone: {len(ips) / (time.process_time() - started):,.0f}/s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lookups", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the addresses (median reported)")
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()

    import maxminddb  # noqa: F401 - imports before the baseline, so only the data counts

    from cowrieprocessor.enrichment import base, embedded  # noqa: F401

    before = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    source = embedded.EmbeddedSource()
    load, load_cpu = time.perf_counter() - started, time.process_time() - cpu
    extra = rss_mb() - before
    record = source.data.manifest
    rows = record["rows"]
    print(f"dataset: {source.dataset}; {rows['ipv4_ranges']:,} IPv4 + {rows['ipv6_ranges']:,} IPv6 AS ranges")
    print(f"load: {load:.2f} s wall, {load_cpu:.2f} s CPU; extra memory after load: {extra:.0f} MB")

    ips = addresses(args.lookups, random.Random(22))
    rates = []
    for _ in range(args.repeat):
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(ips), args.batch):
            source.lookup_many(ips[i : i + args.batch])  # the answers are dropped batch by batch, as the pass does
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        rates.append(len(ips) / used)
        print(
            f"lookup_many, batches of {args.batch:,}: {len(ips) / used:,.0f} lookups/s CPU (one core), "
            f"{len(ips) / elapsed:,.0f}/s wall"
        )
    print(f"median of {args.repeat} passes: {statistics.median(rates):,.0f} lookups/s CPU; best {max(rates):,.0f}")
    print(f"extra memory after the lookups (the {len(ips):,} address strings included): {rss_mb() - before:.0f} MB")
    found = 0
    for i in range(0, len(ips), args.batch):  # untimed: how many got an AS number
        found += sum(1 for a in source.lookup_many(ips[i : i + args.batch]).values() if a.data and "asn" in a.data)
    print(f"{found:,} of {len(ips):,} lookups with an AS number")

    if args.compare:
        country_mmdb(ips)
        try:
            from geoip2fast import GeoIP2Fast  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            print("geoip2fast not installed: skipped")
            return
        started = time.process_time()
        engine = GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn-ipv6.dat.gz", verbose=False)
        print(f"geoip2fast load: {time.process_time() - started:.2f} s CPU")
        started = time.process_time()
        for ip in ips:
            engine.lookup(ip)
        print(f"geoip2fast lookup (no AS numbers): {len(ips) / (time.process_time() - started):,.0f}/s CPU")


if __name__ == "__main__":
    main()
