"""Hostile log lines and files (#15): one bad line costs one dead letter, never the run; nothing counts twice.

Per field, what becomes of a hostile value:
* JSON nested deeper than ``MAX_DEPTH`` (1,100 deep; 500 deep with ``\\u0000``; 600,000 deep on re-drive):
  dead letter ``too_deep``.
* ``timestamp`` that UTC cannot hold (``9999-12-31T23:59:59-14:00``, ``0001-01-01T00:00:00+14:00``): dead
  letter ``bad_timestamp``.
* ``src_ip`` with an IPv6 zone (``fe80::1%eth0``): stored normalised, without the zone (``fe80::1``), and so is
  ``dst_ip``; the raw line keeps both.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, text

from cowrieprocessor.ingestion import ingest
from cowrieprocessor.ingestion.deadletters import redrive
from cowrieprocessor.ingestion.events import event_uid
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.rekey import bytes_uid
from tests.ingestion.builders import Session, count, counts, dead_letters, lines, summaries, summary, ts, write

BASE = {"session": "beefbeefbeef", "eventid": "cowrie.login.failed", "timestamp": ts(99), "src_ip": "192.0.2.9"}


def _deep(levels: int, inner: str = "1") -> bytes:
    return json.dumps(BASE)[:-1].encode() + b', "x": ' + b"[" * levels + inner.encode() + b"]" * levels + b"}"


def test_hostile_lines_are_dead_letters_with_reasons_and_the_run_goes_on(engine: Engine, tmp_path: Path) -> None:
    good = Session("beefbeefbeef").connect().fail("root", "x").close().events
    hostile = {
        _deep(1100): "too_deep",
        _deep(500, '"a\\u0000b"'): "too_deep",
        json.dumps({**BASE, "timestamp": "9999-12-31T23:59:59-14:00"}).encode(): "bad_timestamp",
        json.dumps({**BASE, "timestamp": "0001-01-01T00:00:00+14:00"}).encode(): "bad_timestamp",
    }
    first = write(tmp_path / "a" / "cowrie.json.2024-01-01", lines(good[:1]) + b"\n".join(hostile) + b"\n")
    later = write(tmp_path / "a" / "cowrie.json", lines(good[1:]))
    stats = ingest(engine, [str(first), str(later)])
    assert stats.events_new == len(good) and stats.dead_letters == len(hostile)
    letters = dead_letters(engine)
    assert sorted(d["reason"] for d in letters) == sorted(hostile.values())
    assert {bytes(d["raw"]) for d in letters} == set(hostile)
    assert all(d["detail"] for d in letters)
    assert summary(engine, "beefbeefbeef")["login_failures"] == 1
    again = ingest(engine, [str(first), str(later)])  # a re-run neither crashes nor counts again
    assert again.events_new == 0 and count(engine, "dead_letters") == len(hostile)


def test_scoped_ipv6_source_is_stored_without_its_zone(engine: Engine, tmp_path: Path) -> None:
    events = Session("5c0bed5c0bed", src_ip="fe80::1%eth0").connect().fail("root", "toor").close().events
    for event in events:
        event["dst_ip"] = "fe80::2%2"
    path = write(tmp_path / "cowrie.json", lines(events))
    stats = ingest(engine, [str(path)])
    assert stats.events_new == len(events) and stats.dead_letters == 0
    stored = summary(engine, "5c0bed5c0bed")
    assert (str(stored["source_ip"]), str(stored["destination_ip"])) == ("fe80::1", "fe80::2")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT source_ip, raw_line FROM raw_events")).all()
    assert {str(ip) for ip, _raw in stored} == {"fe80::1"}
    assert all(b"fe80::1%eth0" in bytes(raw) for _ip, raw in stored)


def test_redrive_of_a_600000_deep_line_keeps_it_pending(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "cowrie.json", _deep(600_000) + b"\n" + lines(Session("beefbeefbeef").connect().events))
    stats = ingest(engine, [str(path)])
    assert stats.dead_letters == 1 and stats.events_new == 1
    result = redrive(engine)
    assert result.examined == 1 and result.still_pending == 1 and result.redriven == 0
    assert [d["status"] for d in dead_letters(engine)] == ["pending"]


# ----------------------------------------------------------------------------------- counting once ---


def _sessions() -> list[dict[str, object]]:
    events = []
    for i in range(6):
        s = Session(f"{i:012x}", src_ip=f"198.51.100.{i + 1}", start=i * 30.0).connect().version()
        events += (
            s.fail("root", "123456").login("root", "admin").cmd("uname -a; id").cmd("cat /proc/cpuinfo").close().events
        )
    return events


def test_a_re_encoded_copy_counts_nothing_twice(engine: Engine, tmp_path: Path) -> None:
    events = _sessions()
    original = lines(events)
    path = write(tmp_path / "cowrie.json", original)
    ingest(engine, [str(path)])
    before, totals = summaries(engine), counts(engine)
    crlf = write(tmp_path / "crlf" / "cowrie.json", original.replace(b"\n", b"\r\n"))
    redumped = write(
        tmp_path / "redumped" / "cowrie.json",
        b"".join(json.dumps(e, sort_keys=True, indent=None).encode() + b"\n" for e in events),
    )
    stats = ingest(engine, [str(crlf), str(redumped)])
    assert stats.events_read == 2 * len(events) and stats.events_new == 0
    assert summaries(engine) == before and counts(engine) == totals
    with engine.connect() as conn:
        raws = {bytes(r[0]) for r in conn.execute(text("SELECT raw_line FROM raw_events"))}
    assert raws == set(original.splitlines())  # the first copy's bytes are kept


def test_a_rewritten_file_padded_to_the_checkpoint_is_read_again(engine: Engine, tmp_path: Path) -> None:
    first = Session("f1f1f1f1f1f1").connect().events
    a = Session("aaaaaaaaaaaa", start=10.0).connect().fail("root", "a").fail("root", "b").fail("root", "c").close()
    original = lines(first + a.events)
    path = write(tmp_path / "cowrie.json", original)
    ingest(engine, [str(path)])
    b = Session("bbbbbbbbbbbb", start=100.0).connect().close()
    body = lines(first + b.events)
    assert len(body) + 1 < len(original)
    body += b" " * (len(original) - len(body) - 1) + b"\n"  # padded: the byte before the checkpoint is '\n'
    c = Session("cccccccccccc", start=200.0).connect().close()
    write(path, body + lines(c.events))
    stats = ingest(engine, [str(path)])
    assert stats.files_restarted == 1
    sessions = summaries(engine)
    assert {"bbbbbbbbbbbb", "cccccccccccc"} <= set(sessions)


def test_a_grown_file_is_still_read_from_its_checkpoint(engine: Engine, tmp_path: Path) -> None:
    events = _sessions()
    path = write(tmp_path / "cowrie.json", lines(events[:20]))
    ingest(engine, [str(path)])
    write(path, lines(events))
    stats = ingest(engine, [str(path)])
    assert stats.files_restarted == 0 and stats.events_read == len(events) - 20
    again = ingest(engine, [str(path)])
    assert again.files_unchanged == 1


def test_migration_re_keys_stored_events_both_ways(engine: Engine, tmp_path: Path) -> None:
    events = _sessions()
    original = lines(events)
    ingest(engine, [str(write(tmp_path / "cowrie.json", original))])
    totals = counts(engine)

    def keys() -> dict[bytes, str]:
        with engine.connect() as conn:
            return {bytes(r[1]): r[0] for r in conn.execute(text("SELECT event_uid, raw_line FROM raw_events"))}

    def detail_keys() -> set[str]:
        with engine.connect() as conn:
            return {
                r[0]
                for table in ("auth_attempts", "commands")
                for r in conn.execute(text(f"SELECT event_uid FROM {table}"))
            }

    content = keys()
    assert all(uid == event_uid(json.loads(raw)) for raw, uid in content.items())
    details = detail_keys()
    assert details and details <= set(content.values())
    schema.downgrade(engine, "v19")
    assert all(uid == bytes_uid(raw) for raw, uid in keys().items())
    assert detail_keys() <= set(keys().values()) and len(detail_keys()) == len(details)
    schema.upgrade(engine)
    assert keys() == content and detail_keys() == details and counts(engine) == totals
    crlf = write(tmp_path / "crlf" / "cowrie.json", original.replace(b"\n", b"\r\n"))
    stats = ingest(engine, [str(crlf)])
    assert stats.events_new == 0 and counts(engine) == totals


def test_a_truncated_archive_s_dead_letter_is_resolved_once_the_complete_file_is_read(
    engine: Engine, tmp_path: Path
) -> None:
    import gzip

    events = _sessions()
    data = lines(events)
    packed = gzip.compress(data)
    path = tmp_path / "cowrie.json.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    ingest(engine, [str(path)])
    (letter,) = dead_letters(engine)
    assert (letter["reason"], letter["status"]) == ("truncated_compressed", "pending")
    path.write_bytes(packed)  # the copy completed
    stats = ingest(engine, [str(path)])
    assert stats.files_restarted == 0
    (letter,) = dead_letters(engine)
    assert letter["status"] == "resolved"
    assert count(engine, "raw_events") == len(events)
