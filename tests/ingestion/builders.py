"""Small Cowrie 3.1.4-shaped logs for ingestion tests (field names and shapes as in cowrie-events.md)."""

from __future__ import annotations

import base64
import bz2
import datetime as dt
import gzip
import json
import struct
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text

from cowrieprocessor.storage.models import SessionSummary

T0 = dt.datetime(2025, 2, 25, 23, 59, 0, tzinfo=dt.UTC)


def ts(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ssh_key_line(seed: int, comment: str = "attacker@box") -> tuple[str, bytes]:
    """An ed25519 public-key line with a deterministic 32-byte key, and its decoded blob."""
    kt = b"ssh-ed25519"
    blob = struct.pack(">I", len(kt)) + kt + struct.pack(">I", 32) + bytes((seed + i) % 256 for i in range(32))
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}", blob


class Session:
    """Builds the events of one session, in Cowrie's order, with increasing timestamps."""

    def __init__(
        self, sid: str, src_ip: str = "203.0.113.7", *, protocol: str = "ssh", sensor: str = "sensor-a",
        start: float = 0.0, src_port: int = 40000, dst_port: int = 22,
    ) -> None:  # fmt: skip
        self.sid, self.src_ip, self.protocol, self.sensor = sid, src_ip, protocol, sensor
        self.src_port, self.dst_port = src_port, dst_port
        self.t = start
        self.events: list[dict[str, Any]] = []

    def ev(self, eventid: str, **fields: Any) -> Session:
        self.t += 0.5
        event: dict[str, Any] = {
            "session": self.sid, "protocol": self.protocol, "src_ip": self.src_ip, "src_port": self.src_port,
            "dst_ip": "192.0.2.1", "dst_port": self.dst_port,
        }  # fmt: skip
        event.update(fields)
        event.update(
            eventid=eventid, message=f"{eventid} message", sensor=self.sensor,
            uuid="6a7e3e2c-0000-0000-0000-000000000000", timestamp=ts(self.t),
        )  # fmt: skip
        self.events.append(event)
        return self

    def connect(self) -> Session:
        return self.ev("cowrie.session.connect")

    def version(self, v: str = "SSH-2.0-Go") -> Session:
        return self.ev("cowrie.client.version", version=v).ev(
            "cowrie.client.kex", hassh="ec7378c1a92f5a8dde7e8b7a1ddf33d1", hasshAlgorithms="x"
        )

    def fail(self, user: str, password: str) -> Session:
        return self.ev("cowrie.login.failed", username=user, password=password)

    def login(self, user: str, password: str) -> Session:
        return self.ev("cowrie.login.success", username=user, password=password)

    def offer_key(self, key_line: str, user: str = "root") -> Session:
        self.ev("cowrie.client.fingerprint", username=user, fingerprint="aa:bb", key=key_line, type="ssh-ed25519")
        return self.ev("cowrie.login.failed", username=user, fingerprint="aa:bb", key=key_line, type="ssh-ed25519")

    def cmd(self, line: str, *, failed: str | None = None) -> Session:
        self.ev("cowrie.command.input", input=line)
        if failed is not None:
            self.ev("cowrie.command.failed", input=failed)
        return self

    def download(self, url: str, shasum: str = "a" * 64) -> Session:
        return self.ev(
            "cowrie.session.file_download", url=url, outfile=f"var/lib/cowrie/downloads/{shasum}",
            shasum=shasum, duplicate=False,
        )  # fmt: skip

    def download_failed(self, url: str) -> Session:
        return self.ev("cowrie.session.file_download.failed", url=url)

    def upload(self, filename: str, shasum: str = "b" * 64) -> Session:
        return self.ev("cowrie.session.file_upload", filename=filename, outfile=f"dl/{shasum}", shasum=shasum)

    def close(self, duration_ms: int = 4321) -> Session:
        return self.ev("cowrie.session.closed", duration_ms=duration_ms)


def lines(events: list[dict[str, Any]]) -> bytes:
    """Cowrie's serialisation: compact JSON, one object per line."""
    return b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events)


def write(path: Path, data: bytes, compression: str = "none") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if compression == "gzip":
        data = gzip.compress(data)
    elif compression == "bzip2":
        data = bz2.compress(data)
    path.write_bytes(data)
    return path


def summary(engine: Engine, sid: str) -> dict[str, Any]:
    table = SessionSummary.__table__
    with engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.session_id == sid)).mappings().one()
    return dict(row)


def summaries(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every session's summary, without the bookkeeping timestamps (for before/after comparisons)."""
    with engine.connect() as conn:
        rows = conn.execute(select(SessionSummary.__table__)).mappings().all()
    ignore = {"created_at", "updated_at"}
    return {r["session_id"]: {k: v for k, v in r.items() if k not in ignore} for r in rows}


def table_rows(engine: Engine, model: Any, *columns: str) -> list[tuple[Any, ...]]:
    table = model.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(*(table.c[c] for c in columns))).all()
    return sorted((tuple(r) for r in rows), key=repr)


def counts(engine: Engine) -> dict[str, int]:
    names = ("raw_events", "session_summaries", "auth_attempts", "commands", "file_transfers", "ssh_keys",
             "dead_letters", "ip_inventory")  # fmt: skip
    return {n: count(engine, n) for n in names}


def count(engine: Engine, table: str, where: str = "1=1") -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE {where}")).scalar_one())


def dead_letters(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM dead_letters ORDER BY id")).mappings().all()
    return [dict(r) for r in rows]
