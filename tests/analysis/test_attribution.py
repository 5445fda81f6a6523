"""attribution, infrastructure, related: the campaign's IPs then vs now, its networks, its neighbours."""

from __future__ import annotations

import datetime as dt

import pytest

from cowrieprocessor.analysis import CampaignKey, KeyKind, attribution, infrastructure, related
from tests.analysis.conftest import ADMIN, DAY, HUNTER2, K1, K2, K3, T0, A, B, C, D, Dataset, G

FIVE_MIN = dt.timedelta(minutes=5)


def test_attribution_status_per_ip_and_attack_time_network(dataset: Dataset) -> None:
    rows = attribution(dataset.engine, CampaignKey.ssh_key(K1))
    got = {(r.ip, r.asn_at_attack): (r.sessions, r.country_at_attack, r.asn_now, r.country_now, r.status) for r in rows}
    assert got == {
        (A, 64500): (3, "US", 64500, "US", "STABLE"),
        (B, 64501): (2, "DE", 64502, "NL", "ASN_CHANGED"),  # moved after these sessions
        (B, 64502): (1, "NL", 64502, "NL", "STABLE"),  # the session after the move
        (C, 64503): (2, "SG", 64503, "MY", "COUNTRY_CHANGED"),
        (D, 64500): (1, "US", 64500, "US", "STABLE"),
        (G, None): (1, None, None, "XX", "UNKNOWN"),  # nothing to compare: not called STABLE
    }
    b_before = next(r for r in rows if r.ip == B and r.asn_at_attack == 64501)
    assert (b_before.first_seen, b_before.last_seen) == (T0 + 1.5 * DAY, T0 + 2.5 * DAY + FIVE_MIN)
    assert rows[0].ip == A  # most sessions first


def test_attribution_limit(dataset: Dataset) -> None:
    assert len(attribution(dataset.engine, CampaignKey.ssh_key(K1), limit=2)) == 2


def test_infrastructure_groups_by_attack_time_asn(dataset: Dataset) -> None:
    rows = infrastructure(dataset.engine, CampaignKey.ssh_key(K1))
    got = {r.asn: (r.organization_name, r.asn_type, r.ips, r.ips_still_there, r.sessions) for r in rows}
    assert got == {
        64500: ("AlphaHost", "hosting", 2, 2, 4),
        64501: ("BetaNet ISP", "isp", 1, 0, 2),  # B has left it
        64503: ("DeltaVPN", "vpn", 1, 1, 2),
        64502: ("GammaCloud", "hosting", 1, 1, 1),
        None: (None, None, 1, 0, 1),  # the never-enriched session stays visible
    }
    first = rows[0]
    assert (first.asn, first.first_seen, first.last_seen) == (64500, T0, T0 + 2 * DAY + FIVE_MIN)
    assert first.is_known_hosting is True
    assert next(r for r in rows if r.asn == 64503).is_known_vpn is True


def test_related_campaigns_on_the_same_asns(dataset: Dataset) -> None:
    rows = related(dataset.engine, CampaignKey.ssh_key(K1))
    got = {(r.kind, r.key, r.asn): (r.organization_name, r.sessions, r.ips) for r in rows}
    assert got == {
        ("ssh_key", K2, 64500): ("AlphaHost", 2, 1),
        ("password", ADMIN, 64500): ("AlphaHost", 2, 1),
        ("command_sig", "sigE", 64500): ("AlphaHost", 2, 1),
        ("command_sig", "sigE", 64501): ("BetaNet ISP", 1, 1),
        ("password", HUNTER2, 64501): ("BetaNet ISP", 1, 1),  # the campaign's password, other sessions
    }
    assert all(r.key != K3 for r in rows)  # AS64504 hosts none of the campaign
    k2 = next(r for r in rows if r.key == K2)
    assert (k2.first_seen, k2.last_seen) == (T0 + 5 * DAY, T0 + 6 * DAY + FIVE_MIN)
    assert isinstance(k2.first_seen, dt.datetime) and k2.first_seen.tzinfo is not None


def test_related_by_kind_and_from_a_password(dataset: Dataset) -> None:
    only_keys = related(dataset.engine, CampaignKey.ssh_key(K1), kinds=(KeyKind.ssh_key,))
    assert [(r.key, r.asn) for r in only_keys] == [(K2, 64500)]
    # Campaign "password admin" lives on AS64500 and AS64504: K1's sessions on AS64500 are its neighbours.
    from_password = related(dataset.engine, CampaignKey.password("admin"), kinds=(KeyKind.ssh_key,))
    assert {(r.key, r.asn, r.sessions) for r in from_password} == {(K1, 64500, 4)}
    with pytest.raises(ValueError):
        related(dataset.engine, CampaignKey.ssh_key(K1), kinds=())


def test_unknown_campaign_gives_empty_answers(dataset: Dataset) -> None:
    key = CampaignKey.ssh_key("SHA256:nobody")
    assert attribution(dataset.engine, key) == []
    assert infrastructure(dataset.engine, key) == []
    assert related(dataset.engine, key) == []
