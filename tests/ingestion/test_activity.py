"""Port forwarding, exploit attempts and transfer methods: first-class rows and session counters."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cowrieprocessor.ingestion import ingest
from cowrieprocessor.ingestion.activity import payload_size, transfer_method
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.models import ExploitAttempt, FileTransfer, PortForward
from tests.ingestion.activity_builders import GET, dropper, proxy_user, telnet_bypass
from tests.ingestion.builders import count, lines, summary, table_rows, write


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (GET, 37),
        ("'GET / HTTP/1.0\\r\\nHost: google.com\\r\\n\\r\\n'", 36),  # Cowrie 1.x: repr of a str
        ("b'\\x00\\xff'", 2),
        ("not a literal", 13),
        ("b'unterminated", 14),
        (None, None),
    ],
)
def test_payload_size(data: str | None, size: int | None) -> None:
    assert payload_size(data) == size


@pytest.mark.parametrize(
    ("eventid", "data", "method"),
    [
        ("cowrie.session.file_download", {"url": "http://h/x", "outfile": "o", "shasum": "a"}, "fetch"),
        ("cowrie.session.file_download", {"destfile": "/tmp/x", "outfile": "o"}, "redirect"),
        ("cowrie.session.file_download", {"destfile": "", "outfile": "o"}, "stdin"),
        ("cowrie.session.file_download", {"outfile": "o"}, None),
        ("cowrie.session.file_download.failed", {"url": "http://h/x"}, "fetch"),
        ("cowrie.session.file_upload", {"filename": "f", "outfile": "o"}, "sftp"),
        ("cowrie.session.file_upload", {"filename": "f", "destfile": "/root/f", "url": "/root/f"}, "scp"),
        ("cowrie.command.input", {"url": "http://h/x"}, None),
    ],
)
def test_transfer_method(eventid: str, data: dict[str, str], method: str | None) -> None:
    assert transfer_method(eventid, data) == method


def test_forwards_exploits_and_methods_are_stored_and_counted(engine: Engine, tmp_path: Path) -> None:
    sessions = [proxy_user(), telnet_bypass(), dropper()]
    path = write(tmp_path / "cowrie.json", lines([e for s in sessions for e in s.events]))
    ingest(engine, [str(path)])

    proxy = summary(engine, "f0f0f0f0f0f0")
    assert (proxy["forward_requests"], proxy["forward_bytes"]) == (2, 37)
    assert (proxy["exploit_attempts"], proxy["exploit_success"]) == (0, False)
    # the session's own destination is the honeypot's, not a forwarding target
    assert (proxy["destination_ip"], proxy["destination_port"]) == ("192.0.2.1", 22)
    columns = ("kind", "destination", "destination_port", "origin_port", "payload_bytes")
    forwards = table_rows(engine, PortForward, *columns)
    assert forwards == sorted(
        [("request", "93.184.216.34", 80, 5555, None), ("data", "93.184.216.34", 80, None, 37),
         ("request", "mail.example.org", 25, 5556, None)], key=repr,
    )  # fmt: skip
    (payload,) = [r[0] for r in table_rows(engine, PortForward, "payload") if r[0] is not None]
    assert payload == GET

    bypass = summary(engine, "e1e1e1e1e1e1")
    assert (bypass["exploit_attempts"], bypass["exploit_success"], bypass["forward_requests"]) == (1, True, 0)
    exploits = table_rows(engine, ExploitAttempt, "outcome", "cve", "name", "value", "username", "attempted_command")
    assert exploits == [
        ("attempt", "CVE-2026-24061", "USER", "-f root", None, None),
        ("success", "CVE-2026-24061", None, None, "root", "uname -a"),
    ]

    transfers = table_rows(engine, FileTransfer, "direction", "outcome", "method", "url", "destfile")
    assert transfers == sorted(
        [("download", "success", "fetch", "http://203.0.113.9/x.sh", None),
         ("download", "success", "redirect", None, "/tmp/.x"),
         ("download", "success", "stdin", None, ""),  # an empty destfile stays empty, not missing
         ("download", "failed", "fetch", "http://203.0.113.9/y.sh", None),
         ("upload", "success", "sftp", None, None)], key=repr,
    )  # fmt: skip


def test_counts_are_incremental_and_idempotent(engine: Engine, tmp_path: Path) -> None:
    """A session split across two files and runs (the second run re-reads it from the database), then
    every file read again: the counters cover the whole session once."""
    events = proxy_user().events
    more = proxy_user().events[-1:]  # same shape, later: one more request in the same session
    more[0]["timestamp"] = "2025-02-26T00:10:00.000000Z"
    more[0]["dst_port"] = 443
    first = write(tmp_path / "cowrie.json.1", lines(events[:5]))
    second = write(tmp_path / "cowrie.json", lines(events[5:] + more))
    ingest(engine, [str(first)])
    assert summary(engine, "f0f0f0f0f0f0")["forward_requests"] == 1
    ingest(engine, [str(second)], batch_events=2)
    ingest(engine, [str(first), str(second)])
    row = summary(engine, "f0f0f0f0f0f0")
    assert (row["forward_requests"], row["forward_bytes"]) == (3, 37)
    assert count(engine, "port_forwards") == 4


def test_upgrade_backfills_from_raw_events(engine: Engine, tmp_path: Path) -> None:
    """A database that had these events before v21: downgrade (drops the rows), upgrade (rebuilds them)."""
    sessions = [proxy_user(), telnet_bypass(), dropper()]
    ingest(engine, [str(write(tmp_path / "cowrie.json", lines([e for s in sessions for e in s.events])))])
    columns = ("kind", "destination", "destination_port", "payload", "payload_bytes", "event_uid", "session_id")
    before = (
        table_rows(engine, PortForward, *columns),
        table_rows(engine, ExploitAttempt, "event_uid", "outcome", "cve", "value"),
        table_rows(engine, FileTransfer, "event_uid", "method", "destfile"),
        [summary(engine, s.sid) for s in sessions],
    )
    schema.downgrade(engine, "v20")
    with engine.connect() as conn:
        assert "method" not in {c[1] for c in conn.execute(text("SELECT * FROM file_transfers")).cursor.description}
    schema.upgrade(engine)
    after = (
        table_rows(engine, PortForward, *columns),
        table_rows(engine, ExploitAttempt, "event_uid", "outcome", "cve", "value"),
        table_rows(engine, FileTransfer, "event_uid", "method", "destfile"),
        [summary(engine, s.sid) for s in sessions],
    )
    ignore = {"updated_at"}
    strip = [{k: v for k, v in row.items() if k not in ignore} for row in after[3]]
    assert after[:3] == before[:3]
    assert strip == [{k: v for k, v in row.items() if k not in ignore} for row in before[3]]
    assert before[0] and before[1]
