"""Session summaries and detail rows: exact eventids, hashes, signatures, keys, order independence."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import Engine, select, text

from cowrieprocessor.ingestion import ingest
from cowrieprocessor.ingestion.sshkeys import fingerprint_sha256
from cowrieprocessor.ingestion.summaries import command_signature
from cowrieprocessor.storage.models import AuthAttempt, CommandRecord, FileTransfer, IPInventory, RawEvent, SSHKey
from cowrieprocessor.storage.textsafe import unescape_text
from tests.ingestion.builders import Session, count, lines, ssh_key_line, summaries, summary, table_rows, write

PLANTED, PLANTED_BLOB = ssh_key_line(11)
OFFERED, OFFERED_BLOB = ssh_key_line(22)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def attacker() -> Session:
    return (
        Session("a1b2c3d4e5f6", "203.0.113.7").connect().version("SSH-2.0-libssh_0.9.6")
        .offer_key(OFFERED).fail("root", "123456").fail("admin", "admin").login("root", "s3cret")
        .cmd("uname -a").cmd("enable ; foo -x", failed="foo -x")
        .cmd(f'echo "{PLANTED}" >> ~/.ssh/authorized_keys')
        .download("http://198.51.100.4/bins.sh").download_failed("http://198.51.100.4/x86")
        .upload("payload.bin").ev("cowrie.nobody.knows.this", foo=1).close(duration_ms=98765)
    )  # fmt: skip


def test_session_fields(engine: Engine, tmp_path: Path) -> None:
    s = attacker()
    brute = Session("0000aaaa1111", "2001:db8::7", protocol="telnet", dst_port=23).connect()
    brute.fail("root", "first").fail("root", "last").ev("cowrie.session.closed", duration=1.5)
    scanner = Session("ffff00001111", "2001:db8::7").offer_key(OFFERED).close()
    stats = ingest(engine, [str(write(tmp_path / "cowrie.json", lines(s.events + brute.events + scanner.events)))])
    assert stats.unknown_eventids == 1 and stats.dead_letters == 0
    assert sorted(stats.session_ids or []) == ["0000aaaa1111", "a1b2c3d4e5f6", "ffff00001111"]
    row = summary(engine, "a1b2c3d4e5f6")
    assert row["sensor"] == "sensor-a" and row["protocol"] == "ssh"
    assert (row["source_ip"], row["source_port"], row["destination_port"]) == ("203.0.113.7", 40000, 22)
    assert row["event_count"] == len(s.events)
    assert row["client_version"] == "SSH-2.0-libssh_0.9.6"
    assert row["hassh"] == "ec7378c1a92f5a8dde7e8b7a1ddf33d1"
    assert (row["login_attempts"], row["login_failures"], row["login_success"]) == (4, 3, True)
    assert row["login_username"] == "root"
    assert row["password_hash"] == sha("s3cret")
    assert row["command_count"] == 3
    assert row["command_signature"] == command_signature(
        ["uname -a", "enable ; foo -x", f'echo "{PLANTED}" >> ~/.ssh/authorized_keys']
    )
    assert (row["file_downloads"], row["file_uploads"]) == (1, 1)
    assert row["ssh_key_fingerprint"] == fingerprint_sha256(PLANTED_BLOB)
    assert row["duration_ms"] == 98765
    assert row["first_event_at"].isoformat() == s.events[0]["timestamp"].replace("Z", "+00:00")
    assert row["last_event_at"].isoformat() == s.events[-1]["timestamp"].replace("Z", "+00:00")

    b = summary(engine, "0000aaaa1111")
    assert (b["protocol"], b["source_ip"], b["destination_port"]) == ("telnet", "2001:db8::7", 23)
    assert (b["login_attempts"], b["login_failures"], b["login_success"]) == (2, 2, False)
    assert b["password_hash"] == sha("last") and b["login_username"] is None and b["duration_ms"] == 1500
    assert summary(engine, "ffff00001111")["ssh_key_fingerprint"] == fingerprint_sha256(OFFERED_BLOB)

    assert count(engine, "raw_events") == len(s.events + brute.events + scanner.events)
    commands = table_rows(engine, CommandRecord, "session_id", "sequence", "input", "known")
    assert [c[1:] for c in commands if c[0] == "a1b2c3d4e5f6"] == [
        (0, "uname -a", True), (1, "enable ; foo -x", False),
        (2, f'echo "{PLANTED}" >> ~/.ssh/authorized_keys', True),
    ]  # fmt: skip
    transfers = table_rows(engine, FileTransfer, "direction", "outcome", "url", "filename")
    assert transfers == sorted(
        [("download", "success", "http://198.51.100.4/bins.sh", None),
         ("download", "failed", "http://198.51.100.4/x86", None), ("upload", "success", None, "payload.bin")],
        key=repr,
    )  # fmt: skip
    keys = table_rows(engine, SSHKey, "session_id", "how_seen", "fingerprint_sha256")
    assert ("a1b2c3d4e5f6", "planted", fingerprint_sha256(PLANTED_BLOB)) in keys
    assert ("a1b2c3d4e5f6", "offered", fingerprint_sha256(OFFERED_BLOB)) in keys
    auth = table_rows(
        engine, AuthAttempt, "session_id", "username", "password", "password_hash", "key_fingerprint", "success"
    )
    assert ("a1b2c3d4e5f6", "root", "s3cret", sha("s3cret"), None, True) in auth
    assert ("a1b2c3d4e5f6", "root", None, None, fingerprint_sha256(OFFERED_BLOB), False) in auth
    inventory = {r[0]: r[1:] for r in table_rows(engine, IPInventory, "ip_address", "session_count", "enrichment")}
    assert inventory == {"203.0.113.7": (1, {}), "2001:db8::7": (2, {})}


def test_same_result_whatever_file_and_batch_order(engine: Engine, tmp_path: Path) -> None:
    """A session spread over two rotated files and many batches: one correct summary in any order."""
    from cowrieprocessor.storage.engine import make_engine

    events = attacker().events
    day1 = write(tmp_path / "a" / "cowrie.json.2025-02-25", lines(events[:7]))
    day2 = write(tmp_path / "a" / "cowrie.json", lines(events[7:]))
    ingest(engine, [str(day2)], batch_events=3)
    ingest(engine, [str(day1)], batch_events=2)
    reference_url = f"sqlite:///{tmp_path / 'ref.sqlite'}"
    from cowrieprocessor.storage import schema

    ref = make_engine(reference_url)
    schema.upgrade(ref)
    ingest(ref, [str(write(tmp_path / "b" / "all.json", lines(events)))])
    assert summaries(engine) == summaries(ref)
    got = table_rows(engine, CommandRecord, "event_uid", "sequence", "known")
    assert got == table_rows(ref, CommandRecord, "event_uid", "sequence", "known")
    ref.dispose()


def test_nul_in_attacker_text_is_kept_exactly(engine: Engine, tmp_path: Path) -> None:
    s = Session("0123456789ab").connect().login("ro\x00ot", "pa\x00ss\u2400").cmd("echo \x00\ud800 done").close()
    path = write(tmp_path / "cowrie.json", lines(s.events))
    stats = ingest(engine, [str(path)])
    assert stats.dead_letters == 0 and stats.events_new == len(s.events)
    row = summary(engine, "0123456789ab")
    assert unescape_text(row["login_username"]) == "ro\x00ot"
    assert row["password_hash"] == hashlib.sha256("pa\x00ss\u2400".encode()).hexdigest()
    (stored,) = table_rows(engine, CommandRecord, "input")
    assert unescape_text(stored[0]) == "echo \x00\ud800 done"
    with engine.connect() as conn:
        raws = conn.execute(select(RawEvent.raw_line, RawEvent.payload).order_by(RawEvent.source_offset)).all()
    assert b"".join(bytes(r[0]) + b"\n" for r in raws) == path.read_bytes()
    assert unescape_text(raws[1][1]["username"]) == "ro\x00ot"
    # only the escaped line keeps a payload of its own; the view gives every event's JSON
    assert [r[1] is not None for r in raws] == [b"\\u0000" in bytes(r[0]) or b"\\ud8" in bytes(r[0]) for r in raws]
    with engine.connect() as conn:
        docs = conn.execute(text("SELECT payload FROM raw_events_json ORDER BY source_offset")).scalars().all()
    docs = [json.loads(d) if isinstance(d, str) else d for d in docs]
    assert [d["eventid"] for d in docs] == [json.loads(bytes(r[0]))["eventid"] for r in raws]
    assert unescape_text(docs[1]["username"]) == "ro\x00ot"


def _two_sensors_one_id(sid: str) -> tuple[Session, Session]:
    """Two different attacks that drew the same 48-bit Cowrie session id on two sensors."""
    a = Session(sid, "203.0.113.7", sensor="sensor-a").connect().fail("root", "one").close()
    b = Session(sid, "198.51.100.9", sensor="sensor-b", start=30).connect().login("admin", "two").close()
    return a, b


def test_sessions_from_two_sensors_under_one_id_are_reported(engine: Engine, tmp_path: Path) -> None:
    a, b = _two_sensors_one_id("c0ffee000001")
    other = Session("c0ffee000002", "203.0.113.8", sensor="sensor-b").connect().close()
    stats = ingest(engine, [str(write(tmp_path / "a.json", lines(a.events + b.events + other.events)))])
    assert (stats.sessions_mixed_sensors, stats.mixed_sensor_examples) == (1, ["c0ffee000001"])
    assert stats.as_dict()["sessions_mixed_sensors"] == 1  # in the JSON summary too
    # nothing is dropped: the one summary holds both sensors' events, as stored
    assert summary(engine, "c0ffee000001")["event_count"] == len(a.events) + len(b.events)


def test_a_collision_across_runs_is_reported_by_the_run_that_meets_it(engine: Engine, tmp_path: Path) -> None:
    a, b = _two_sensors_one_id("c0ffee000003")
    first = ingest(engine, [str(write(tmp_path / "a.json", lines(a.events)))])
    second = ingest(engine, [str(write(tmp_path / "b.json", lines(b.events)))])
    assert (first.sessions_mixed_sensors, second.sessions_mixed_sensors) == (0, 1)
    assert second.mixed_sensor_examples == ["c0ffee000003"]


def test_one_sensor_per_session_reports_nothing(engine: Engine, tmp_path: Path) -> None:
    a = Session("c0ffee000004", sensor="sensor-a").connect().close()
    b = Session("c0ffee000005", sensor="sensor-b").connect().close()
    stats = ingest(engine, [str(write(tmp_path / "a.json", lines(a.events + b.events)))])
    assert (stats.sessions_mixed_sensors, stats.mixed_sensor_examples) == (0, [])
