"""Bad input becomes dead letters (reason, source, offset, bytes) and the run goes on; re-drive."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from sqlalchemy import Engine, text

from cowrieprocessor.ingestion import ingest
from cowrieprocessor.ingestion.deadletters import list_dead_letters, redrive
from tests.ingestion.builders import Session, count, dead_letters, lines, summary, ts, write


def test_every_kind_of_bad_line_is_kept_and_the_run_goes_on(engine: Engine, tmp_path: Path) -> None:
    good = Session("beefbeefbeef").connect().fail("root", "x").close().events
    base = {"session": "beefbeefbeef", "eventid": "cowrie.login.failed", "timestamp": ts(99), "src_ip": "192.0.2.9"}
    bad = {
        "invalid_json": b'{"session": "beefbeefbeef", "eventid": ',
        "invalid_utf8": b"\x89PNG\r\n\x1a\xff\xfe binary garbage \x00\x01",
        "missing_session": json.dumps({k: v for k, v in base.items() if k != "session"}).encode(),
        "missing_eventid": json.dumps({k: v for k, v in base.items() if k != "eventid"}).encode(),
        "missing_timestamp": json.dumps({k: v for k, v in base.items() if k != "timestamp"}).encode(),
        "bad_timestamp": json.dumps({**base, "timestamp": "25/02/2025 10:00"}).encode(),
        "invalid_ip": json.dumps({**base, "src_ip": "10.0.0.300"}).encode(),
        "line_too_long": json.dumps({**base, "input": "A" * 10_000_000}).encode(),
    }
    body = lines(good[:1])
    offsets = {}
    for reason, raw in bad.items():
        offsets[reason] = len(body)
        body += raw.replace(b"\n", b" ") + b"\n"
    body += lines(good[1:])
    path = write(tmp_path / "cowrie.json", body)
    stats = ingest(engine, [str(path)])
    assert stats.events_new == len(good) and stats.dead_letters == len(bad)
    got = {d["reason"]: d for d in dead_letters(engine)}
    assert set(got) == set(bad)
    for reason, raw in bad.items():
        letter = got[reason]
        assert (letter["source_path"], letter["source_offset"], letter["status"]) == (
            str(path),
            offsets[reason],
            "pending",
        )
        assert bytes(letter["raw"]) == raw.replace(b"\n", b" ")
        assert letter["detail"]
    assert summary(engine, "beefbeefbeef")["login_failures"] == 1
    ingest(engine, [str(path)])  # nothing is counted twice
    assert count(engine, "dead_letters") == len(bad)


def test_truncated_gzip_keeps_complete_lines_and_dead_letters_the_rest(engine: Engine, tmp_path: Path) -> None:
    events = []
    for i in range(40):
        events += Session(f"{i:012x}", start=i * 10.0).connect().close().events
    data = lines(events)
    packed = gzip.compress(data)
    path = tmp_path / "cowrie.json.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    stats = ingest(engine, [str(path)])
    (letter,) = dead_letters(engine)
    assert letter["reason"] == "truncated_compressed"
    assert stats.events_new == data[: letter["source_offset"]].count(b"\n") > 0
    assert data[letter["source_offset"] :].startswith(bytes(letter["raw"]))


def test_redrive_and_listing(engine: Engine, tmp_path: Path) -> None:
    event = Session("cafecafecafe").connect().events[0]
    bad = json.dumps({**event, "timestamp": "not a time"}).encode()
    path = write(tmp_path / "cowrie.json", bad + b"\n")
    ingest(engine, [str(path)])
    (listed,) = list_dead_letters(engine)
    assert listed["reason"] == "bad_timestamp" and listed["offset"] == 0
    assert redrive(engine).still_pending == 1  # still bad: stays pending
    fixed = json.dumps(event).encode()  # an operator repairs the bytes, then re-drives
    with engine.begin() as conn:
        conn.execute(text("UPDATE dead_letters SET raw = :raw"), {"raw": fixed})
    result = redrive(engine)
    assert (result.redriven, result.events_new, result.still_pending) == (1, 1, 0)
    assert summary(engine, "cafecafecafe")["event_count"] == 1
    assert list_dead_letters(engine) == [] and list_dead_letters(engine, status="redriven")[0]["id"] == listed["id"]
