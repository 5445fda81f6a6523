"""Live logs for ``follow`` tests: sessions of public addresses (so the offline sources enrich them), one line
per event, written in pieces the way Cowrie appends them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, text

from tests.ingestion.builders import Session, lines


def session_lines(first: int, count: int) -> list[bytes]:
    """The lines of ``count`` whole sessions numbered from ``first`` (ids and addresses differ per number)."""
    events = []
    for i in range(first, first + count):
        s = Session(f"{i:012x}", f"45.{33 + i // 250 % 200}.{i % 250 + 1}.9", start=i * 2.0).connect().version()
        s.fail("root", "123456").login("root", f"pw{i}").cmd("uname -a").close()
        events += s.events
    return [line for line in lines(events).split(b"\n") if line]


def append(path: Path, chunk: list[bytes]) -> None:
    with path.open("ab") as fh:
        fh.write(b"".join(line + b"\n" for line in chunk))


def stored_lines(engine: Engine) -> list[bytes]:
    with engine.connect() as conn:
        return [bytes(r[0]) for r in conn.execute(text("SELECT raw_line FROM raw_events"))]


def scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def assert_exactly_once(engine: Engine, written: list[bytes]) -> None:
    """Every line written is stored once, nothing else; each session has all its events; no dead letter."""
    stored = stored_lines(engine)
    assert len(stored) == len(written)
    assert sorted(stored) == sorted(written)
    sessions = len({line.split(b'"session":"')[1][:12] for line in written})
    assert scalar(engine, "SELECT count(*) FROM session_summaries") == sessions
    assert scalar(engine, "SELECT coalesce(sum(event_count), 0) FROM session_summaries") == len(written)
    assert scalar(engine, "SELECT count(*) FROM dead_letters WHERE status = 'pending'") == 0


def utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
