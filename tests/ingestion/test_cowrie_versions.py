"""Field shapes of older Cowrie versions, and values no Cowrie writes, on both backends (issue #20).

Lines are written here in each version's shape (see docs/cowrie-versions.md); the real logs of those
versions are compared session by session in tests/realdata.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from cowrieprocessor.ingestion import fields, ingest
from cowrieprocessor.storage.models import RawEvent, SessionSummary


def _line(sid: str, eventid: str, second: int, **extra: Any) -> str:
    event = {"eventid": eventid, "session": sid, "src_ip": "198.51.100.9", "sensor": "old",
             "timestamp": f"2017-03-01T00:00:{second:02d}.000000Z", **extra}  # fmt: skip
    return json.dumps(event)


def _session(sid: str, closed: str) -> list[str]:
    """A connect and a ``cowrie.session.closed`` whose JSON text after ``"eventid"...`` is ``closed``."""
    connect = _line(sid, "cowrie.session.connect", 1, src_port=4242, dst_ip="10.0.0.1", dst_port=22)
    close = _line(sid, "cowrie.session.closed", 9)
    return [connect, close[:-1] + ", " + closed + "}"]


DURATIONS = {
    "float-1x": ('"duration": 20.7', 20_700),
    "string-27": ('"duration": "20.7"', 20_700),
    "ms-304": ('"duration_ms": 20700', 20_700),
    "zero": ('"duration": "0.0"', 0),
    "inf": ('"duration": 1e999', None),
    "huge-secs": ('"duration": 1e17', None),
    "huge-1e300": ('"duration": 1e300', None),
    "ms-2-64": ('"duration_ms": 18446744073709551615', None),
    "ms-huge": ('"duration_ms": 1e17', None),
    "nan-text": ('"duration": "nan"', None),
    "inf-text": ('"duration": "Infinity"', None),
    "negative": ('"duration": -3', None),
    "word": ('"duration": "long"', None),
    "bool": ('"duration_ms": true', None),
}


def test_every_duration_shape_and_no_absurd_one(engine: Engine, tmp_path: Path) -> None:
    log = tmp_path / "cowrie.json"
    log.write_text("\n".join(line for sid, (text, _) in DURATIONS.items() for line in _session(sid, text)) + "\n")
    stats = ingest(engine, [str(log)])
    assert (stats.events_new, stats.dead_letters) == (2 * len(DURATIONS), 0)  # kept, not dead letters
    with engine.connect() as conn:
        got = dict(conn.execute(select(SessionSummary.session_id, SessionSummary.duration_ms)).all())
        stored = conn.execute(select(func.count()).select_from(RawEvent)).scalar_one()
    assert got == {sid: ms for sid, (_, ms) in DURATIONS.items()}
    assert stored == 2 * len(DURATIONS)


def test_protocol_of_logs_without_the_field(engine: Engine, tmp_path: Path) -> None:
    """Cowrie of 2017: no ``protocol``; Twisted's ``system`` names the transport, telnet has its own eventids."""
    lines = [
        _line("ssh1", "cowrie.session.connect", 1, system="cowrie.ssh.factory.CowrieSSHFactory"),
        _line("tel1", "cowrie.session.connect", 1, system="cowrie.telnet.transport.HoneyPotTelnetFactory"),
        _line("tel1", "cowrie.login.failed", 2, system="CowrieTelnetTransport,7,198.51.100.9", username="a"),
        _line("tel2", "cowrie.telnet.option", 1),
        _line("ssh2", "cowrie.client.version", 1, version="SSH-2.0-Go"),
        _line("none", "cowrie.session.closed", 1),
        _line("said", "cowrie.session.connect", 1, protocol="telnet", system="HoneyPotSSHTransport,1,x"),
    ]
    log = tmp_path / "cowrie.json"
    log.write_text("\n".join(lines) + "\n")
    ingest(engine, [str(log)])
    with engine.connect() as conn:
        got = dict(conn.execute(select(SessionSummary.session_id, SessionSummary.protocol)).all())
    # the logged field wins; a session whose events say nothing stays NULL rather than guessed
    assert got == {"ssh1": "ssh", "tel1": "telnet", "tel2": "telnet", "ssh2": "ssh", "none": None, "said": "telnet"}


@pytest.mark.parametrize(
    ("logged", "normalised", "non_ssh"),
    [
        ("SSH-2.0-OpenSSH_7.3", "SSH-2.0-OpenSSH_7.3", False),
        ("b'SSH-2.0-PUTTY'", "SSH-2.0-PUTTY", False),
        ('b"SSH-2.0-it\'s"', "SSH-2.0-it's", False),
        ("SSH-2.0-Go\r\n\x00", "SSH-2.0-Go", False),
        ("SSH-2.0-Go ", "SSH-2.0-Go", False),
        ("\x16\x03\x01\x00{\x01\x00\x00w\x03\x03r@uF\x7f\\xff", "<TLS ClientHello>", True),
        ("b'\\x16\\x03\\x01\\x02\\x00\\x01'", "<TLS ClientHello>", True),
        ("GET /favicon.ico HTTP/1.1", "GET /favicon.ico HTTP/1.1", True),
        ("MGLNDD_54.196.228.90_22", "MGLNDD_<ip>_22", True),
        ("", None, True),
        ("\x00\x01junk", "\\x01junk", True),
        (None, None, None),
        (17, None, None),
    ],
)
def test_client_version_forms(logged: Any, normalised: str | None, non_ssh: bool | None) -> None:
    assert fields.client_version(logged) == (normalised, non_ssh)


def test_credential_list_hash_is_the_documented_json() -> None:
    pairs: list[tuple[str | None, str]] = [("root", "123456"), ("admin", "ä"), (None, "x")]
    text = '[["root","123456"],["admin","ä"],[null,"x"]]'  # compact JSON, UTF-8, not ASCII-escaped
    assert fields.credential_list_hash(pairs) == hashlib.sha256(text.encode()).hexdigest()
    assert fields.credential_list_hash([]) is None
    lone = '[["\ud800","x"]]'  # a lone surrogate (JSON allows it): hashed as its UTF-8 surrogatepass bytes
    assert (
        fields.credential_list_hash([("\ud800", "x")])
        == hashlib.sha256(lone.encode("utf-8", "surrogatepass")).hexdigest()
    )
