"""Inventory-only questions: top ASNs, ASN types, persistent IPs, movements, staleness per source."""

from __future__ import annotations

import pytest

from cowrieprocessor.analysis import asn_types, movements, persistent_ips, stale, stale_ips, top_asns
from tests.analysis.conftest import AS_OF, DAY, T0, A, B, D, Dataset, H
from tests.analysis.conftest import C as C_
from tests.analysis.conftest import E as E_


def test_top_asns_by_session_count_with_filters(dataset: Dataset) -> None:
    assert [r.asn for r in top_asns(dataset.engine, limit=3)] == [64500, 64501, 64502]
    assert [r.asn for r in top_asns(dataset.engine, asn_type="hosting")] == [64500, 64502]
    assert [r.asn for r in top_asns(dataset.engine, country="br")] == [64504]
    first = top_asns(dataset.engine, limit=1)[0]
    assert (first.organization_name, first.total_session_count, first.unique_ip_count) == ("AlphaHost", 500, 50)


def test_asn_types(dataset: Dataset) -> None:
    got = {r.asn_type: (r.asns, r.sessions, r.ips, r.avg_sessions_per_asn) for r in asn_types(dataset.engine)}
    assert got == {
        "hosting": (2, 700, 70, 350.0),
        "isp": (2, 350, 35, 175.0),
        "vpn": (1, 100, 10, 100.0),
        None: (1, 10, 1, 10.0),
    }
    assert asn_types(dataset.engine)[0].asn_type == "hosting"


@pytest.mark.parametrize(("min_days", "expected"), [(10, [A, B]), (40, [A]), (41, []), (1, [A, B, C_, E_])])
def test_persistent_ips(dataset: Dataset, min_days: float, expected: list[str]) -> None:
    rows = persistent_ips(dataset.engine, min_days=min_days)
    assert [r.ip for r in rows] == expected
    if rows:
        assert rows[0].active_days == pytest.approx(40.0)
        assert (rows[0].current_asn, rows[0].geo_country, rows[0].ip_types) == (64500, "US", ["DATACENTER"])


def test_movements_lists_every_window_of_ips_that_changed_asn(dataset: Dataset) -> None:
    rows = movements(dataset.engine)
    assert [(r.ip, r.asn, r.valid_from, r.valid_until) for r in rows] == [
        (B, 64501, T0, T0 + 10 * DAY),
        (B, 64502, T0 + 10 * DAY, None),
        (H, 64504, T0 - 30 * DAY, T0 - 5 * DAY),
        (H, 64501, T0 - 5 * DAY, None),
    ]  # A and C never moved; latest change first
    assert rows[0].organization_name == "BetaNet ISP"
    assert {r.ip for r in movements(dataset.engine, asn=64504)} == {H}
    assert {r.ip for r in movements(dataset.engine, ip=B)} == {B}
    assert movements(dataset.engine, ip=A) == []
    assert {r.ip for r in movements(dataset.engine, limit=1)} == {B}  # limit counts IPs, not windows


def test_stale_per_source(dataset: Dataset) -> None:
    rows = {(r.tier, r.source): (r.count, r.oldest_expiry) for r in stale(dataset.engine, as_of=AS_OF)}
    assert rows == {
        ("ip", "maxmind"): (2, T0 + 20 * DAY),  # B (T0+50d) and D (T0+20d, written with 'Z')
        ("ip", "spur"): (1, T0 + 50 * DAY),  # A's spur expired, its maxmind did not
        ("ip", "greynoise"): (1, None),  # no expiry recorded: freshness unknown
        ("ip", "never"): (1, None),
        ("asn", "never"): (2, None),
    }
    # Earlier, fewer answers have expired: each source keeps its own clock.
    early = {(r.tier, r.source): r.count for r in stale(dataset.engine, as_of=T0 + 30 * DAY)}
    assert ("ip", "spur") not in early
    assert early[("ip", "maxmind")] == 1


def test_stale_ips_for_one_source(dataset: Dataset) -> None:
    rows = stale_ips(dataset.engine, "maxmind", as_of=AS_OF)
    assert [r.ip for r in rows] == [B, D]  # most recently active first
    assert rows[0].expires_at is not None and rows[0].expires_at.startswith("2025-04-20")
    assert stale_ips(dataset.engine, "nosuchsource", as_of=AS_OF) == []
