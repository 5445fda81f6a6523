"""compare_database finds every difference between stored rows and a scenario record (no honeypot needed)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from cowrieprocessor.storage.models import (
    AuthAttempt,
    CommandRecord,
    FileTransfer,
    IPInventory,
    SessionSummary,
    SSHKey,
)
from tests.e2e.compare import compare_database
from tests.e2e.scenario import Attempt, ScenarioRecord, SessionRecord, Transfer, cowrie_logged, new_key

T0 = dt.datetime(2025, 2, 25, 12, 0, tzinfo=dt.UTC)


def _record() -> ScenarioRecord:
    _, planted = new_key("ed25519", "p")
    _, offered = new_key("ecdsa", "o")
    shell = SessionRecord("shell", "ssh", "127.0.0.12", 40001)
    shell.attempts = [Attempt("root", "123456", None, False), Attempt("root", "pä\\ss", None, True)]
    shell.commands = ["uname -a", "frobnicate"]
    shell.unknown_commands = ["frobnicate"]
    shell.keys_planted = [planted]
    shell.transfers = [Transfer("download", "redirect", "/tmp/x", "ab" * 32, 3)]
    key = SessionRecord("key", "ssh", "127.0.0.13", 40002)
    key.attempts = [Attempt("root", None, offered.sha256, False)]
    key.keys_offered = [offered]
    return ScenarioRecord("e2e-sensor", 2222, 2223, [shell, key])


def _store(engine: Engine, record: ScenarioRecord) -> None:
    uid = (f"{n:032x}" for n in itertools.count(1))

    def event(sid: str, seconds: int = 0) -> dict[str, Any]:
        """The columns every event row of a session has (a new ``event_uid`` each)."""
        return {"event_uid": next(uid), "session_id": sid, "event_time": T0 + dt.timedelta(seconds=seconds)}

    with Session(engine) as db:
        for i, rec in enumerate(record.sessions):
            sid = f"{i:012x}"
            db.add(IPInventory(ip_address=rec.src_ip))  # session_summaries.source_ip references it
            db.flush()
            logged = [cowrie_logged(a.password) for a in rec.attempts if a.password is not None]
            key = (rec.keys_planted or rec.keys_offered)[0]
            db.add(
                SessionSummary(
                    session_id=sid,
                    sensor=record.sensor,
                    protocol=rec.protocol,
                    source_ip=rec.src_ip,
                    source_port=rec.src_port,
                    destination_port=record.ssh_port,
                    first_event_at=T0,
                    last_event_at=T0,
                    duration_ms=10,
                    client_version="SSH-2.0-paramiko_5.1.0",
                    hassh="a" * 32,
                    login_attempts=len(rec.attempts),
                    login_failures=sum(not a.success for a in rec.attempts),
                    login_success=rec.login_success,
                    login_username=rec.login_username,
                    password_hash=hashlib.sha256(logged[-1].encode()).hexdigest() if logged else None,
                    command_count=len(rec.commands),
                    file_downloads=len(rec.transfers),
                    file_uploads=0,
                    ssh_key_fingerprint=key.sha256,
                )
            )
            db.flush()
            for n, a in enumerate(rec.attempts):
                db.add(
                    AuthAttempt(
                        **event(sid, n),
                        username=a.username,
                        password=None if a.password is None else cowrie_logged(a.password),
                        success=a.success,
                        key_fingerprint=rec.keys_offered[0].md5 if a.key_sha256 else None,
                    )
                )
            for n, c in enumerate(rec.commands):
                db.add(
                    CommandRecord(
                        **event(sid),
                        sequence=n,
                        input=c,
                        known=c not in rec.unknown_commands,
                    )
                )
            for t in rec.transfers:
                db.add(
                    FileTransfer(
                        **event(sid),
                        direction=t.direction,
                        outcome="ok",
                        shasum=t.sha256,
                        destfile=t.path,
                    )
                )
            for k, how in [*((k, "planted") for k in rec.keys_planted), *((k, "offered") for k in rec.keys_offered)]:
                db.add(
                    SSHKey(
                        **event(sid),
                        key_type=k.key_type,
                        key_data=k.public_line.split()[1],
                        fingerprint_sha256=k.sha256,
                        how_seen=how,
                    )
                )
        db.commit()


def test_matching_rows_compare_clean_and_each_difference_is_reported(engine: Engine) -> None:
    record = _record()
    assert len(compare_database(engine, record)) == 2  # nothing stored: one problem per session

    _store(engine, record)
    assert compare_database(engine, record) == []

    with Session(engine) as db:
        db.execute(update(SessionSummary).where(SessionSummary.source_ip == "127.0.0.12").values(login_failures=2))
        db.execute(update(CommandRecord).where(CommandRecord.input == "frobnicate").values(known=True))
        db.commit()
    problems = compare_database(engine, record)
    assert len(problems) == 2
    assert "login_failures = 2, expected 1" in problems[0]
    assert "commands" in problems[1]
