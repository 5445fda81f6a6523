"""The real honeypot logs exactly what the clients did, with Cowrie 3.1.4's eventids and fields."""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from cowrieprocessor.synthetic import generate
from tests.e2e.conftest import CowrieRun
from tests.e2e.scenario import SessionRecord, cowrie_logged, new_key

pytestmark = pytest.mark.e2e

COMMON = {
    "eventid",
    "message",
    "sensor",
    "uuid",
    "timestamp",
    "session",
    "protocol",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
}


def _events(run: CowrieRun) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run.json_bytes.splitlines() if line.strip()]


def _by_ip(run: CowrieRun) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in _events(run):
        out[event["src_ip"]].append(event)
    return out


def _of(events: list[dict[str, Any]], eventid: str) -> list[dict[str, Any]]:
    return [e for e in events if e["eventid"] == eventid]


def _session(run: CowrieRun, name: str) -> tuple[SessionRecord, list[dict[str, Any]]]:
    rec = next(s for s in run.record.sessions if s.name == name)
    return rec, _by_ip(run)[rec.src_ip]


def test_every_line_is_compact_json_with_the_common_fields(cowrie_run: CowrieRun) -> None:
    lines = [line for line in cowrie_run.json_bytes.split(b"\n") if line]
    assert len(lines) > 40
    for line in lines:
        event = json.loads(line)
        assert json.dumps(event, separators=(",", ":")).encode() == line  # compact, key order kept
        assert COMMON <= event.keys(), event
        assert event["sensor"] == cowrie_run.record.sensor
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", event["timestamp"])
        assert re.fullmatch(r"[0-9a-f]{12}", event["session"])


def test_each_driven_connection_is_one_session(cowrie_run: CowrieRun) -> None:
    by_ip = _by_ip(cowrie_run)
    assert set(by_ip) == {s.src_ip for s in cowrie_run.record.sessions}
    for rec in cowrie_run.record.sessions:
        events = by_ip[rec.src_ip]
        assert len({e["session"] for e in events}) == 1, rec.name
        assert {e["protocol"] for e in events} == {rec.protocol}
        assert {e["src_port"] for e in events} == {rec.src_port}
        port = cowrie_run.record.ssh_port if rec.protocol == "ssh" else cowrie_run.record.telnet_port
        assert {e["dst_port"] for e in events} == {port}
        assert next(e["eventid"] for e in events) == "cowrie.session.connect"
        closed = _of(events, "cowrie.session.closed")
        assert len(closed) == 1 and isinstance(closed[0]["duration_ms"], int)
        assert "duration" not in closed[0]  # 3.1.4 logs milliseconds, not the old float seconds


def test_failed_password_logins(cowrie_run: CowrieRun) -> None:
    rec, events = _session(cowrie_run, "failed-passwords")
    failed = _of(events, "cowrie.login.failed")
    assert [(e["username"], e["password"]) for e in failed] == [(a.username, a.password) for a in rec.attempts]
    assert not _of(events, "cowrie.login.success") and not rec.login_success
    (version,) = _of(events, "cowrie.client.version")
    assert version["version"].startswith("SSH-2.0-paramiko")
    (kex,) = _of(events, "cowrie.client.kex")
    assert re.fullmatch(r"[0-9a-f]{32}", kex["hassh"])
    assert {"hasshAlgorithms", "kexAlgs", "keyAlgs", "encCS", "macCS", "compCS", "langCS"} <= kex.keys()


def test_interactive_shell_with_unusual_password_plant_redirect_and_unknown(cowrie_run: CowrieRun) -> None:
    rec, events = _session(cowrie_run, "interactive-shell")
    (success,) = _of(events, "cowrie.login.success")
    assert success["username"] == "root"
    assert success["password"] == cowrie_logged(rec.attempts[0].password or "")
    assert success["password"] != rec.attempts[0].password  # Cowrie escapes non-printable bytes
    assert [e["input"] for e in _of(events, "cowrie.command.input")] == rec.commands
    assert [e["input"].rstrip() for e in _of(events, "cowrie.command.failed")] == rec.unknown_commands
    (planted,) = rec.keys_planted
    key_b64 = planted.public_line.split()[1]
    assert any(key_b64 in e["input"] and "authorized_keys" in e["input"] for e in _of(events, "cowrie.command.input"))
    downloads = _of(events, "cowrie.session.file_download")
    expected = {(t.path, t.sha256) for t in rec.transfers if t.direction == "download"}
    assert {(e["destfile"], e["shasum"]) for e in downloads} == expected
    assert all("url" not in e and e["outfile"].endswith(e["shasum"]) for e in downloads)
    assert not _of(events, "cowrie.session.file_upload")
    assert _of(events, "cowrie.session.params")[0]["arch"]
    (log_closed,) = _of(events, "cowrie.log.closed")
    assert {"ttylog", "size", "shasum", "duplicate", "duration_ms"} <= log_closed.keys()


