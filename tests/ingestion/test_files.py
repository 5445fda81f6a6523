"""Files: formats, discovery, idempotency, incremental checkpoints, split lines at rotation."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cowrieprocessor.ingestion import ingest
from cowrieprocessor.storage.engine import make_engine
from tests.ingestion.builders import Session, count, counts, dead_letters, lines, summaries, write


def sessions(n: int, offset: int = 0) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for i in range(offset, offset + n):
        s = Session(f"{i:012x}", f"198.51.100.{i % 250 + 1}", start=i * 10.0).connect().version()
        s.fail("root", f"pw{i}").login("root", "admin").cmd(f"echo {i}").close()
        events += s.events
    return events


@pytest.mark.parametrize("compression", ["none", "gzip", "bzip2"])
def test_formats_rotated_names_give_same_result(engine: Engine, tmp_path: Path, compression: str) -> None:
    events = sessions(6)
    suffix = {"none": "", "gzip": ".gz", "bzip2": ".bz2"}[compression]
    write(tmp_path / "logs" / f"cowrie.json.2025-02-24{suffix}", lines(events[:20]), compression)
    write(tmp_path / "logs" / "nested" / f"cowrie.json.2025-02-25{suffix}", lines(events[20:]), compression)
    stats = ingest(engine, [str(tmp_path / "logs")])
    assert (stats.files_read, stats.events_new, stats.dead_letters) == (2, len(events), 0)
    assert count(engine, "session_summaries") == 6
    assert all(s["login_success"] and s["login_attempts"] == 2 for s in summaries(engine).values())


def test_globs_and_missing_paths(engine: Engine, tmp_path: Path) -> None:
    write(tmp_path / "cowrie.json.1", lines(sessions(1)))
    write(tmp_path / "cowrie.json.2", lines(sessions(1, 1)))
    stats = ingest(engine, [str(tmp_path / "cowrie.json.*"), str(tmp_path / "nothing-here*")])
    assert stats.files_read == 2 and stats.missing == [str(tmp_path / "nothing-here*")]
    assert count(engine, "session_summaries") == 2


def test_idempotent_same_file_renamed_copy_and_gz_copy(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "cowrie.json", lines(sessions(5)))
    ingest(engine, [str(path)])
    before, rows_before = summaries(engine), counts(engine)
    ingest(engine, [str(path)])
    shutil.copy(path, tmp_path / "renamed.json")
    with path.open("rb") as src, gzip.open(tmp_path / "copy.json.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    stats = ingest(engine, [str(tmp_path / "renamed.json"), str(tmp_path / "copy.json.gz")])
    assert stats.events_new == 0 and stats.sessions_new == 0 and stats.sessions_updated == 0
    assert summaries(engine) == before
    assert counts(engine) == rows_before


def test_incremental_growth_reads_from_checkpoint(engine: Engine, tmp_path: Path) -> None:
    first, second = lines(sessions(3)), lines(sessions(2, 3))
    path = write(tmp_path / "cowrie.json", first)
    ingest(engine, [str(path)])
    with path.open("ab") as out:
        out.write(second)
    stats = ingest(engine, [str(path)])
    assert stats.bytes_read == len(second)  # never from the start
    assert stats.events_new == second.count(b"\n") and stats.events_duplicate == 0
    assert count(engine, "session_summaries") == 5


def test_session_continuing_in_grown_file_is_recomputed(engine: Engine, tmp_path: Path) -> None:
    s = Session("abcabcabcabc").connect().fail("root", "a").login("root", "b").cmd("ls").cmd("id").close()
    path = write(tmp_path / "cowrie.json", lines(s.events[:3]))
    ingest(engine, [str(path)])
    with path.open("ab") as out:
        out.write(lines(s.events[3:]))
    stats = ingest(engine, [str(path)])
    assert (stats.sessions_new, stats.sessions_updated) == (0, 1)
    row = summaries(engine)["abcabcabcabc"]
    assert (row["login_attempts"], row["command_count"], row["event_count"]) == (2, 2, len(s.events))


def test_replaced_and_truncated_files_are_read_as_new(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "cowrie.json", lines(sessions(3)))
    ingest(engine, [str(path)])
    write(path, lines(sessions(2, 10)))  # replaced: other content under the same name
    stats = ingest(engine, [str(path)])
    assert stats.events_new == len(sessions(2, 10))
    full = lines(sessions(4, 20))
    write(path, full)
    ingest(engine, [str(path)])
    write(path, full[: full.index(b"\n", 200) + 1])  # truncated: same first line, shorter
    stats = ingest(engine, [str(path)])
    assert stats.files_restarted == 1 and stats.events_new == 0
    write(path, full[: full.index(b"\n", 200) + 1] + lines(sessions(1, 40)))  # and written again after
    stats = ingest(engine, [str(path)])
    assert stats.events_new == len(sessions(1, 40))
    assert count(engine, "session_summaries") == 3 + 2 + 4 + 1


@pytest.mark.parametrize("order", ["old-first", "new-first"])
def test_line_split_at_rotation_is_joined(engine: Engine, tmp_path: Path, order: str) -> None:
    data = lines(sessions(2))
    cut = data.index(b"\n", len(data) // 2) + 40  # inside a line
    old = write(tmp_path / "cowrie.json.2025-02-25.gz", data[:cut], "gzip")
    new = write(tmp_path / "cowrie.json", data[cut:])
    for path in [old, new] if order == "old-first" else [new, old]:
        ingest(engine, [str(path)])
    assert count(engine, "raw_events") == data.count(b"\n")
    assert [d["status"] for d in dead_letters(engine)] == ["joined"]  # the first half seen waited as a letter
    assert count(engine, "dead_letters", "status = 'pending'") == 0
    ingest(engine, [str(old), str(new)])  # again: nothing changes, no new dead letter
    assert count(engine, "raw_events") == data.count(b"\n")
    assert count(engine, "dead_letters", "status = 'pending'") == 0


def test_half_line_alone_is_a_dead_letter_with_location(engine: Engine, tmp_path: Path) -> None:
    data = lines(sessions(1))
    cut = len(data) - 30
    path = write(tmp_path / "cowrie.json.2025-02-25", data[:cut])
    stats = ingest(engine, [str(path)])
    (dl,) = dead_letters(engine)
    assert (dl["reason"], dl["source_path"], dl["source_offset"]) == (
        "partial_line",
        str(path),
        data.rindex(b"\n", 0, cut) + 1,
    )
    assert bytes(dl["raw"]) == data[dl["source_offset"] : cut]
    with path.open("ab") as out:  # the live file is completed later: the line is read, the letter resolved
        out.write(data[cut:])
    stats = ingest(engine, [str(path)])
    assert stats.events_new == 1
    assert [d["status"] for d in dead_letters(engine)] == ["resolved"]


def test_compressed_resume_and_sqlite_and_pg_agree(backend: str, tmp_path: Path, db_url: str) -> None:
    """A .bz2 of a grown log is read from the checkpoint of the plain file it was copied from."""
    engine = make_engine(db_url)
    first = lines(sessions(2))
    path = write(tmp_path / "cowrie.json", first)
    ingest(engine, [str(path)])
    full = first + lines(sessions(2, 2))
    stats = ingest(engine, [str(write(tmp_path / "cowrie.json.2025-02-26.bz2", full, "bzip2"))])
    assert stats.bytes_read == len(full) - len(first)
    assert count(engine, "session_summaries") == 4
    engine.dispose()


def test_cyclic_gc_is_restored_after_ingest_even_on_failure(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ingestion switches automatic garbage collection off for its run; the host process must get it back."""
    import gc

    from cowrieprocessor.ingestion import pipeline

    path = write(tmp_path / "cowrie.json", lines(Session("a1b2c3d4e5f6").connect().close().events))
    seen: list[bool] = []
    original = pipeline.Ingestor._collect

    def spy(self: pipeline.Ingestor) -> None:
        seen.append(gc.isenabled())
        original(self)

    monkeypatch.setattr(pipeline.Ingestor, "_collect", spy)
    assert gc.isenabled()
    ingest(engine, [str(path)])
    assert seen == [False] and gc.isenabled()

    def boom(*_args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline.BatchWriter, "apply_details", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest(engine, [str(write(tmp_path / "other.json", lines(Session("f6e5d4c3b2a1").connect().events)))])
    assert gc.isenabled()
