"""The bulk-write paths of the ingestion store: fast paths that assume new rows, and their fallbacks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cowrieprocessor.ingestion import ingest
from cowrieprocessor.ingestion import store as store_module
from cowrieprocessor.ingestion.activity import NO_ACTIVITY
from cowrieprocessor.ingestion.events import Event, parse_line
from cowrieprocessor.ingestion.store import Conflict, Store, open_store
from cowrieprocessor.ingestion.summaries import summarise
from cowrieprocessor.ingestion.writer import NO_SNAPSHOT
from tests.ingestion.builders import Session, lines, summary, write


def _events(*sessions: Session) -> list[Event]:
    out: list[Event] = []
    for offset, raw in enumerate(lines([e for s in sessions for e in s.events]).splitlines()):
        event = parse_line(raw, offset=offset)
        assert isinstance(event, Event)
        out.append(event)
    return out


def test_raw_events_partly_stored_return_only_the_new_ones(engine: Engine) -> None:
    """A batch whose later rows are stored already: the direct path fails, the fallback keeps the rest."""
    events = _events(Session("s1").connect().fail("root", "a").close(), Session("s2").connect().close())
    store = open_store(engine)
    try:
        store.begin()
        assert store.insert_raw(events[2:]) == events[2:]
        store.commit()
        store.begin()
        assert store.insert_raw(events) == events[:2]
        assert store.insert_raw(events) == []
        store.commit()
    finally:
        store.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM raw_events")).scalar_one() == len(events)


def test_a_session_created_meanwhile_is_a_conflict_not_an_overwrite(engine: Engine) -> None:
    """``insert_summaries`` of a session that has a row after all (a concurrent writer) leaves that row alone."""
    first = _events(Session("s1", "198.51.100.4").connect().fail("root", "a"))
    later = _events(Session("s1", "198.51.100.4").connect().fail("root", "a").login("root", "b").close())
    store = open_store(engine)
    try:
        store.begin()
        store.ensure_ips(["198.51.100.4"])
        store.insert_summaries([summarise("s1", first).summary + NO_ACTIVITY + NO_SNAPSHOT])
        store.commit()
        store.begin()
        with pytest.raises(Conflict):
            store.insert_summaries([summarise("s1", later).summary + NO_ACTIVITY + NO_SNAPSHOT])
        store.rollback()
    finally:
        store.close()
    assert summary(engine, "s1")["event_count"] == len(first)


def test_a_broken_constraint_other_than_a_duplicate_is_an_error_not_a_conflict(engine: Engine) -> None:
    """Only a duplicate key means "done again the careful way"; a session whose IP has no inventory row is a bug."""
    events = _events(Session("s1", "198.51.100.9").connect().close())
    store = open_store(engine)
    try:
        store.begin()
        with pytest.raises(Exception) as raised:
            # no ip_inventory row: foreign key
            store.insert_summaries([summarise("s1", events).summary + NO_ACTIVITY + NO_SNAPSHOT])
        store.rollback()
    finally:
        store.close()
    assert not isinstance(raised.value, Conflict)
    assert "foreign key" in str(raised.value).lower()


def test_multi_row_inserts_keep_every_row_in_order(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.sqlite", isolation_level=None)
    conn.execute("CREATE TABLE t (a INTEGER, b INTEGER, c TEXT)")
    store = Store.__new__(Store)
    store.conn = conn
    for n in (0, 1, 31, 32, 33, 1332, 1333, 1334, 2700):
        conn.execute("DELETE FROM t")
        rows = [(i, i * 2, str(i)) for i in range(n)]
        store.insert_values("INSERT INTO t (a, b, c)", 3, "", rows)
        assert conn.execute("SELECT a, b, c FROM t ORDER BY rowid").fetchall() == rows, n
    conn.close()


def test_sqlite_wal_is_copied_back_and_restarted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The background checkpointer keeps the WAL from growing with the number of batches."""
    from cowrieprocessor.storage import schema
    from cowrieprocessor.storage.engine import make_engine

    db = tmp_path / "db.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    schema.upgrade(engine)
    sessions = [Session(f"s{i:04d}", f"198.51.100.{i % 200 + 1}", start=i).connect().fail("root", "x").close()
                for i in range(600)]  # fmt: skip
    log = write(tmp_path / "cowrie.json", lines([e for s in sessions for e in s.events]))
    monkeypatch.setattr(store_module, "RESTART_FRAMES", 1)
    stats = ingest(engine, [str(log)], batch_events=100)
    assert stats.events_new == 1800
    frames_per_batch_bound = 200  # pages one 100-event batch can dirty, far below 18 batches' worth
    with sqlite3.connect(db) as conn:
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert conn.execute("SELECT COUNT(*) FROM raw_events").fetchone()[0] == 1800
    assert busy == 0 and frames == copied
    assert frames < frames_per_batch_bound
    engine.dispose()


def test_raw_events_first_in_a_batch_are_rolled_back_with_it(engine: Engine) -> None:
    """The direct COPY's savepoint must be inside the batch's transaction, not a transaction of its own."""
    events = _events(Session("s1").connect().close())
    store = open_store(engine)
    try:
        store.begin()
        assert store.insert_raw(events) == events
        store.rollback()
    finally:
        store.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM raw_events")).scalar_one() == 0


def test_the_ingest_connection_gives_its_settings_back_to_the_pool(engine: Engine) -> None:
    """PostgreSQL: ingestion alone commits without waiting for the WAL flush. SQLite: its own checkpoint limit."""
    if engine.dialect.name == "postgresql":
        query, during, after = "SHOW synchronous_commit", "off", "on"
    else:
        query, during, after = "PRAGMA wal_autocheckpoint", 65536, 1000
    store = open_store(engine)
    lent = store.conn
    assert store.execute(query)[0][0] == during
    store.close()
    proxy = engine.raw_connection()
    try:
        assert proxy.driver_connection is lent  # the same connection, back from the pool
        cursor = proxy.cursor()
        cursor.execute(query)
        assert cursor.fetchone()[0] == after
        cursor.close()
    finally:
        proxy.close()
