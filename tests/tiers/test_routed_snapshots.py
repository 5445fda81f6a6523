"""Late snapshots take the ASN of the attack date when routing history covers it, not today's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cowrieprocessor.enrichment.routing_history import RoutingHistorySource
from cowrieprocessor.storage.models import ASNInventory, IPInventory, SessionSummary
from tests.tiers.conftest import NOW, Clock, Spy, add_session, make_pass, offline_sources

IP = "91.240.118.22"  # today (the .mmdb): AS64501


def _history(directory: Path) -> Path:
    directory.mkdir()
    # pyasn ipasn format: the /24 was originated by AS64888 in early 2024, by AS64999 from mid-2024
    (directory / "ipasn_20240101.dat").write_text("; pyasn\n91.240.0.0/16\t64888\n")
    (directory / "ipasn_20240701.dat").write_text("91.240.118.0/24\t64999\n91.240.0.0/16\t64888\n")
    return directory


def test_old_sessions_get_the_asn_of_their_attack_date(
    engine: Engine, tmp_path: Path, mmdb_path: Path, clock: Clock
) -> None:
    add_session(engine, "march", IP, dt.datetime(2024, 3, 15, 12, tzinfo=dt.UTC))
    add_session(engine, "august", IP, dt.datetime(2024, 8, 2, 8, tzinfo=dt.UTC))
    add_session(engine, "live", IP, NOW - dt.timedelta(minutes=3))
    routing = Spy(RoutingHistorySource(_history(tmp_path / "rh")))
    report = make_pass(engine, [*offline_sources(mmdb_path), routing], clock).run()
    assert report.routed_snapshots == 2
    with Session(engine) as session:
        rows = {
            r.session_id: (
                r.snapshot_asn,
                r.snapshot_source,
                (r.enrichment or {}).get("routing_history", {}).get("snapshot_date"),
            )
            for r in session.scalars(select(SessionSummary))
        }
        ip = session.get(IPInventory, IP)
        assert ip is not None and ip.current_asn == 64501  # the inventory is today's state
        assert session.get(ASNInventory, 64888) is not None  # attack-time ASNs are in the ASN tier too
        assert session.get(ASNInventory, 64888).total_session_count == 1  # type: ignore[union-attr]
    assert rows["march"] == (64888, "routing_history", "2024-01-01")
    assert rows["august"] == (64999, "routing_history", "2024-07-01")
    assert rows["live"][:2] == (64501, "ingest")


def test_without_history_for_the_date_a_late_snapshot_is_marked_late(
    engine: Engine, tmp_path: Path, mmdb_path: Path, clock: Clock
) -> None:
    add_session(engine, "ancient", IP, dt.datetime(2019, 5, 1, tzinfo=dt.UTC))
    routing = RoutingHistorySource(_history(tmp_path / "rh"))
    make_pass(engine, [*offline_sources(mmdb_path), routing], clock).run()
    with Session(engine) as session:
        row = session.get(SessionSummary, "ancient")
        assert row is not None
        assert (row.snapshot_asn, row.snapshot_source) == (64501, "late")