def test_public_key_attempt(cowrie_run: CowrieRun) -> None:
    rec, events = _session(cowrie_run, "public-key")
    (key,) = rec.keys_offered
    (fp,) = _of(events, "cowrie.client.fingerprint")
    (failed,) = _of(events, "cowrie.login.failed")
    for event in (fp, failed):
        assert event["fingerprint"] == key.md5  # Cowrie logs MD5; the SHA256 form is derived from `key`
        assert event["key"] == " ".join(key.public_line.split()[:2])  # comment is not sent over SSH
        assert event["type"] == key.key_type == "ecdsa-sha2-nistp256"
        assert event["username"] == "root"
    assert "password" not in failed
    assert not _of(events, "cowrie.login.success")


def test_exec_command(cowrie_run: CowrieRun) -> None:
    rec, events = _session(cowrie_run, "exec")
    (success,) = _of(events, "cowrie.login.success")
    assert (success["username"], success["password"]) == ("root", "toor")
    assert [e["input"] for e in _of(events, "cowrie.command.input")] == rec.commands
    assert not _of(events, "cowrie.command.failed")


def test_sftp_upload(cowrie_run: CowrieRun) -> None:
    rec, events = _session(cowrie_run, "sftp-upload")
    (transfer,) = rec.transfers
    (upload,) = _of(events, "cowrie.session.file_upload")
    assert upload["shasum"] == transfer.sha256
    assert upload["filename"] == os.path.basename(transfer.path)
    assert upload["outfile"].endswith(transfer.sha256)
    assert "destfile" not in upload  # SFTP shape; SCP adds destfile/duplicate/url
    assert not _of(events, "cowrie.session.file_download")
    downloaded = cowrie_run.honeypot.download_dir / transfer.sha256
    assert downloaded.stat().st_size == transfer.size


def test_telnet_login_and_commands(cowrie_run: CowrieRun) -> None:
    rec, events = _session(cowrie_run, "telnet")
    assert not _of(events, "cowrie.client.version") and not _of(events, "cowrie.client.kex")
    options = _of(events, "cowrie.telnet.option")
    assert options and all({"command", "option_byte", "option_name"} <= e.keys() for e in options)
    (success,) = _of(events, "cowrie.login.success")
    assert (success["username"], success["password"]) == ("root", "vizxv")
    assert [e["input"] for e in _of(events, "cowrie.command.input")] == rec.commands
    assert [e["input"] for e in _of(events, "cowrie.command.failed")] == [c + " " for c in rec.unknown_commands]


def test_record_fingerprints_are_openssh_sha256(cowrie_run: CowrieRun) -> None:
    keys = [k for s in cowrie_run.record.sessions for k in (*s.keys_offered, *s.keys_planted)]
    assert len(keys) == 2
    for key in keys:
        assert re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}", key.sha256)
        assert re.fullmatch(r"([0-9a-f]{2}:){15}[0-9a-f]{2}", key.md5)


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa"])
def test_fingerprint_helper_agrees_with_paramiko(kind: str) -> None:
    pkey, info = new_key(kind, "c")
    assert info.sha256 == pkey.fingerprint  # paramiko's own OpenSSH-style SHA256 fingerprint
    assert info.md5 == ":".join(f"{b:02x}" for b in pkey.get_fingerprint())


def test_synthetic_generator_writes_the_shapes_real_cowrie_writes(cowrie_run: CowrieRun, tmp_path: Path) -> None:
    """Every event shape (key order) the generator emits for an eventid seen here is one Cowrie wrote."""
    real: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for event in _events(cowrie_run):
        real[event["eventid"]].add(tuple(event))
    result = generate(tmp_path, sessions=3000, seed=1)
    generated: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for path in result.files:
        for line in path.read_bytes().splitlines():
            event = json.loads(line)
            generated[event["eventid"]].add(tuple(event))
    not_driven = {("cowrie.session.file_download", "url")}  # wget shape: Cowrie blocks loopback fetches
    compared = 0
    for eventid, shapes in generated.items():
        if eventid not in real:
            continue
        for shape in shapes:
            if (eventid, shape[6]) in not_driven:
                continue
            assert shape in real[eventid], (eventid, shape, real[eventid])
            compared += 1
    assert compared >= 12
