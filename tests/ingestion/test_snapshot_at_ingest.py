"""A live session of an IP that is enriched already is written once, with its snapshot, not updated later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session as OrmSession

from cowrieprocessor.ingestion import ingest
from cowrieprocessor.storage.models import ASNInventory, IPInventory, SessionSummary
from cowrieprocessor.tiers import reconcile
from tests.ingestion.builders import Session, lines, write
from tests.tiers.conftest import NOW, Clock, make_pass, offline_sources, write_mmdb

#: Hours: a live window that covers the builders' fixed 2025 times, so their sessions count as live.
LIVE = 24.0 * 365 * 50
KNOWN, UNKNOWN = "45.133.10.5", "91.240.118.7"  # both in the test MaxMind database (tiers conftest)


@pytest.fixture
def mmdb_path(tmp_path: Path) -> Path:
    return write_mmdb(
        tmp_path / "geo.mmdb",
        {"45.133.10.0/24": (64500, "EXAMPLE-HOSTING LLC", "NL"), "91.240.118.0/24": (64501, "Example Telecom", "BR")},
    )


def _session(sid: str, ip: str, start: float, commands: int = 1) -> list[dict[str, Any]]:
    s = Session(sid, ip, start=start).connect().login("root", "admin")
    for c in range(commands):
        s.cmd(f"echo {c}")
    return s.events


def _ingest(engine: Engine, path: Path, events: list[dict[str, Any]], hours: float | None) -> Any:
    stats = ingest(engine, [str(write(path, lines(events)))], snapshot_hours=hours)
    return stats


def _row(engine: Engine, sid: str) -> SessionSummary:
    with OrmSession(engine) as orm:
        row = orm.get(SessionSummary, sid)
        assert row is not None
        orm.expunge(row)
        return row


def _no_drift(engine: Engine) -> None:
    assert {d.counter: d.rows_wrong for d in reconcile.measure(engine) if d.rows_wrong} == {}


def _enriched(engine: Engine, tmp_path: Path, mmdb_path: Path) -> None:
    """s1 from KNOWN, ingested and enriched by a pass: KNOWN is now an enriched IP."""
    _ingest(engine, tmp_path / "a.json", _session("s1", KNOWN, 0), LIVE)
    assert _row(engine, "s1").enrichment_at is None
    make_pass(engine, offline_sources(mmdb_path), Clock(NOW)).run()
    assert _row(engine, "s1").snapshot_asn == 64500


def test_a_live_session_of_an_enriched_ip_gets_its_snapshot_as_it_is_written(
    engine: Engine, tmp_path: Path, mmdb_path: Path
) -> None:
    _enriched(engine, tmp_path, mmdb_path)
    stats = _ingest(engine, tmp_path / "b.json", _session("s2", KNOWN, 60) + _session("s3", UNKNOWN, 61), LIVE)
    assert (stats.sessions_new, stats.sessions_snapshotted) == (2, 1)

    s2, s3 = _row(engine, "s2"), _row(engine, "s3")
    with OrmSession(engine) as orm:
        known = orm.get(IPInventory, KNOWN)
        assert known is not None
        expected = (known.current_asn, known.geo_country, known.ip_types, known.enrichment)
    assert (s2.snapshot_asn, s2.snapshot_country, s2.snapshot_ip_types, s2.enrichment) == expected
    assert s2.snapshot_source == "ingest" and s2.enrichment_at is not None
    assert s3.enrichment_at is None and s3.snapshot_asn is None  # its IP was never enriched: the pass's job
    _no_drift(engine)  # the AS counters took s2 in the same transaction
    with OrmSession(engine) as orm:
        asn = orm.get(ASNInventory, 64500)
        assert asn is not None and asn.total_session_count == 2

    report = make_pass(engine, offline_sources(mmdb_path), Clock(NOW)).run()
    assert report.sessions_snapshotted == 1  # s3 only: s2 is not written a second time
    after = _row(engine, "s2")
    assert (after.enrichment_at, after.snapshot_source) == (s2.enrichment_at, "ingest")
    assert _row(engine, "s3").snapshot_asn == 64501
    _no_drift(engine)


def test_an_old_session_is_left_to_the_pass_which_can_date_it(engine: Engine, tmp_path: Path, mmdb_path: Path) -> None:
    """Logs from before the live window: today's state is not the attack date's, so ingest does not guess."""
    _enriched(engine, tmp_path, mmdb_path)
    stats = _ingest(engine, tmp_path / "b.json", _session("s2", KNOWN, 60), 1.0)
    assert stats.sessions_snapshotted == 0
    assert _row(engine, "s2").enrichment_at is None
    stats = _ingest(engine, tmp_path / "c.json", _session("s4", KNOWN, 90), None)  # switched off
    assert stats.sessions_snapshotted == 0
    assert _row(engine, "s4").enrichment_at is None
    make_pass(engine, offline_sources(mmdb_path), Clock(NOW)).run()
    assert _row(engine, "s2").snapshot_source == "late"
    _no_drift(engine)


def test_sessions_that_grow_after_their_snapshot_keep_their_as_times_right(
    engine: Engine, tmp_path: Path, mmdb_path: Path
) -> None:
    """Snapshotted at ingest (s2) or by the pass (s1), a session that goes on in a later file widens its AS's
    first/last seen; the snapshot itself never changes."""
    _enriched(engine, tmp_path, mmdb_path)
    first = _session("s2", KNOWN, 60)
    _ingest(engine, tmp_path / "b.json", first, LIVE)
    before = {sid: _row(engine, sid) for sid in ("s1", "s2")}
    later = Session("s2", KNOWN, start=3600).cmd("uname -a").close().events
    later += Session("s1", KNOWN, start=7200).cmd("id").close().events
    stats = _ingest(engine, tmp_path / "c.json", later, LIVE)
    assert stats.sessions_updated == 2

    with OrmSession(engine) as orm:
        asn = orm.get(ASNInventory, 64500)
        assert asn is not None
        last = orm.scalar(select(SessionSummary.last_event_at).where(SessionSummary.session_id == "s1"))
        assert asn.last_seen == last and last is not None and last > before["s1"].last_event_at  # type: ignore[operator]
    for sid, old in before.items():
        new = _row(engine, sid)
        assert (new.snapshot_asn, new.enrichment_at, new.enrichment) == (
            old.snapshot_asn,
            old.enrichment_at,
            old.enrichment,
        )
    _no_drift(engine)
