"""The follow loop on both backends: rotation, late writes to the renamed file, copytruncate, a line still
being written, a restart, snapshots of new IPs within the tick, and the status row."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cowrieprocessor.config import Settings
from cowrieprocessor.live import status
from cowrieprocessor.live.loop import Follower, FollowOptions
from tests.live.logs import append, assert_exactly_once, scalar, session_lines


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "cowrie"
    folder.mkdir()
    return folder


def follower(engine: Engine, logs: Path, *, enrich: bool = False, name: str = "follow") -> Follower:
    f = Follower(engine, Settings(), FollowOptions(paths=[str(logs)], name=name, enrich=enrich, batch_events=100))
    f.open()
    f.catch_up()
    return f


def read_first(follow: Follower, logs: Path, written: list[bytes], lines: int) -> tuple[Path, list[bytes]]:
    """The live log with the first ``lines`` of ``written`` in it, read by one tick."""
    live = logs / "cowrie.json"
    append(live, written[:lines])
    follow.tick()
    return live, written


def assert_one_rotation(engine: Engine, follow: Follower, written: list[bytes]) -> None:
    """After one more tick: one rotation seen, and every line written stored exactly once."""
    follow.tick()
    assert follow.stats.rotations == 1
    assert_exactly_once(engine, written)


@pytest.fixture
def follow(engine: Engine, logs: Path) -> Iterator[Follower]:
    f = follower(engine, logs)
    yield f
    f.close()


def test_rotation_by_rename_with_late_writes_to_the_renamed_file(engine: Engine, logs: Path, follow: Follower) -> None:
    live, written = read_first(follow, logs, session_lines(0, 30), 100)
    assert scalar(engine, "SELECT count(*) FROM raw_events") == 100
    append(live, written[100:150])
    renamed = logs / "cowrie.json.2025-02-25"
    os.rename(live, renamed)
    append(renamed, written[150:170])  # written through the old handle before Cowrie reopened
    follow.tick()  # the name is gone: the renamed file is finished
    append(live, written[170:])
    follow.tick()
    assert_one_rotation(engine, follow, written)
    paths = {r for r in scalar_rows(engine, "SELECT path FROM ingest_files")}
    assert paths == {str(live), str(renamed)}


def test_rotation_seen_only_as_a_new_inode(engine: Engine, logs: Path, follow: Follower) -> None:
    live, written = read_first(follow, logs, session_lines(100, 20), 60)
    append(live, written[60:80])
    os.rename(live, logs / "cowrie.json.2025-02-26")
    append(live, written[80:])  # the new file exists before the next look
    assert_one_rotation(engine, follow, written)


def test_lines_added_to_the_renamed_file_after_the_rotation_was_seen(
    engine: Engine, logs: Path, follow: Follower
) -> None:
    live, written = read_first(follow, logs, session_lines(150, 20), 50)
    renamed = logs / "cowrie.json.2025-02-25"
    os.rename(live, renamed)
    append(live, written[50:60])
    follow.tick()  # rotation seen, renamed file finished, new file read
    append(renamed, written[60:80])  # a writer that reopens late (logrotate's create mode, then a signal)
    append(live, written[80:])
    assert_one_rotation(engine, follow, written)


def test_copytruncate_keeps_what_was_written_before_the_truncation(
    engine: Engine, logs: Path, follow: Follower
) -> None:
    live, written = read_first(follow, logs, session_lines(200, 20), 70)
    append(live, written[70:100])  # not read yet when logrotate copies and truncates
    shutil.copyfile(live, logs / "cowrie.json.1")
    with live.open("r+b") as fh:
        fh.truncate(0)
    append(live, written[100:105])  # fewer bytes than before: seen as a truncation
    follow.tick()
    append(live, written[105:])
    follow.tick()
    assert follow.stats.truncations == 1
    assert_exactly_once(engine, written)


def test_a_line_being_written_stays_pending_until_its_newline(engine: Engine, logs: Path, follow: Follower) -> None:
    live = logs / "cowrie.json"
    written = session_lines(300, 3)
    append(live, written[:5])
    with live.open("ab") as fh:
        fh.write(written[5][:40])
    follow.tick()
    assert scalar(engine, "SELECT count(*) FROM raw_events") == 5
    assert follow.stats.dead_letters == 0
    with live.open("ab") as fh:
        fh.write(written[5][40:] + b"\n")
    append(live, written[6:])
    follow.tick()
    assert_exactly_once(engine, written)


def test_a_new_file_waits_for_its_first_newline(engine: Engine, logs: Path, follow: Follower) -> None:
    live = logs / "cowrie.json"
    written = session_lines(400, 2)
    live.write_bytes(written[0][:10])
    follow.tick()
    assert scalar(engine, "SELECT count(*) FROM ingest_files") == 0
    live.write_bytes(b"\n".join(written) + b"\n")
    follow.tick()
    assert_exactly_once(engine, written)
    assert scalar(engine, "SELECT count(*) FROM ingest_files") == 1


def test_restart_reads_on_from_the_checkpoint_and_catches_up_a_rotation(engine: Engine, logs: Path) -> None:
    live = logs / "cowrie.json"
    written = session_lines(500, 30)
    first = follower(engine, logs)
    append(live, written[:90])
    first.tick()
    first.close()
    append(live, written[90:120])  # while no follower runs: more lines, then the midnight rotation
    os.rename(live, logs / "cowrie.json.2025-02-27")
    append(live, written[120:])
    second = follower(engine, logs)
    second.tick()
    second.close()
    assert second.stats.events_duplicate == 0
    assert second.stats.events_new == len(written) - 90
    assert_exactly_once(engine, written)


def test_new_sessions_are_snapshotted_within_the_tick(engine: Engine, logs: Path) -> None:
    f = follower(engine, logs, enrich=True)
    try:
        written = session_lines(600, 10)
        append(logs / "cowrie.json", written)
        f.tick()
        assert scalar(engine, "SELECT count(*) FROM session_summaries WHERE snapshot_source IS NULL") == 0
        assert scalar(engine, "SELECT count(*) FROM session_summaries WHERE snapshot_country IS NOT NULL") == 10
        assert f.stats.sessions_snapshotted == 10
        assert f.stats.enrich_passes == 1
    finally:
        f.close()


def test_status_row_says_running_then_stopped_and_gone_when_the_heartbeat_is_old(engine: Engine, logs: Path) -> None:
    f = follower(engine, logs, name="sensor-a")
    written = session_lines(700, 2)
    append(logs / "cowrie.json", written)
    f.tick()
    now = dt.datetime.now(dt.UTC)
    (row,) = status.read(engine, now, "sensor-a")
    assert row["state"] == "running"
    assert row["events_new"] == len(written)
    assert row["last_batch_at"] is not None
    later = now + dt.timedelta(seconds=status.STALE_MIN_SECONDS + 5)
    assert status.read(engine, later)[0]["state"] == "gone"  # a kill -9 leaves "running" behind
    f.close()
    assert status.read(engine, later, "sensor-a")[0]["state"] == "stopped"
    assert status.read(engine, now, "other") == []


def scalar_rows(engine: Engine, sql: str) -> list[str]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return [str(r[0]) for r in conn.execute(text(sql))]


def test_alerts_run_after_a_batch_and_not_on_an_idle_tick(engine: Engine, logs: Path) -> None:
    from cowrieprocessor.alerts.run import AlertRunReport

    calls: list[dt.datetime] = []

    def alerts(_engine: Engine, _settings: Settings, now: dt.datetime) -> AlertRunReport:
        calls.append(now)
        return AlertRunReport(sent=2, failed=1, errors=["hook: timeout"])

    f = Follower(engine, Settings(), FollowOptions(paths=[str(logs)], enrich=False), alerts=alerts)
    f.open()
    try:
        append(logs / "cowrie.json", session_lines(800, 2))
        f.tick()
        f.tick()  # nothing new, and the last run was just now
    finally:
        f.close()
    assert len(calls) == 1 and calls[0].tzinfo is not None
    assert (f.stats.alert_runs, f.stats.alerts_sent, f.stats.alert_errors) == (1, 2, 2)
