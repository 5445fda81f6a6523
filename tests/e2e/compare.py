"""Compare what the ingester stored with what the e2e clients did (for the ingestion e2e test).

Usage, once ``cowrieprocessor ingest`` exists::

    log = save_log(cowrie_run, tmp_path)            # a copy of the honeypot's cowrie.json
    <ingest log into db_url>
    assert compare_database(engine, cowrie_run.record) == []

Every mismatch is returned as one readable line, so a failing test shows all of them at once.
Expectations follow docs of the issue: ``password_hash`` is the SHA-256 (hex) of the password *as Cowrie
logged it* (the ingester never sees the client's bytes) for the successful login, else the last one tried;
``ssh_key_fingerprint`` is the planted key's OpenSSH SHA256 fingerprint, else the offered key's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cowrieprocessor.storage.models import AuthAttempt, CommandRecord, FileTransfer, SessionSummary, SSHKey
from tests.e2e.conftest import CowrieRun
from tests.e2e.scenario import ScenarioRecord, SessionRecord, cowrie_logged


def save_log(run: CowrieRun, directory: Path) -> Path:
    """Write the run's ``cowrie.json`` bytes into ``directory`` and return the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "cowrie.json"
    path.write_bytes(run.json_bytes)
    return path


def expected_summary(rec: SessionRecord, record: ScenarioRecord) -> dict[str, Any]:
    """The ``session_summaries`` values a correct ingester derives for one driven session."""
    passwords = [a for a in rec.attempts if a.password is not None]
    chosen = next((a for a in rec.attempts if a.success), passwords[-1] if passwords else None)
    password_hash = (
        hashlib.sha256(cowrie_logged(chosen.password).encode()).hexdigest()
        if chosen is not None and chosen.password is not None
        else None
    )
    keys = rec.keys_planted or rec.keys_offered
    key = keys[0] if keys else None
    return {
        "sensor": record.sensor,
        "protocol": rec.protocol,
        "source_port": rec.src_port,
        "destination_port": record.ssh_port if rec.protocol == "ssh" else record.telnet_port,
        "login_attempts": len(rec.attempts),
        "login_failures": sum(not a.success for a in rec.attempts),
        "login_success": rec.login_success,
        "login_username": rec.login_username,
        "password_hash": password_hash,
        "command_count": len(rec.commands),
        "file_downloads": sum(t.direction == "download" for t in rec.transfers),
        "file_uploads": sum(t.direction == "upload" for t in rec.transfers),
        "ssh_key_fingerprint": key.sha256 if key else None,
    }


def _compare_session(db: Session, rec: SessionRecord, record: ScenarioRecord) -> list[str]:
    where = f"{rec.name} ({rec.src_ip})"
    rows = db.scalars(select(SessionSummary).where(SessionSummary.source_ip == rec.src_ip)).all()
    if len(rows) != 1:
        return [f"{where}: expected 1 session_summaries row, found {len(rows)}"]
    row = rows[0]
    problems = [
        f"{where}: {column} = {getattr(row, column)!r}, expected {want!r}"
        for column, want in expected_summary(rec, record).items()
        if getattr(row, column) != want
    ]
    if rec.protocol == "ssh":
        if not (row.client_version or "").startswith("SSH-2.0-paramiko"):
            problems.append(f"{where}: client_version = {row.client_version!r}")
        if not row.hassh or len(row.hassh) != 32:
            problems.append(f"{where}: hassh = {row.hassh!r}")
    if row.duration_ms is None or row.duration_ms < 0:
        problems.append(f"{where}: duration_ms = {row.duration_ms!r}")
    sid = row.session_id

    auths = db.scalars(select(AuthAttempt).where(AuthAttempt.session_id == sid).order_by(AuthAttempt.event_time))
    got_auth = [(a.username, a.password, a.success, a.key_fingerprint) for a in auths]
    want_auth = [
        (a.username, None if a.password is None else cowrie_logged(a.password), a.success, a.key_sha256)
        for a in rec.attempts
    ]
    # A password attempt has no key; a key attempt's fingerprint may be stored as SHA256 or Cowrie's MD5.
    md5_of = {k.sha256: k.md5 for k in rec.keys_offered}
    if len(got_auth) != len(want_auth) or any(
        g[:3] != w[:3] or g[3] not in ({w[3], md5_of.get(w[3] or "")} if w[3] else {None})
        for g, w in zip(got_auth, want_auth, strict=False)
    ):
        problems.append(f"{where}: auth_attempts {got_auth!r}, expected {want_auth!r}")

    cmds = db.scalars(select(CommandRecord).where(CommandRecord.session_id == sid).order_by(CommandRecord.sequence))
    got_cmd = [(c.input, c.known) for c in cmds]
    want_cmd = [(c, c not in rec.unknown_commands) for c in rec.commands]
    if got_cmd != want_cmd:
        problems.append(f"{where}: commands {got_cmd!r}, expected {want_cmd!r}")

    files = db.scalars(select(FileTransfer).where(FileTransfer.session_id == sid))
    got_files = sorted((f.direction, f.shasum or "", f.destfile or f.filename or "") for f in files)
    want_files = sorted(
        (t.direction, t.sha256, t.path if t.method == "redirect" else Path(t.path).name) for t in rec.transfers
    )
    if got_files != want_files:
        problems.append(f"{where}: file_transfers {got_files!r}, expected {want_files!r}")

    keys = db.scalars(select(SSHKey).where(SSHKey.session_id == sid))
    got_keys = sorted(k.fingerprint_sha256 for k in keys)
    want_keys = sorted(k.sha256 for k in (*rec.keys_offered, *rec.keys_planted))
    # Cowrie logs an offered key twice (client.fingerprint + login.failed): one row or two are both fine.
    if sorted(set(got_keys)) != want_keys:
        problems.append(f"{where}: ssh_keys {got_keys!r}, expected {want_keys!r}")
    return problems


def compare_database(engine: Engine, record: ScenarioRecord) -> list[str]:
    """Every difference between the database and the scenario record; ``[]`` means they agree."""
    with Session(engine) as db:
        problems = [p for rec in record.sessions for p in _compare_session(db, rec, record)]
        total = db.scalars(select(SessionSummary.source_ip)).all()
        extra = sorted({str(ip) for ip in total} - {s.src_ip for s in record.sessions})
        if extra:
            problems.append(f"sessions from unexpected source IPs: {extra}")
    return problems
