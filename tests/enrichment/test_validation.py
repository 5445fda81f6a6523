from __future__ import annotations

import pytest

from cowrieprocessor.enrichment.base import LookupStatus
from cowrieprocessor.enrichment.validation import ValidationSource, classify


@pytest.mark.parametrize(
    ("ip", "reason", "network"),
    [
        ("10.1.2.3", "private", "10.0.0.0/8"),
        ("172.31.255.1", "private", "172.16.0.0/12"),
        ("192.168.7.9", "private", "192.168.0.0/16"),
        ("127.0.0.53", "loopback", "127.0.0.0/8"),
        ("100.64.12.34", "shared-address-space", "100.64.0.0/10"),
        ("100.127.255.254", "shared-address-space", "100.64.0.0/10"),
        ("169.254.1.1", "link-local", "169.254.0.0/16"),
        ("0.1.2.3", "this-network", "0.0.0.0/8"),
        ("192.0.2.44", "documentation", "192.0.2.0/24"),
        ("198.51.100.7", "documentation", "198.51.100.0/24"),
        ("203.0.113.99", "documentation", "203.0.113.0/24"),
        ("198.19.1.1", "benchmarking", "198.18.0.0/15"),
        ("224.0.0.1", "multicast", "224.0.0.0/4"),  # ipaddress calls this one global
        ("239.255.255.250", "multicast", "224.0.0.0/4"),
        ("240.1.2.3", "reserved", "240.0.0.0/4"),
        ("255.255.255.255", "limited-broadcast", "255.255.255.255/32"),
        ("192.0.0.170", "ietf-protocol-assignments", "192.0.0.0/24"),
        ("::1", "loopback", "::1/128"),
        ("::", "unspecified", "::/128"),
        ("::ffff:8.8.8.8", "ipv4-mapped", "::ffff:0:0/96"),
        ("fe80::1", "link-local", "fe80::/10"),
        ("fd12:3456::1", "unique-local", "fc00::/7"),
        ("ff02::1", "multicast", "ff00::/8"),
        ("2001:db8:85a3::8a2e:370:7334", "documentation", "2001:db8::/32"),
        ("3fff:1::1", "documentation", "3fff::/20"),
        ("2001:2::5", "benchmarking", "2001:2::/48"),
        ("100::42", "discard-only", "100::/64"),
        ("4000::1", "reserved", "4000::/2"),
    ],
)
def test_bogons_with_reason(ip: str, reason: str, network: str) -> None:
    found = classify(ip)
    assert found.is_bogon is True
    assert found.reason == reason
    assert found.network == network


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("8.8.4.4", None),
        ("100.63.255.255", None),  # just below 100.64/10
        ("100.128.0.0", None),  # just above
        ("172.32.0.1", None),
        ("192.0.0.9", "pcp-anycast"),  # globally reachable inside a special-purpose block
        ("192.31.196.1", "as112"),
        ("2001:4860:4860::8844", None),
        ("2002:c000:0204::1", "6to4"),  # flagged differently across Python patch releases
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo"),
        ("2001:20::1", "orchid-v2"),
        ("64:ff9b::808:808", "nat64"),
    ],
)
def test_public_and_global_special_purpose(ip: str, reason: str | None) -> None:
    found = classify(ip)
    assert found.is_bogon is False
    assert found.reason == reason


def test_source_gives_every_ip_an_answer_and_errors_for_garbage() -> None:
    answers = ValidationSource().lookup_many(["8.8.4.4", "10.0.0.1", "not-an-ip", "1.2.3.256"])
    assert answers["8.8.4.4"].status is LookupStatus.FOUND
    assert answers["8.8.4.4"].data == {"is_bogon": False, "reason": None, "network": None}
    assert answers["10.0.0.1"].data == {"is_bogon": True, "reason": "private", "network": "10.0.0.0/8"}
    assert answers["not-an-ip"].status is LookupStatus.ERROR and answers["not-an-ip"].data is None
    assert answers["1.2.3.256"].status is LookupStatus.ERROR
    assert answers["8.8.4.4"].provenance.version and answers["8.8.4.4"].provenance.fetched_at.tzinfo


def test_results_of_one_batch_share_one_provenance_and_keep_their_own_time() -> None:
    """``result`` reuses the immutable provenance of a (source, version, time) - and only of that triple."""
    import datetime as dt

    from cowrieprocessor.enrichment.base import LookupStatus, result

    at = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    a = result("x", "192.0.2.1", LookupStatus.FOUND, {}, version="v1", fetched_at=at)
    b = result("x", "192.0.2.2", LookupStatus.FOUND, {}, version="v1", fetched_at=at)
    c = result("x", "192.0.2.3", LookupStatus.FOUND, {}, version="v2", fetched_at=at)
    d = result("x", "192.0.2.4", LookupStatus.FOUND, {}, version="v1", fetched_at=at + dt.timedelta(seconds=1))
    assert a.provenance is b.provenance
    assert (c.provenance.version, d.provenance.fetched_at) == ("v2", at + dt.timedelta(seconds=1))
