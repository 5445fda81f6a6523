"""Staleness follows the configuration in force: a TTL changed after the answers were written applies to
them (issue #22: lowering ``hosting_days`` used to re-ask nothing), and bogons are never stale."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine

from cowrieprocessor.analysis import stale, stale_ips
from cowrieprocessor.config import FreshnessSettings
from cowrieprocessor.tiers.freshness import FreshnessPolicy, format_time
from tests.tiers.conftest import NOW, Clock, add_session, make_pass, offline_sources

HOSTING_IP = "45.133.10.7"  # EXAMPLE-HOSTING LLC in the test .mmdb: class hosting
ISP_IP = "91.240.118.22"  # an ISP: class residential


def _written(engine: Engine, mmdb_path: Path, clock: Clock) -> list:  # type: ignore[type-arg]
    add_session(engine, "h", HOSTING_IP, NOW)
    add_session(engine, "r", ISP_IP, NOW)
    add_session(engine, "b", "10.9.8.7", NOW)
    sources = offline_sources(mmdb_path)
    make_pass(engine, sources, clock, hosting_days=7, residential_days=30).run()
    return sources


def test_a_shorter_ttl_makes_older_answers_stale(engine: Engine, mmdb_path: Path, clock: Clock) -> None:
    sources = _written(engine, mmdb_path, clock)
    clock.advance(days=3)
    # written under hosting_days=7: fresh then; today's configuration says 2 days
    report = make_pass(engine, sources, clock, hosting_days=2, residential_days=30).run(refresh_stale=True)
    assert report.ips_enriched == 1
    _validation, maxmind = sources
    assert (maxmind.asked[HOSTING_IP], maxmind.asked[ISP_IP], maxmind.asked["10.9.8.7"]) == (2, 1, 0)


def test_a_longer_ttl_keeps_answers_fresh(engine: Engine, mmdb_path: Path, clock: Clock) -> None:
    sources = _written(engine, mmdb_path, clock)
    clock.advance(days=10)  # past the 7 days the answers were written with
    report = make_pass(engine, sources, clock, hosting_days=14, residential_days=30).run(refresh_stale=True)
    assert report.ips_enriched == 0
    assert make_pass(engine, sources, clock, hosting_days=7).run(refresh_stale=True).ips_enriched == 1


def test_query_stale_follows_the_configuration_and_never_lists_bogons(
    engine: Engine, mmdb_path: Path, clock: Clock
) -> None:
    _written(engine, mmdb_path, clock)
    later = NOW + dt.timedelta(days=3650)
    sources = {r.source: r.count for r in stale(engine, as_of=later) if r.tier == "ip" and r.source != "never"}
    assert sources == {"validation": 2, "maxmind": 2}  # the bogon is in neither
    assert [r.ip for r in stale_ips(engine, "validation", as_of=later)] != []
    assert "10.9.8.7" not in {r.ip for r in stale_ips(engine, "validation", as_of=later)}
    in_three_days = NOW + dt.timedelta(days=3)
    assert stale(engine, as_of=in_three_days, freshness=FreshnessSettings(hosting_days=7))[0].source == "never"
    short = FreshnessSettings(hosting_days=2)
    rows = stale_ips(engine, "maxmind", as_of=in_three_days, freshness=short)
    assert [r.ip for r in rows] == [HOSTING_IP]
    fetched = dt.datetime.fromisoformat(str(rows[0].fetched_at))
    assert rows[0].expires_at == format_time(fetched + dt.timedelta(days=2))  # today's TTL, not the written 7
    longer = FreshnessSettings(hosting_days=7, per_source={"maxmind": {"residential": 1}})
    assert [r.ip for r in stale_ips(engine, "maxmind", as_of=in_three_days, freshness=longer)] == [ISP_IP]


def test_policy_judges_entries_of_every_kind() -> None:
    policy = FreshnessPolicy(FreshnessSettings(hosting_days=1, per_source={"spur": {"hosting": 10}}))
    fetched = format_time(NOW)
    later = NOW + dt.timedelta(days=2)
    assert policy.is_stale("maxmind", {"status": "found", "fetched_at": fetched, "class": "hosting"}, later)
    assert not policy.is_stale("spur", {"status": "found", "fetched_at": fetched, "class": "hosting"}, later)
    assert not policy.is_stale("maxmind", {"status": "found", "class": "bogon", "expires_at": None}, later)
    assert not policy.is_stale("maxmind", {"status": "skipped", "reason": "bogon", "expires_at": None}, later)
    error = {"status": "error", "fetched_at": fetched, "expires_at": format_time(NOW + dt.timedelta(hours=6))}
    assert policy.is_stale("maxmind", error, later) and not policy.is_stale("maxmind", error, NOW)
    legacy = {"status": "found", "fetched_at": fetched, "expires_at": format_time(NOW + dt.timedelta(days=5))}
    assert not policy.is_stale("maxmind", legacy, later)  # no class recorded: its own expiry
