"""sessions and campaign: filters on behaviour, address, network and event time; groups at attack time."""

from __future__ import annotations

import datetime as dt

import pytest

from cowrieprocessor.analysis import CampaignKey, SessionFilter, campaign_summary, find_sessions
from cowrieprocessor.analysis.keys import hash_password
from tests.analysis.conftest import ADMIN, CAMPAIGN_SESSIONS, DAY, HUNTER2, K1, K2, T0, B, Dataset


def _ids(dataset: Dataset, where: SessionFilter, **kw: object) -> list[str]:
    return [r.session_id for r in find_sessions(dataset.engine, where, **kw)]  # type: ignore[arg-type]


def test_password_is_hashed_with_sha256() -> None:
    assert hash_password("hunter2") == "f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf526a3f6c7"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (SessionFilter(ssh_key=K1), CAMPAIGN_SESSIONS),
        (SessionFilter(ssh_key=K2), {"e1", "e2"}),
        (SessionFilter(password_hash=HUNTER2), CAMPAIGN_SESSIONS | {"h1"}),
        (SessionFilter(password_hash=ADMIN, asn=64500), {"e1", "e2"}),
        (SessionFilter(command_sig="sigE"), {"e1", "e2", "h1"}),
        (SessionFilter(ip=B), {"b1", "b2", "b3"}),
        (SessionFilter(ip="2001:0db8:0000::0004"), {"d1"}),  # any spelling of the address
        (SessionFilter(asn=64501), {"b1", "b2", "h1"}),
        (SessionFilter(country="de"), {"b1", "b2", "h1"}),
        (SessionFilter(sensor="honeypot-eu"), {"b1", "b2", "b3"}),
        (SessionFilter(ssh_key=K1, since=T0 + DAY, until=T0 + 2 * DAY), {"a2", "b1"}),
        (SessionFilter(since=T0 + 9 * DAY), {"b3", "h1"}),
        (SessionFilter(ssh_key="no such key"), set()),
    ],
)
def test_filters(dataset: Dataset, where: SessionFilter, expected: set[str]) -> None:
    assert set(_ids(dataset, where)) == expected


def test_time_filter_is_event_time_not_ingestion_time(dataset: Dataset) -> None:
    # Every row was inserted just now; all events happened in 2025.
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    assert _ids(dataset, SessionFilter(since=recent)) == []
    assert len(_ids(dataset, SessionFilter(until=recent))) == 14


def test_oldest_first_with_limit_and_snapshot_columns(dataset: Dataset) -> None:
    rows = find_sessions(dataset.engine, SessionFilter(ip=B), limit=2)
    assert [r.session_id for r in rows] == ["b1", "b2"]
    assert (rows[0].snapshot_asn, rows[0].snapshot_country, rows[0].snapshot_ip_types) == (
        64501,
        "DE",
        ["RESIDENTIAL"],
    )
    assert rows[0].first_event_at == T0 + 1.5 * DAY
    assert rows[0].commands is None


def test_naive_times_and_empty_filters_are_refused(dataset: Dataset) -> None:
    with pytest.raises(ValueError, match="naive"):
        find_sessions(dataset.engine, SessionFilter(since=dt.datetime(2025, 1, 1)))
    with pytest.raises(ValueError, match="at least one filter"):
        find_sessions(dataset.engine, SessionFilter())


def test_campaign_groups_by_country_and_type_at_attack_time(dataset: Dataset) -> None:
    report = campaign_summary(dataset.engine, CampaignKey.ssh_key(K1))
    assert (report.sessions, report.ips, report.asns, report.countries) == (10, 5, 4, 4)
    assert report.first_seen == T0
    assert report.last_seen == T0 + 12 * DAY + dt.timedelta(minutes=5)
    groups = {(g.country, g.ip_type): (g.sessions, g.ips, g.asns) for g in report.groups}
    assert groups == {
        ("US", "DATACENTER"): (3, 1, 1),
        ("DE", "RESIDENTIAL"): (2, 1, 1),
        ("SG", "VPN"): (2, 1, 1),
        ("SG", "DATACENTER"): (2, 1, 1),
        ("NL", "DATACENTER"): (1, 1, 1),
        ("US", None): (1, 1, 1),  # an empty type list
        (None, None): (1, 1, 0),  # never enriched: still counted, not dropped
    }
    assert report.groups[0].sessions == 3  # largest first


def test_campaign_by_password_and_unknown_key(dataset: Dataset) -> None:
    report = campaign_summary(dataset.engine, CampaignKey.password("admin"))
    assert (report.sessions, report.ips, report.asns) == (3, 2, 2)
    assert report.key == ADMIN
    empty = campaign_summary(dataset.engine, CampaignKey.command_sig("nothing"))
    assert (empty.sessions, empty.groups) == (0, [])
