"""v19 fills its new columns for sessions ingested before it, and what older readers left NULL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from cowrieprocessor.ingestion import ingest
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.models import SessionSummary

COLUMNS = (
    "source_port", "protocol", "duration_ms", "client_version_normalised", "client_non_ssh", "credential_list_hash",
)  # fmt: skip


def _line(sid: str, eventid: str, second: int, **extra: Any) -> str:
    event = {"eventid": eventid, "session": sid, "src_ip": "198.51.100.9", "sensor": "old",
             "timestamp": f"2020-05-21T00:00:{second:02d}.000000Z", **extra}  # fmt: skip
    return json.dumps(event)


LINES = [
    _line("s1", "cowrie.session.connect", 1, src_port=5000, dst_ip="10.0.0.1", dst_port=22),
    _line("s1", "cowrie.client.version", 2, version="b'SSH-2.0-PUTTY'", system="HoneyPotSSHTransport,1,x"),
    _line("s1", "cowrie.login.failed", 3, username="root", password="123456"),
    _line("s1", "cowrie.login.success", 4, username="admin", password="admin"),
    _line("s1", "cowrie.session.closed", 5, duration="3.5"),
    _line("s2", "cowrie.session.connect", 1, protocol="telnet"),
    _line("s2", "cowrie.client.version", 2, version="GET / HTTP/1.1"),
    _line("s2", "cowrie.session.closed", 3, duration=1.25),
    # its connect is in a file not ingested: the forward request's port is not its source port
    _line("s3", "cowrie.direct-tcpip.request", 1, src_port=8080, dst_ip="93.184.216.34", dst_port=80),
    _line("s3", "cowrie.session.closed", 2, duration=7.0),
]


def _values(engine: Engine) -> dict[str, tuple[Any, ...]]:
    s = SessionSummary
    with engine.connect() as conn:
        rows = conn.execute(select(s.session_id, *(s.__table__.c[c] for c in COLUMNS))).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_upgrade_fills_the_new_columns_and_what_older_readers_missed(engine: Engine, tmp_path: Path) -> None:
    log = tmp_path / "cowrie.json"
    log.write_text("\n".join(LINES) + "\n")
    ingest(engine, [str(log)])
    want = _values(engine)
    assert want["s1"][:5] == (5000, "ssh", 3500, "SSH-2.0-PUTTY", False) and want["s1"][5] is not None
    assert want["s2"] == (None, "telnet", 1250, "GET / HTTP/1.1", True, None)
    assert want["s3"] == (None, "ssh", 7000, None, None, None)
    schema.downgrade(engine, "v18")
    table = SessionSummary.__table__
    with engine.begin() as conn:  # what the reader before v19 left: no duration for "3.5", no inferred protocol
        conn.execute(update(table).values(duration_ms=None, protocol=None).where(table.c.session_id == "s1"))
        conn.execute(update(table).values(source_port=8080, protocol=None).where(table.c.session_id == "s3"))
    schema.upgrade(engine)
    assert _values(engine) == want
