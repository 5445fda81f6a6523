"""Sessions held in memory across batches give exactly what re-reading them from the database gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from cowrieprocessor.ingestion import ingest, live
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import AuthAttempt, CommandRecord, IPInventory, SSHKey
from tests.ingestion.builders import Session, counts, lines, ssh_key_line, summaries, table_rows, write

KEY, _ = ssh_key_line(5)


def interleaved() -> list[dict[str, object]]:
    """Sessions overlapping in time (as on a busy sensor), some left open, one IP shared by several."""
    sessions = []
    for i in range(12):
        s = Session(f"{i:012x}", f"198.51.100.{i % 3 + 1}", start=i * 1.7).connect().version()
        s.fail("root", f"x{i}").login("root", "admin").cmd("uname -a").cmd("enable ; foo", failed="foo")
        if i % 4 == 0:
            s.cmd(f'echo "{KEY}" >> ~/.ssh/authorized_keys').download(f"http://203.0.113.{i}/a.sh")
        if i % 5 != 0:
            s.close()
        sessions.append(s.events)
    merged = sorted((e for events in sessions for e in events), key=lambda e: str(e["timestamp"]))
    return merged


def snapshot(engine: Engine) -> tuple[object, ...]:
    return (
        summaries(engine),
        counts(engine),
        table_rows(engine, CommandRecord, "event_uid", "sequence", "known", "input"),
        table_rows(engine, AuthAttempt, "event_uid", "password_hash", "success"),
        table_rows(engine, SSHKey, "event_uid", "how_seen", "fingerprint_sha256"),
        table_rows(engine, IPInventory, "ip_address", "session_count", "first_seen", "last_seen"),
    )


@pytest.mark.parametrize("held", [0, 5, 100_000])
def test_memory_bound_and_batches_do_not_change_the_result(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: int
) -> None:
    """0 events held: every later batch re-reads from the database; 5: sessions evicted mid-way."""
    events = interleaved()
    path = write(tmp_path / "cowrie.json", lines(events))
    ref = make_engine(f"sqlite:///{tmp_path / 'ref.sqlite'}")
    schema.upgrade(ref)
    ingest(ref, [str(path)])  # one batch: everything summarised at once
    monkeypatch.setattr(live, "MAX_LIVE_EVENTS", held)
    stats = ingest(engine, [str(path)], batch_events=4)
    assert stats.events_new == len(events) and stats.sessions_new == 12
    assert snapshot(engine) == snapshot(ref)
    ref.dispose()


def test_live_sessions_are_released_when_closed_or_over_budget() -> None:
    from cowrieprocessor.ingestion.events import Event, parse_line

    def parsed(event: dict[str, object]) -> Event:
        result = parse_line(lines([event]).rstrip(b"\n"))
        assert isinstance(result, Event)
        return result

    held = live.LiveSessions(max_events=3)
    open_session = [parsed(e) for e in Session("aaaaaaaaaaaa").connect().fail("root", "x").events]
    closed = [parsed(e) for e in Session("bbbbbbbbbbbb").connect().close().events]
    held.put("aaaaaaaaaaaa", live.LiveSession(open_session), open_session)
    held.put("bbbbbbbbbbbb", live.LiveSession(closed), closed)
    assert "aaaaaaaaaaaa" in held and "bbbbbbbbbbbb" not in held
    assert open_session[0].raw == b"" and "uuid" not in open_session[0].data  # trimmed to what summaries read
    more = [parsed(e) for e in Session("cccccccccccc").connect().fail("a", "b").events]
    held.put("cccccccccccc", live.LiveSession(more), more)
    held.shrink()
    assert "aaaaaaaaaaaa" not in held and "cccccccccccc" in held and held.events == 2
