"""The bulk write paths (COPY on PostgreSQL, driver executemany on SQLite) store exactly what they are given."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from cowrieprocessor.storage.models import IPASNHistory, IPInventory
from cowrieprocessor.storage.textsafe import unescape_text
from cowrieprocessor.tiers import tier_writes
from cowrieprocessor.tiers.merge import IPState
from tests.tiers.conftest import NOW, add_session

# Text a provider or an attacker controls: COPY's own escape characters, quotes, non-ASCII.
AWKWARD = 'tab\there, newline\nthere, back\\slash \\N, "quoted", \u00e9\u4e2d end'


def test_write_ips_and_history_store_awkward_text_verbatim(engine: Engine) -> None:
    add_session(engine, "s1", "198.51.100.200", NOW)
    add_session(engine, "s2", "2001:db8::7", NOW)
    verified = IPState(ip="198.51.100.200", enrichment={}, provenance={}, previous_asn=None)
    verified.enrichment = {"maxmind": {"as_org": AWKWARD, "asn": 64500}}
    verified.provenance = {"maxmind": {"status": "found", "version": AWKWARD}}
    verified.current_asn, verified.asn_verified = 64500, True
    unverified = IPState(ip="2001:db8::7", enrichment={"embedded": {"as_org": "x"}}, provenance={}, previous_asn=None)
    with engine.begin() as conn:
        conn.execute(update(IPInventory).values(asn_last_verified=NOW - dt.timedelta(days=3)))
        tier_writes.ensure_asn_rows(conn, [64500])
        tier_writes.write_ips(conn, [verified, unverified], NOW)
        tier_writes.record_history(conn, [verified, unverified], NOW, {"198.51.100.200": "maxmind"})
    with Session(engine) as session:
        row = session.get(IPInventory, "198.51.100.200")
        assert row is not None
        assert row.enrichment == verified.enrichment
        assert row.provenance == verified.provenance
        assert (row.current_asn, row.asn_last_verified, row.enrichment_updated_at) == (64500, NOW, NOW)
        assert row.claimed_by is None
        other = session.get(IPInventory, "2001:db8::7")
        assert other is not None
        assert other.enrichment == {"embedded": {"as_org": "x"}}
        assert other.current_asn is None
        # no ASN answer this pass: the old verification time stays
        assert other.asn_last_verified == NOW - dt.timedelta(days=3)
        history = session.execute(
            select(IPASNHistory.ip_address, IPASNHistory.asn_number, IPASNHistory.valid_from, IPASNHistory.observed_by)
        ).all()
        assert [tuple(h) for h in history] == [("198.51.100.200", 64500, NOW, "maxmind")]


def test_text_postgresql_would_refuse_is_stored_reversibly_on_both_backends(engine: Engine) -> None:
    """NUL and a lone surrogate in a provider's answer: jsonb rejects both, so they are stored through the
    same reversible U+2400 escape as ingestion's - the row is written, and unescaping gives the original."""
    add_session(engine, "s1", "198.51.100.201", NOW)
    original = {"embedded": {"as_org": "bad \ud800 and \x00 here"}}
    state = IPState(ip="198.51.100.201", enrichment=dict(original), provenance={}, previous_asn=None)
    with engine.begin() as conn:
        tier_writes.write_ips(conn, [state], NOW)
    with Session(engine) as session:
        row = session.get(IPInventory, "198.51.100.201")
        assert row is not None
        stored = row.enrichment["embedded"]["as_org"]
    assert "\x00" not in stored and "\ud800" not in stored
    assert unescape_text(stored) == original["embedded"]["as_org"]


def test_take_snapshots_freezes_only_the_given_ips_pending_sessions(engine: Engine) -> None:
    """Both backends' statements (address array on PostgreSQL, rowid order on SQLite) write the inventory's
    own values into exactly the pending sessions of the IPs asked for, and say how many."""
    from cowrieprocessor.storage.models import SessionSummary

    live_since = NOW - dt.timedelta(hours=24)
    add_session(engine, "a-old", "203.0.113.5", NOW - dt.timedelta(days=3))
    add_session(engine, "b-other", "203.0.113.6", NOW)
    add_session(engine, "a-new", "203.0.113.5", NOW)
    add_session(engine, "a-done", "203.0.113.5", NOW)
    with engine.begin() as conn:
        tier_writes.ensure_asn_rows(conn, [64500, 64999])
        conn.execute(
            update(SessionSummary)
            .where(SessionSummary.session_id == "a-done")
            .values(snapshot_asn=64999, enrichment_at=NOW, snapshot_source="ingest")
        )
        state = IPState(ip="203.0.113.5", enrichment={"maxmind": {"country": "NL", "asn": 64500}}, provenance={},
                        previous_asn=None, current_asn=64500)  # fmt: skip
        tier_writes.write_ips(conn, [state], NOW)
        assert tier_writes.take_snapshots(conn, ["203.0.113.5"], NOW, live_since) == 2
    with Session(engine) as session:
        rows = {s.session_id: s for s in session.scalars(select(SessionSummary))}
    for sid, source in (("a-old", "late"), ("a-new", "ingest")):
        row = rows[sid]
        assert (row.snapshot_asn, row.snapshot_country, row.snapshot_ip_types) == (64500, "NL", [])
        assert (row.enrichment, row.enrichment_at, row.snapshot_source) == (state.enrichment, NOW, source)
    assert (rows["a-done"].snapshot_asn, rows["a-done"].enrichment) == (64999, None)
    assert rows["b-other"].enrichment_at is None


def test_pass_leaves_sqlite_wal_checkpointed_with_default_autocheckpoint(tmp_path: Path) -> None:
    """The pass lengthens the WAL for its own commits; at its end the WAL is written back and the connection
    gets SQLite's default automatic checkpoint again."""
    from cowrieprocessor.storage import schema
    from cowrieprocessor.storage.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'wal.sqlite'}")
    schema.upgrade(engine)
    with engine.begin() as conn:
        tier_writes.use_large_cache(conn)
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == tier_writes.SQLITE_WAL_PAGES
        conn.exec_driver_sql("CREATE TABLE filler (x)")
        conn.exec_driver_sql("INSERT INTO filler VALUES (randomblob(100000))")
    with engine.connect() as conn:
        tier_writes.checkpoint(conn)
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        busy, frames, done = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        assert (busy, frames) == (0, done)
    engine.dispose()
