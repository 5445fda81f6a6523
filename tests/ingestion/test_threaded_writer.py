"""Batches written in their own thread while the next is prepared: the result is the careful one's, always."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from cowrieprocessor.ingestion import ingest, threaded_writer
from cowrieprocessor.ingestion.store import Store
from cowrieprocessor.ingestion.store_pg import PostgresStore
from cowrieprocessor.ingestion.writer import BatchWriter
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine
from tests.ingestion.builders import Session, counts, lines, summaries, write
from tests.ingestion.test_live import snapshot


def interleaved(n: int, offset: int = 0, close: bool = True) -> list[dict[str, object]]:
    """Sessions overlapping in time, several per IP, some (all without ``close``) still open at the end."""
    events: list[dict[str, object]] = []
    for i in range(offset, offset + n):
        s = Session(f"{i:012x}", f"198.51.100.{i % 4 + 1}", start=i * 0.9).connect().version()
        s.fail("root", f"pw{i}").login("root", "admin").cmd("uname -a").cmd(f"echo {i}")
        if close and i % 3:
            s.close()
        events += s.events
    return sorted(events, key=lambda e: str(e["timestamp"]))


def long_sessions(n: int, commands: int) -> list[dict[str, object]]:
    """A few long interactive sessions, all open, their events interleaved."""
    events: list[dict[str, object]] = []
    for i in range(n):
        s = Session(f"{i:012x}", f"198.51.100.{i + 1}", start=i * 0.1).connect().login("root", "admin")
        for c in range(commands):
            s.cmd(f"echo {c}")
        events += s.events
    return sorted(events, key=lambda e: str(e["timestamp"]))


def reference(tmp_path: Path, *files: Path) -> Engine:
    ref = make_engine(f"sqlite:///{tmp_path / 'ref.sqlite'}")
    schema.upgrade(ref)
    for path in files:
        ingest(ref, [str(path)])  # one batch per file: nothing prepared ahead
    return ref


class Spy:
    """Counts the batches written the careful way and the conflicts the optimistic way ran into."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.careful = 0
        self.conflicts = 0
        write, land = BatchWriter.write, threaded_writer.OverlappedWriter._land

        def careful(writer: BatchWriter, *args: object) -> int:
            self.careful += 1
            return write(writer, *args)  # type: ignore[arg-type]

        def landed(ow: threaded_writer.OverlappedWriter) -> bool:
            ok = land(ow)
            self.conflicts += not ok
            return ok

        monkeypatch.setattr(BatchWriter, "write", careful)
        monkeypatch.setattr(threaded_writer.OverlappedWriter, "_land", landed)


def test_new_logs_go_the_optimistic_way_and_match_one_big_batch(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "cowrie.json", lines(interleaved(30)))
    ref = reference(tmp_path, path)
    spy = Spy(monkeypatch)
    stats = ingest(engine, [str(path)], batch_events=7)
    assert spy.careful == 0 and spy.conflicts == 0  # nothing was known: every batch was prepared ahead
    assert stats.sessions_new == 30 and stats.events_duplicate == 0
    assert snapshot(engine) == snapshot(ref)
    ref.dispose()


