"""v15 -> v16 on a populated database: tiers from legacy enrichment, verify, downgrade, re-upgrade, and an
injected failure that must leave v15 exactly as it was. Both backends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, insert, inspect, select, text

from cowrieprocessor.storage import backfill, schema, v15_enrichment
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import (
    ASNInventory,
    AuthAttempt,
    CommandRecord,
    IPASNHistory,
    IPInventory,
    SessionSummary,
)
from cowrieprocessor.storage.verify import verify
from tests.storage.test_v15_enrichment import IP, SHAPES

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
V15_COLUMNS = ("session_id", "source_ip", "first_event_at", "last_event_at", "enrichment", "created_at")


def _sessions() -> list[dict[str, Any]]:
    rows = []
    for i, (name, (stored, _, _)) in enumerate(SHAPES.items()):
        ip = IP if name.startswith("nested_session") else f"198.18.0.{i + 1}"
        rows.append(
            {
                "session_id": f"shape-{name}",
                "source_ip": ip,
                "enrichment": stored,
                "first_event_at": T0 + dt.timedelta(hours=i),
                "last_event_at": T0 + dt.timedelta(hours=i, minutes=5),
            }
        )
    moved = "2001:db8::7"  # the same IP in two ASNs over time: the later enrichment is the current one
    rows.append(
        {
            "session_id": "move-1",
            "source_ip": moved,
            "first_event_at": T0,
            "last_event_at": T0,
            "enrichment": {"enriched_at": "2024-05-01T12:00:00Z", "cymru": {"asn": 64500, "country": "FR"}},
        }
    )
    rows.append(
        {
            "session_id": "move-2",
            "source_ip": moved,
            "first_event_at": T0 + dt.timedelta(days=3),
            "last_event_at": T0 + dt.timedelta(days=3, minutes=1),
            "enrichment": {
                "enriched_at": "2024-05-04T12:00:00Z",
                "cymru": {"asn": 64501, "country": "BE", "as_name": "NEWNET"},
            },
        }
    )
    rows.append(
        {
            "session_id": "move-3-unenriched",
            "source_ip": moved,
            "enrichment": None,
            "first_event_at": T0 + dt.timedelta(days=9),
            "last_event_at": T0 + dt.timedelta(days=9),
        }
    )
    rows.append(
        {"session_id": "no-ip", "source_ip": None, "enrichment": None, "first_event_at": T0, "last_event_at": T0}
    )
    return rows


def _v15(url: str) -> Engine:
    engine = make_engine(url)
    assert schema.upgrade(engine, "v15") == "v15"
    rows = _sessions()
    for row in rows:
        row.setdefault("created_at", T0 + dt.timedelta(days=30))
    with engine.begin() as conn:
        conn.execute(insert(SessionSummary.__table__), [{k: r.get(k) for k in V15_COLUMNS} for r in rows])
        conn.execute(insert(AuthAttempt.__table__), [
            {"event_uid": f"a{i}", "session_id": r["session_id"], "event_time": T0, "username": "root",
             "password": "x", "success": False} for i, r in enumerate(rows)])  # fmt: skip
        conn.execute(
            insert(CommandRecord.__table__),
            [{"event_uid": "c1", "session_id": "move-1", "event_time": T0, "sequence": 0, "input": "uname -a"}],
        )
    return engine


@pytest.fixture
def v15(empty_db_url: str) -> Iterator[Engine]:
    engine = _v15(empty_db_url)
    yield engine
    engine.dispose()


def _enrichment(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT session_id, enrichment FROM session_summaries")).tuples().all())


def test_upgrade_builds_the_three_tiers_from_every_legacy_shape(v15: Engine) -> None:
    before = _enrichment(v15)
    assert schema.upgrade(v15) == schema.HEAD
    assert _enrichment(v15) == before  # the stored enrichment is never modified

    with v15.connect() as conn:
        sessions = {s.session_id: s for s in conn.execute(select(SessionSummary)).all()}
        ips = {i.ip_address: i for i in conn.execute(select(IPInventory)).all()}
        asns = {a.asn_number: a for a in conn.execute(select(ASNInventory)).all()}
        history = conn.execute(select(IPASNHistory)).all()

    for name, (stored, (asn, country, types), _) in SHAPES.items():
        s = sessions[f"shape-{name}"]
        assert (s.snapshot_asn, s.snapshot_country, s.snapshot_ip_types) == (asn, country, types), name
        assert s.snapshot_source == ("migration" if isinstance(stored, dict) else None)
        ip = ips[s.source_ip]
        assert ip.enrichment == v15_enrichment.normalise(stored, s.source_ip)
        assert ip.current_asn == asn and ip.enrichment_updated_at is None
        assert ip.first_seen == s.first_event_at and ip.last_seen == s.last_event_at and ip.session_count == 1
    # the enrichment's own time wins over created_at; without one, created_at
    assert sessions["move-2"].enrichment_at == dt.datetime(2024, 5, 4, 12, tzinfo=dt.UTC)
    assert sessions["shape-placeholders_only"].enrichment_at == T0 + dt.timedelta(days=30)
    assert sessions["move-3-unenriched"].snapshot_source is None

    moved = ips["2001:db8::7"]
    assert (moved.current_asn, moved.session_count, moved.geo_country) == (64501, 3, "BE")
    assert moved.first_seen == T0 and moved.last_seen == T0 + dt.timedelta(days=9)
    assert asns[64501].organization_name == "NEWNET" and asns[64500].total_session_count == 1
    assert asns[14061].total_session_count == 2 and asns[14061].unique_ip_count == 2
    assert asns[14061].organization_name == "DIGITALOCEAN-ASN" and asns[14061].organization_country == "NL"
    assert asns[3561].rir_registry == "arin"
    windows = {(h.ip_address, h.asn_number): h for h in history}
    open_windows = {(h.ip_address, h.asn_number) for h in history if h.valid_until is None}
    assert open_windows == {(i.ip_address, i.current_asn) for i in ips.values() if i.current_asn}
    # the moved IP: 64500 from its first session until the first one in 64501, then 64501 (open)
    assert (windows[("2001:db8::7", 64500)].valid_from, windows[("2001:db8::7", 64500)].valid_until) == (
        T0,
        T0 + dt.timedelta(days=3),
    )
    assert windows[("2001:db8::7", 64501)].valid_from == T0 + dt.timedelta(days=3)
    assert len(history) == len(open_windows) + 1
    assert all(h.observed_by == backfill.V15_PROVENANCE == "v15 session enrichment" for h in history)
    # ip_inventory holds exactly the source IPs of the sessions
    assert set(ips) == {s.source_ip for s in sessions.values() if s.source_ip}


def test_foreign_key_exists_and_holds(v15: Engine) -> None:
    schema.upgrade(v15)
    with v15.connect() as conn:
        fks = inspect(conn).get_foreign_keys("session_summaries")
        assert any(fk["referred_table"] == "ip_inventory" for fk in fks)
        assert backfill.orphans(conn) == 0
    with pytest.raises(Exception, match=r"(?i)foreign key"), v15.begin() as conn:
        conn.execute(
            insert(SessionSummary.__table__).values(
                session_id="x", source_ip="192.0.2.200", created_at=T0, updated_at=T0
            )
        )


def test_full_cycle_verify_downgrade_verify_upgrade(v15: Engine) -> None:
    assert schema.upgrade(v15) == schema.HEAD
    first = verify(v15)
    assert first.ok and first.baseline_from == "v15"
    values = {c.metric: c.live for c in first.checks}
    assert (
        values["sessions"] == len(_sessions()) and values["unique_asns"] == 8
    )  # 14061 twice, 16509, 4134, 3561, 3320, 64500, 64501, 1221
    assert values["unique_source_ips"] == len({r["source_ip"] for r in _sessions() if r["source_ip"]})
    assert values["sessions_missing_snapshot_asn"] == 0 and values["orphan_sessions"] == 0

    assert schema.downgrade(v15, "v15") == "v15"
    with v15.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        columns = {c["name"] for c in inspect(conn).get_columns("session_summaries")}
    assert {"ip_inventory", "asn_inventory", "ip_asn_history"}.isdisjoint(tables)
    assert "migration_baseline" in tables and "snapshot_asn" not in columns
    assert verify(v15).ok

    assert schema.upgrade(v15) == schema.HEAD
    assert verify(v15).ok


def test_verify_reports_a_loss(v15: Engine) -> None:
    schema.upgrade(v15)
    with v15.begin() as conn:
        conn.execute(text("DELETE FROM commands"))
    result = verify(v15)
    assert not result.ok
    assert [c.metric for c in result.checks if c.intact is False] == ["commands"]


def _snapshot(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        insp = inspect(conn)
        tables = sorted(insp.get_table_names())
        return {
            "tables": tables,
            "columns": {t: sorted(c["name"] for c in insp.get_columns(t)) for t in tables},
            "rows": {t: sorted(map(str, conn.execute(text(f'SELECT * FROM "{t}"')).all())) for t in tables},
        }


def test_injected_failure_leaves_v15_untouched(v15: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshot(v15)

    def explode(bind: Any) -> int:
        count = int(bind.execute(text("SELECT COUNT(*) FROM ip_inventory")).scalar_one())
        assert count > 0  # the failure really comes after writes
        raise RuntimeError("injected failure")

    monkeypatch.setattr(backfill, "build_ip_asn_history", explode)
    with pytest.raises(RuntimeError, match="injected failure"):
        schema.upgrade(v15)
    assert schema.current_revision(v15) == "v15"
    assert _snapshot(v15) == before

    monkeypatch.undo()
    assert schema.upgrade(v15) == schema.HEAD
    assert verify(v15).ok


def test_progress_is_reported_per_phase(v15: Engine) -> None:
    seen: list[backfill.Progress] = []
    with backfill.reporting(seen.append):
        schema.upgrade(v15)
    finished = [p.phase for p in seen if p.finished]
    assert finished == [
        "baseline",
        "snapshots",
        "asn_inventory",
        "ip_inventory",
        "ip_asn_history",
        "asn types",
        "foreign key",
        "vacuum and analyze",
    ]
    snap = [p for p in seen if p.phase == "snapshots"]
    assert snap[-1].done == snap[-1].total == len(_sessions())


def test_snapshot_chunks_cover_every_session(v15: Engine) -> None:
    """Keyset ranges of size 2 must neither skip nor repeat a session at a boundary."""
    schema.upgrade(v15, "v15")
    with v15.begin() as conn:
        for column in (
            "snapshot_asn BIGINT",
            "snapshot_country VARCHAR(2)",
            "snapshot_source VARCHAR(32)",
            "enrichment_at TIMESTAMP",
            "snapshot_ip_types TEXT",
        ):
            conn.execute(text(f"ALTER TABLE session_summaries ADD COLUMN {column}"))
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "ALTER TABLE session_summaries ALTER COLUMN snapshot_ip_types TYPE text[] "
                    "USING NULL; ALTER TABLE session_summaries ALTER COLUMN enrichment_at TYPE timestamptz"
                )
            )
            conn.execute(text(v15_enrichment.PG_TRY_TIMESTAMPTZ))
        updated = backfill.backfill_snapshots(conn, v15_enrichment.LegacySQL(conn.dialect.name), chunk=2)
        enriched = conn.execute(text("SELECT COUNT(*) FROM session_summaries WHERE snapshot_source = 'migration'"))
        assert updated == enriched.scalar_one() == sum(isinstance(r["enrichment"], dict) for r in _sessions())
        conn.rollback()
