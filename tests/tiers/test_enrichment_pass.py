"""The seed's scenarios, on SQLite and PostgreSQL, with real offline sources."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cowrieprocessor.enrichment.embedded import EmbeddedSource
from cowrieprocessor.storage.models import ASNInventory, IPASNHistory, IPInventory, SessionSummary
from cowrieprocessor.tiers.freshness import format_time
from tests.tiers.conftest import NOW, Clock, Spy, add_session, make_pass, offline_sources, write_mmdb

HOSTING_IP = "45.133.10.7"
ISP_IP = "91.240.118.22"
V6_IP = "2a0e:1c80:1::5"


def test_new_session_new_ip_gets_inventory_asn_history_snapshot_and_counters(
    engine: Engine, mmdb_path: Path, clock: Clock
) -> None:
    add_session(engine, "s1", HOSTING_IP, NOW - dt.timedelta(minutes=5))
    add_session(engine, "s2", V6_IP, NOW - dt.timedelta(minutes=4))
    sources = offline_sources(mmdb_path)
    report = make_pass(engine, sources, clock).run()
    assert report.ips_enriched == 2
    assert report.sessions_snapshotted == 2
    with Session(engine) as session:
        ip = session.get(IPInventory, HOSTING_IP)
        assert ip is not None
        assert ip.current_asn == 64500
        assert ip.geo_country_stored == "NL"
        assert ip.enrichment["maxmind"]["asn"] == 64500
        assert ip.enrichment["validation"]["is_bogon"] is False
        assert set(ip.provenance) == {"validation", "maxmind"}
        assert ip.provenance["maxmind"]["status"] == "found"
        assert ip.session_count == 1
        assert ip.first_seen == NOW - dt.timedelta(minutes=5)  # event time, not the wall clock
        s1 = session.get(SessionSummary, "s1")
        assert s1 is not None
        assert (s1.snapshot_asn, s1.snapshot_country, s1.snapshot_source) == (64500, "NL", "ingest")
        assert s1.enrichment is not None and s1.enrichment["maxmind"]["as_org"] == "EXAMPLE-HOSTING LLC"
        assert s1.enrichment_at == NOW
        asn = session.get(ASNInventory, 64500)
        assert asn is not None
        assert (asn.organization_name, asn.asn_type, asn.is_known_hosting) == ("EXAMPLE-HOSTING LLC", "HOSTING", True)
        assert (asn.unique_ip_count, asn.total_session_count) == (1, 1)
        history = session.scalars(select(IPASNHistory).where(IPASNHistory.ip_address == HOSTING_IP)).all()
        assert [(h.asn_number, h.valid_until) for h in history] == [(64500, None)]
        v6 = session.get(IPInventory, V6_IP)
        assert v6 is not None and v6.current_asn == 64502


def test_known_ip_new_session_costs_no_call(engine: Engine, mmdb_path: Path, clock: Clock) -> None:
    add_session(engine, "s1", ISP_IP, NOW - dt.timedelta(hours=1))
    sources = offline_sources(mmdb_path)
    make_pass(engine, sources, clock).run()
    add_session(engine, "s2", ISP_IP, NOW - dt.timedelta(minutes=1))
    add_session(engine, "s3", ISP_IP, NOW)
    clock.advance(minutes=10)
    report = make_pass(engine, sources, clock).run()
    assert report.ips_enriched == 0
    assert report.sessions_snapshotted == 2
    assert all(spy.asked[ISP_IP] == 1 for spy in sources)
    with Session(engine) as session:
        ip = session.get(IPInventory, ISP_IP)
        assert ip is not None
        assert ip.session_count == 3
        assert ip.last_seen == NOW + dt.timedelta(seconds=30)
        assert session.get(ASNInventory, 64501).total_session_count == 3  # type: ignore[union-attr]
        snaps = session.scalars(select(SessionSummary.snapshot_asn)).all()
        assert snaps == [64501, 64501, 64501]


def test_ip_moves_to_another_asn(engine: Engine, tmp_path: Path, mmdb_path: Path, clock: Clock) -> None:
    add_session(engine, "old", ISP_IP, NOW - dt.timedelta(hours=2))
    make_pass(engine, offline_sources(mmdb_path), clock).run()
    moved = write_mmdb(tmp_path / "moved.mmdb", {"91.240.118.0/24": (64999, "Other Hosting GmbH", "DE")})
    clock.advance(days=31)  # past the 30-day residential TTL
    add_session(engine, "new", ISP_IP, clock.now - dt.timedelta(minutes=1))
    report = make_pass(engine, offline_sources(moved), clock).run(refresh_stale=True)
    assert report.ips_enriched == 1
    assert report.history_windows_opened == 1
    with Session(engine) as session:
        old = session.get(SessionSummary, "old")
        new = session.get(SessionSummary, "new")
        assert old is not None and new is not None
        assert (old.snapshot_asn, old.snapshot_country) == (64501, "BR")  # attack-time truth is kept
        assert (new.snapshot_asn, new.snapshot_country) == (64999, "DE")
        ip = session.get(IPInventory, ISP_IP)
        assert ip is not None and ip.current_asn == 64999
        windows = session.execute(
            select(IPASNHistory.asn_number, IPASNHistory.valid_from, IPASNHistory.valid_until)
            .where(IPASNHistory.ip_address == ISP_IP)
            .order_by(IPASNHistory.valid_from)
        ).all()
        assert [(w[0], w[2]) for w in windows] == [(64501, clock.now), (64999, None)]
        assert windows[1][1] == clock.now
        assert session.get(ASNInventory, 64501).unique_ip_count == 0  # type: ignore[union-attr]
        assert session.get(ASNInventory, 64501).total_session_count == 1  # type: ignore[union-attr]
        assert session.get(ASNInventory, 64999).unique_ip_count == 1  # type: ignore[union-attr]
        # snapshot query (no JOIN) vs current-state JOIN now disagree for the old session - as they must
        joined = session.execute(
            select(SessionSummary.session_id, SessionSummary.snapshot_asn, IPInventory.current_asn)
            .join(IPInventory, IPInventory.ip_address == SessionSummary.source_ip)
            .order_by(SessionSummary.session_id)
        ).all()
        assert [tuple(r) for r in joined] == [("new", 64999, 64999), ("old", 64501, 64999)]


def test_stale_source_is_the_only_one_asked_again(engine: Engine, mmdb_path: Path, clock: Clock) -> None:
    add_session(engine, "s1", HOSTING_IP, NOW)
    sources = [*offline_sources(mmdb_path), Spy(EmbeddedSource())]
    short_maxmind = {"maxmind": {"hosting": 1}}
    make_pass(engine, sources, clock, per_source=short_maxmind).run()
    clock.advance(days=2)  # maxmind (1 day) is stale; embedded (7 days for hosting) is not
    report = make_pass(engine, sources, clock, per_source=short_maxmind).run(refresh_stale=True)
    assert report.ips_enriched == 1
    _validation, maxmind, embedded = sources
    assert (maxmind.asked[HOSTING_IP], embedded.asked[HOSTING_IP]) == (2, 1)
    with Session(engine) as session:
        ip = session.get(IPInventory, HOSTING_IP)
        assert ip is not None
        assert ip.provenance["maxmind"]["expires_at"] == format_time(clock.now + dt.timedelta(days=1))
        assert ip.provenance["embedded"]["expires_at"] == format_time(NOW + dt.timedelta(days=7))


def test_inactive_ips_are_not_refreshed(engine: Engine, mmdb_path: Path, clock: Clock) -> None:
    add_session(engine, "s1", HOSTING_IP, NOW - dt.timedelta(days=200))
    sources = offline_sources(mmdb_path)
    make_pass(engine, sources, clock).run()
    clock.advance(days=30)
    report = make_pass(engine, sources, clock, active_days=90).run(refresh_stale=True)
    assert report.ips_enriched == 0


def test_bogons_are_never_sent_out(engine: Engine, mmdb_path: Path, clock: Clock) -> None:
    add_session(engine, "b1", "10.1.2.3", NOW)
    add_session(engine, "b2", "100.64.0.9", NOW)
    sources = offline_sources(mmdb_path)
    report = make_pass(engine, sources, clock).run()
    assert report.bogons == 2
    _validation, maxmind = sources
    assert sum(maxmind.asked.values()) == 0
    with Session(engine) as session:
        ip = session.get(IPInventory, "100.64.0.9")
        assert ip is not None
        assert ip.is_bogon_stored is True
        assert ip.enrichment["validation"]["reason"]
        assert ip.provenance["maxmind"] == {
            "status": "skipped",
            "reason": "bogon",
            "fetched_at": ip.provenance["maxmind"]["fetched_at"],
            "version": None,
            "expires_at": None,
        }
        snap = session.get(SessionSummary, "b1")
        assert snap is not None and snap.enrichment_at is not None and snap.snapshot_asn is None
    clock.advance(days=3650)
    assert make_pass(engine, sources, clock).run(refresh_stale=True).ips_enriched == 0


def test_every_session_ip_gets_an_inventory_row_and_no_orphans(engine: Engine, mmdb_path: Path, clock: Clock) -> None:
    for i in range(30):
        add_session(engine, f"s{i:02d}", f"45.133.10.{i % 7 + 1}", NOW - dt.timedelta(minutes=i))
    add_session(engine, "unknown", "185.1.2.3", NOW)  # no database knows it
    make_pass(engine, offline_sources(mmdb_path), clock).run()
    with Session(engine) as session:
        assert (
            session.scalar(
                select(func.count()).select_from(SessionSummary).where(SessionSummary.enrichment_at.is_(None))
            )
            == 0
        )
        orphans = session.scalar(
            select(func.count())
            .select_from(SessionSummary)
            .where(~select(IPInventory.ip_address).where(IPInventory.ip_address == SessionSummary.source_ip).exists())
        )
        assert orphans == 0
        unknown = session.get(IPInventory, "185.1.2.3")
        assert unknown is not None and unknown.current_asn is None and "maxmind" not in unknown.enrichment
        assert unknown.provenance["maxmind"]["status"] == "not_found"
        assert session.get(ASNInventory, 64500).total_session_count == 30  # type: ignore[union-attr]
        assert session.get(ASNInventory, 64500).unique_ip_count == 7  # type: ignore[union-attr]


def test_freshness_memo_is_keyed_by_source_class_and_time() -> None:
    """The memoised expiry must follow each argument, not return the first answer it computed."""
    from cowrieprocessor.config import FreshnessSettings
    from cowrieprocessor.tiers.freshness import FreshnessPolicy, format_time

    policy = FreshnessPolicy(FreshnessSettings())
    later = NOW + dt.timedelta(hours=1)
    for source, ip_class, at in (("maxmind", "hosting", NOW), ("maxmind", "residential", NOW),
                                 ("maxmind", "hosting", later), ("cymru", "bogon", NOW)):  # fmt: skip
        ttl = policy.ttl(source, ip_class)
        expected = None if ttl is None else format_time(at + ttl)
        assert policy.expires_at(source, ip_class, at) == expected
        assert policy.expires_at(source, ip_class, at) == expected