def test_a_copy_with_more_lines_conflicts_then_goes_the_careful_way(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same events again in one run (a copy of a file that grew): the unique index catches them.

    The sessions are open, so memory holds them all and nothing tells the reader they are stored already;
    they go on past the copied part, so a summary that counted an event twice would show.
    """
    events = long_sessions(4, 25)
    first = write(tmp_path / "cowrie.json", lines(events[:60]))
    grown = write(tmp_path / "copy-of-grown.json", lines(events))
    ref = reference(tmp_path, first, grown)
    spy = Spy(monkeypatch)
    monkeypatch.setattr(threaded_writer, "CAREFUL_BATCHES", 2)
    stats = ingest(engine, [str(first), str(grown)], batch_events=5)
    assert spy.conflicts >= 1 and spy.careful >= 2  # the conflicting batch and the one prepared on it
    assert stats.events_new == len(events) and stats.events_duplicate == 60
    assert stats.sessions_new == 4
    assert snapshot(engine) == snapshot(ref)
    ref.dispose()


def test_sessions_the_database_has_go_the_careful_way(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later run continues sessions of an earlier one: they are re-read, never taken for new ones."""
    events = interleaved(12)
    early = write(tmp_path / "cowrie.json.1", lines(events[: len(events) // 2]))
    late = write(tmp_path / "cowrie.json", lines(events[len(events) // 2 :]))
    ref = reference(tmp_path, early, late)
    ingest(engine, [str(early)], batch_events=6)
    spy = Spy(monkeypatch)
    stats = ingest(engine, [str(late)], batch_events=6)
    assert spy.careful >= 1 and stats.sessions_updated > 0
    assert summaries(engine) == summaries(ref) and counts(engine) == counts(ref)
    ref.dispose()


def test_a_session_another_loader_created_meanwhile_is_summarised_from_all_its_events(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two loaders, one session split across their files (rotation at midnight): the second one looked the
    session up just before the first committed it. Its summary must count both loaders' events."""
    events = long_sessions(3, 6)
    head = write(tmp_path / "cowrie.json.2025-02-24", lines(events[::2]))
    tail = write(tmp_path / "cowrie.json", lines(events[1::2]))
    ref = reference(tmp_path, head, tail)
    ingest(engine, [str(head)])  # the other loader, committed
    originals = {Store: Store.existing_sessions, PostgresStore: PostgresStore.existing_sessions}
    calls: list[int] = []

    def too_early(store: Store, session_ids: list[str]) -> dict[str, str | None]:
        calls.append(len(session_ids))
        if len(calls) == 1:
            return {}  # the first look-up ran just before the other loader's commit
        return originals[type(store)](store, session_ids)

    monkeypatch.setattr(Store, "existing_sessions", too_early)
    monkeypatch.setattr(PostgresStore, "existing_sessions", too_early)
    stats = ingest(engine, [str(tail)])
    assert len(calls) >= 2 and calls[0] == 3  # asked too early, then again the careful way
    assert stats.events_new == len(events[1::2]) and stats.sessions_new == 0
    assert snapshot(engine) == snapshot(ref)
    ref.dispose()


def test_a_session_in_memory_that_another_loader_added_to_is_read_again(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between two batches of this run, another loader stores more events of a session this run holds in memory
    (both read the same log). The next batch finds some of its events stored: the session is read again."""
    events = long_sessions(1, 5)  # one open session, 7 events
    path = write(tmp_path / "cowrie.json", lines(events))
    other_log = write(tmp_path / "other" / "cowrie.json", lines(events[4:6]))
    ref = reference(tmp_path, path)
    monkeypatch.setattr(threaded_writer.OverlappedWriter, "_prepare", lambda *_args: None)  # the careful way only
    write_batch = BatchWriter._write
    calls = {"n": 0}

    def other_loader_between_batches(writer: BatchWriter, *args: object) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            other = make_engine(db_url)
            ingest(other, [str(other_log)])
            other.dispose()
        return write_batch(writer, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(BatchWriter, "_write", other_loader_between_batches)
    stats = ingest(engine, [str(path)], batch_events=4)
    assert calls["n"] >= 3 and stats.events_duplicate == 2  # 2 written by the other loader's run (its own calls)
    assert summaries(engine) == summaries(ref) and counts(engine) == counts(ref)
    ref.dispose()


@pytest.mark.parametrize("way", ["careful", "optimistic"])
def test_a_session_in_memory_that_another_loader_extended_with_other_events_is_read_again(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    """Two loaders, one session, *disjoint* events (a backfill of two days in parallel: the session spans
    midnight): between two batches of this run the other loader stores events this run never reads. The next
    batch's summary from memory would lose them; the stored-event count gives it away and the session is read
    again."""
    events = long_sessions(1, 6)  # one open session, 8 events
    path = write(tmp_path / "cowrie.json", lines(events[:4] + events[6:]))
    other_log = write(tmp_path / "other" / "cowrie.json", lines(events[4:6]))
    ref = reference(tmp_path, write(tmp_path / "all.json", lines(events)))
    spy = Spy(monkeypatch)
    calls = {"n": 0}

    def other_loader() -> None:
        other = make_engine(db_url)
        ingest(other, [str(other_log)])
        other.dispose()

    if way == "careful":
        monkeypatch.setattr(threaded_writer.OverlappedWriter, "_prepare", lambda *_args: None)
        write_batch = BatchWriter._write

        def between_batches(writer: BatchWriter, *args: object) -> int:
            calls["n"] += 1
            if calls["n"] == 2:
                other_loader()
            return write_batch(writer, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(BatchWriter, "_write", between_batches)
    else:
        hand_over = threaded_writer.OverlappedWriter.write

        def after_first_commit(ow: threaded_writer.OverlappedWriter, *args: object) -> None:
            calls["n"] += 1
            if calls["n"] == 2:
                ow.flush()  # the first batch is committed and its session held in memory
                other_loader()
            hand_over(ow, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(threaded_writer.OverlappedWriter, "write", after_first_commit)
    stats = ingest(engine, [str(path)], batch_events=4)
    assert calls["n"] >= 2 and stats.events_new == 6 and stats.events_duplicate == 0
    if way == "optimistic":
        assert spy.conflicts == 1  # found at the batch's commit, then written the careful way
    assert summaries(engine) == summaries(ref) and counts(engine) == counts(ref)
    assert summaries(engine)[events[0]["session"]]["event_count"] == 8
    ref.dispose()


def test_a_failing_batch_in_flight_stops_the_run_and_keeps_what_was_committed(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "cowrie.json", lines(interleaved(20)))
    calls = {"n": 0}
    apply = BatchWriter.apply_details

    def fail_third(writer: BatchWriter, prepared: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        apply(writer, prepared)  # type: ignore[arg-type]

    monkeypatch.setattr(BatchWriter, "apply_details", fail_third)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest(engine, [str(path)], batch_events=10)
    monkeypatch.setattr(BatchWriter, "apply_details", apply)
    stats = ingest(engine, [str(path)])  # resumes from the last committed checkpoint
    ref = reference(tmp_path, path)
    assert stats.events_duplicate == 0 and stats.events_new == len(interleaved(20)) - 20
    assert snapshot(engine) == snapshot(ref)
    ref.dispose()


def test_an_in_memory_sqlite_database_is_written_from_its_own_thread(tmp_path: Path) -> None:
    """Its connection is the database, bound to the thread that made it: every batch goes the careful way."""
    path = write(tmp_path / "cowrie.json", lines(interleaved(6)))
    memory = make_engine("sqlite://")
    schema.upgrade(memory)
    stats = ingest(memory, [str(path)], batch_events=5)
    ref = reference(tmp_path, path)
    assert stats.sessions_new == 6 and summaries(memory) == summaries(ref)
    memory.dispose()
    ref.dispose()
