"""Routing history from small dated pfx2as / ipasn files written by the test."""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
import random
from pathlib import Path

import pytest

from cowrieprocessor.enrichment.base import LookupStatus
from cowrieprocessor.enrichment.routing_history import PrefixTable, RoutingHistorySource, Snapshot, snapshot_date


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=13, tzinfo=dt.UTC)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    # 2024-01-01: pfx2as (gz) for IPv4 + a separate IPv6 file of the same day.
    with gzip.open(tmp_path / "routeviews-rv2-20240101-1200.pfx2as.gz", "wt") as f:
        f.write("45.83.64.0\t22\t208843\n45.0.0.0\t8\t1111\n45.83.66.0\t24\t64500_64501\n91.7.0.0\t16\t3320,3321\n")
    (tmp_path / "routeviews-rv6-20240101-1200.pfx2as").write_text("2a02:8100::\t32\t3209\n")
    # 2024-03-01: pyasn ipasn, the /24 moved to another AS.
    (tmp_path / "ipasn_20240301.dat").write_text(
        "; IP-ASN32-DAT file\n; Original source:\trib.20240301.0000.bz2\n45.83.64.0/22\t208843\n45.83.66.0/24\t399999\n"
    )
    (tmp_path / "README.txt").write_text("no date here\n")
    return tmp_path


def test_snapshot_date_from_names() -> None:
    assert snapshot_date(Path("routeviews-rv2-20240501-1200.pfx2as.gz")) == dt.date(2024, 5, 1)
    assert snapshot_date(Path("ipasn_2014-05-13.dat")) == dt.date(2014, 5, 13)
    assert snapshot_date(Path("notes.txt")) is None


def test_closest_snapshot_before_the_date_and_longest_prefix(history: Path) -> None:
    source = RoutingHistorySource(history)
    january = source.lookup_many(
        ["45.83.66.18", "45.83.65.1", "45.1.2.3", "91.7.8.9", "2a02:8100::1", "8.8.8.8"], at=_at("2024-02-15")
    )
    assert january["45.83.66.18"].data == {
        "asn": 64500,
        "asns": [64500, 64501],
        "prefix": "45.83.66.0/24",
        "snapshot_date": "2024-01-01",
        "as_of": "2024-02-15",
    }
    assert january["45.83.65.1"].data["asn"] == 208843  # type: ignore[index]
    assert january["45.1.2.3"].data["prefix"] == "45.0.0.0/8"  # type: ignore[index]
    assert january["91.7.8.9"].data["asns"] == [3320, 3321]  # type: ignore[index]
    assert january["2a02:8100::1"].data["asn"] == 3209  # type: ignore[index]
    assert january["8.8.8.8"].status is LookupStatus.NOT_FOUND
    march = source.lookup_many(["45.83.66.18", "45.1.2.3"], at=_at("2024-03-01"))
    assert march["45.83.66.18"].data["asn"] == 399999  # type: ignore[index]
    assert march["45.83.66.18"].data["snapshot_date"] == "2024-03-01"  # type: ignore[index]
    assert march["45.1.2.3"].status is LookupStatus.NOT_FOUND  # not announced in that snapshot
    assert "ipasn_20240301.dat" in (march["45.83.66.18"].provenance.version or "")
    latest = source.lookup_many(["45.83.66.18"])
    assert latest["45.83.66.18"].data["snapshot_date"] == "2024-03-01"  # type: ignore[index]


def test_date_before_every_snapshot_is_not_found_with_reason(history: Path) -> None:
    answer = RoutingHistorySource(history).lookup_many(["45.83.66.18"], at=_at("2023-12-31"))["45.83.66.18"]
    assert answer.status is LookupStatus.NOT_FOUND and answer.data is None
    assert answer.error == "no snapshot on or before 2023-12-31"


def test_garbage_ip_is_an_error_not_a_crash(history: Path) -> None:
    answer = RoutingHistorySource(history).lookup_many(["nope"])["nope"]
    assert answer.status is LookupStatus.ERROR


def test_interval_table_matches_brute_force_longest_prefix() -> None:
    rng = random.Random(42)
    routes: list[tuple[ipaddress.IPv4Network, int]] = []
    for asn in range(1, 400):
        plen = rng.choice([8, 12, 16, 19, 20, 22, 23, 24, 24, 24, 32])
        base = rng.choice([10, 45, 91]) << 24 | rng.getrandbits(24)
        routes.append((ipaddress.ip_network((base, plen), strict=False), asn))
    table = PrefixTable(32)
    for net, asn in routes:
        table.add(int(net.network_address), net.prefixlen, asn)
    table.freeze()
    for _ in range(3000):
        value = rng.choice([10, 45, 91, 92]) << 24 | rng.getrandbits(24)
        addr = ipaddress.ip_address(value)
        covering = [(n.prefixlen, asn) for n, asn in routes if addr in n]
        index = table.find(value)
        if not covering:
            assert index == -1
            continue
        best = max(p for p, _ in covering)
        assert table.route_len[index] == best
        assert table.route_group[index] in {asn for p, asn in covering if p == best}


def test_edges_of_the_address_space(tmp_path: Path) -> None:
    (tmp_path / "ipasn_20240101.dat").write_text("0.0.0.0/0\t1\n255.255.255.255/32\t2\n::/0\t3\n")
    snapshot = Snapshot(dt.date(2024, 1, 1), [tmp_path / "ipasn_20240101.dat"])
    assert snapshot.lookup("255.255.255.255").asns == (2,)  # type: ignore[union-attr]
    assert snapshot.lookup("255.255.255.254").asns == (1,)  # type: ignore[union-attr]
    assert snapshot.lookup("ffff::1").prefix == "::/0"  # type: ignore[union-attr]
