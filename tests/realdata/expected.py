"""Each session's summary recomputed from the raw JSON of the real logs, by code written for the tests only.

Nothing here imports the ingester: the rules are written again from the Cowrie log formats (see
``docs/cowrie-versions.md``), so a mistake in the ingester shows up as a difference rather than being
copied into the expectation.
"""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import hashlib
import ipaddress
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

YEAR_MS = 366 * 86_400_000
FORWARDING = ("cowrie.direct-tcpip.", "cowrie.tunnelproxy-tcpip.")
SSH_ONLY = ("cowrie.client.version", "cowrie.client.kex", "cowrie.client.fingerprint", "cowrie.direct-tcpip.")


@dataclass(frozen=True)
class Line:
    raw: bytes
    data: dict[str, Any]
    time: dt.datetime
    order: tuple[int, int]  # (file, line): a stable tie-break


def log_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and ".json" in p.name)


def read_lines(files: list[Path]) -> dict[str, list[Line]]:
    """Distinct lines per session (the same bytes twice are one event)."""
    sessions: dict[str, dict[bytes, Line]] = defaultdict(dict)
    for f_no, path in enumerate(files):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            for l_no, raw in enumerate(handle):
                raw = raw.rstrip(b"\n")
                data = json.loads(raw)
                when = dt.datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00")).astimezone(dt.UTC)
                sessions[data["session"]].setdefault(raw, Line(raw, data, when, (f_no, l_no)))
    return {sid: sorted(lines.values(), key=lambda x: (x.time, x.order)) for sid, lines in sessions.items()}


def _ip(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _int_port(value: Any) -> int | None:
    return value if type(value) is int and 0 <= value <= 65535 else None


def duration_ms(data: dict[str, Any]) -> int | None:
    for key, scale in (("duration_ms", 1), ("duration", 1000)):
        value = data.get(key)
        if type(value) is str:
            try:
                value = float(value)
            except ValueError:
                continue
        if type(value) in (int, float):
            ms = value * scale
            if math.isfinite(ms) and 0 <= ms <= YEAR_MS:
                return round(ms)
    return None


def protocol(lines: list[Line]) -> str | None:
    for line in lines:
        if isinstance(line.data.get("protocol"), str):
            return str(line.data["protocol"])
    for line in lines:
        system = str(line.data.get("system", "")).lower()
        eventid = line.data["eventid"]
        if "telnet" in system or eventid.startswith("cowrie.telnet."):
            return "telnet"
        if "ssh" in system or eventid.startswith(SSH_ONLY):
            return "ssh"
    return None


def client_version(version: Any) -> tuple[str | None, bool | None]:
    if not isinstance(version, str):
        return None, None
    text = version
    literal = re.fullmatch(r"b'(.*)'|b\"(.*)\"", text, re.DOTALL)
    if literal:
        body = literal.group(1) if literal.group(1) is not None else literal.group(2)
        text = codecs.escape_decode(body.encode())[0].decode("utf-8", "backslashreplace")
    text = text.strip(" \t\r\n\x00")
    if text.startswith("SSH-"):
        return text, False
    if not text:
        return None, True
    if text[:2] == "\x16\x03":
        return "<TLS ClientHello>", True
    first = text.split("\n")[0].rstrip("\r")
    words = first.split(" ")
    if len(words) >= 3 and words[0].isupper() and words[2].startswith("HTTP/"):
        return " ".join(words[:3]), True
    first = re.sub(r"(?<![\d.])\d+\.\d+\.\d+\.\d+(?![\d.])", "<ip>", first)
    return "".join(c if c == "\t" or (ord(c) >= 32 and ord(c) != 127) else f"\\x{ord(c):02x}" for c in first), True


def summary(lines: list[Line]) -> dict[str, Any]:
    """The expected ``session_summaries`` values of one session."""
    events = [x.data for x in lines]
    connect = next((e for e in events if e["eventid"] == "cowrie.session.connect"), None)
    own = [e for e in events if not e["eventid"].startswith(FORWARDING)]
    with_port = connect or next((e for e in own if "src_port" in e), None)
    with_dst = connect or next((e for e in own if "dst_port" in e), None)
    logins = [e for e in events if e["eventid"] in ("cowrie.login.success", "cowrie.login.failed")]
    successes = [e for e in logins if e["eventid"] == "cowrie.login.success"]
    with_password = [e for e in logins if "password" in e]
    chosen = next((e for e in successes if "password" in e), with_password[-1] if with_password else None)
    versions = [e["version"] for e in events if e["eventid"] == "cowrie.client.version"]
    durations = [d for e in events if e["eventid"] == "cowrie.session.closed" if (d := duration_ms(e)) is not None]
    pairs = [[e.get("username"), e["password"]] for e in with_password]
    normalised, non_ssh = client_version(versions[0] if versions else None)
    return {
        "sensor": events[0].get("sensor"),
        "protocol": protocol(lines),
        "source_ip": _ip(next(e["src_ip"] for e in events if "src_ip" in e)),
        "source_port": _int_port(with_port.get("src_port")) if with_port else None,
        "destination_ip": _ip(with_dst.get("dst_ip")) if with_dst else None,
        "destination_port": _int_port(with_dst.get("dst_port")) if with_dst else None,
        "first_event_at": lines[0].time,
        "last_event_at": lines[-1].time,
        "duration_ms": max(durations) if durations else None,
        "event_count": len(lines),
        "client_version": versions[0] if versions else None,
        "hassh": next((e["hassh"] for e in events if e["eventid"] == "cowrie.client.kex"), None),
        "login_attempts": len(logins),
        "login_failures": len(logins) - len(successes),
        "login_success": bool(successes),
        "login_username": successes[0].get("username") if successes else None,
        "password_hash": hashlib.sha256(chosen["password"].encode()).hexdigest() if chosen else None,
        "command_count": sum(e["eventid"] == "cowrie.command.input" for e in events),
        "file_downloads": sum(e["eventid"] == "cowrie.session.file_download" for e in events),
        "file_uploads": sum(e["eventid"] == "cowrie.session.file_upload" for e in events),
        "client_version_normalised": normalised,
        "client_non_ssh": non_ssh,
        "credential_list_hash": (
            hashlib.sha256(json.dumps(pairs, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
            if pairs
            else None
        ),
    }
