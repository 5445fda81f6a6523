"""A session's events -> its summary row and detail rows, computed from all its events at once.

Every field is a function of the *set* of the session's events (sorted by time, then source offset), so
the result is the same whatever order files and batches arrived in, and re-ingesting adds nothing.

Rules (exact eventids only, never substrings):

* ``login_attempts`` = ``cowrie.login.success`` + ``cowrie.login.failed``; ``login_failures`` = failed.
* ``login_username``: username of the first successful login.
* ``password_hash``: SHA-256 (hex, of the UTF-8 password) of the first successful login that carried a
  password, else of the last attempt (by time) that carried one.
* ``command_count`` = ``cowrie.command.input`` events; ``file_downloads`` = ``cowrie.session.file_download``
  (not ``.failed``); ``file_uploads`` = ``cowrie.session.file_upload``.
* ``command_signature``: SHA-256 of the session's normalised command lines joined by ``\\n``. A line is
  normalised by replacing URLs (``scheme://...``) with ``<url>``, IPv4 addresses (with an optional
  ``:port``) with ``<ip>``, hex runs of 16+ characters with ``<hex>``, collapsing whitespace runs to one
  space and stripping; empty lines are left out. So the same script from different IPs, fetching from
  different servers, gets the same signature.
* ``ssh_key_fingerprint``: the first key planted (a public key in a ``command.input`` line that mentions
  ``authorized_keys``, or in ``cowrie.session.input`` text), else the key of a successful public-key
  login, else the first key offered.
* ``commands.known`` is false when a sub-command of the line (split on ``;``, ``&&``, ``||``, ``|``)
  was reported by ``cowrie.command.failed``.
* ``duration_ms`` from ``cowrie.session.closed`` in whichever shape the Cowrie version wrote it, NULL when
  not believable (:func:`~cowrieprocessor.ingestion.fields.duration_ms`).
* ``source_port``, ``destination_ip``/``_port`` from ``cowrie.session.connect``; without one (it is in a
  file not read yet), from the first event that carries them with that meaning: never from
  ``cowrie.direct-tcpip.*`` (their ports are what the attacker asked to forward).
* ``protocol``: the first ``protocol`` field, else what older Cowrie's events show (``system``, eventids).
* ``client_version`` as logged; ``client_version_normalised`` / ``client_non_ssh`` from
  :func:`~cowrieprocessor.ingestion.fields.client_version`.
* ``credential_list_hash``: SHA-256 of the ordered ``(username, password)`` pairs the session tried.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from typing import Any

from cowrieprocessor.ingestion import fields
from cowrieprocessor.ingestion.activity import transfer_method
from cowrieprocessor.ingestion.events import Event, canonical_ip
from cowrieprocessor.ingestion.sshkeys import PublicKey, find_keys, parse_key
from cowrieprocessor.storage.textsafe import escape_text, text_or_none

SUMMARY_COLUMNS = (
    "session_id", "sensor", "protocol", "source_ip", "source_port", "destination_ip", "destination_port",
    "first_event_at", "last_event_at", "duration_ms", "event_count", "client_version", "hassh",
    "login_attempts", "login_failures", "login_success", "login_username", "password_hash",
    "command_count", "command_signature", "file_downloads", "file_uploads", "ssh_key_fingerprint",
    "client_version_normalised", "client_non_ssh", "credential_list_hash",
)  # fmt: skip
#: A new session's time-of-attack snapshot, written with its summary when its IP is already enriched.
SNAPSHOT_COLUMNS = (
    "snapshot_asn", "snapshot_country", "snapshot_ip_types", "snapshot_source", "enrichment", "enrichment_at",
)  # fmt: skip
AUTH_COLUMNS = (
    "event_uid", "session_id", "event_time", "username", "password", "password_hash", "key_fingerprint",
    "success",
)  # fmt: skip
COMMAND_COLUMNS = ("event_uid", "session_id", "event_time", "sequence", "input", "known")
TRANSFER_COLUMNS = (
    "event_uid", "session_id", "event_time", "direction", "outcome", "url", "shasum", "destfile", "outfile",
    "filename", "duplicate", "error", "method",
)  # fmt: skip
KEY_COLUMNS = (
    "event_uid", "session_id", "event_time", "key_type", "key_data", "key_comment", "fingerprint_sha256",
    "fingerprint_md5", "how_seen",
)  # fmt: skip

# Positions other modules read in these rows (plain tuples, as executemany and COPY take them): named here,
# next to the column order they depend on.
SUMMARY_SESSION_ID = SUMMARY_COLUMNS.index("session_id")
SUMMARY_SOURCE_IP = SUMMARY_COLUMNS.index("source_ip")
SUMMARY_FIRST_EVENT_AT = SUMMARY_COLUMNS.index("first_event_at")
SUMMARY_LAST_EVENT_AT = SUMMARY_COLUMNS.index("last_event_at")
#: The time columns of a summary row (stored by the database's own time format).
SUMMARY_TIMES = (SUMMARY_FIRST_EVENT_AT, SUMMARY_LAST_EVENT_AT)
COMMAND_UID = COMMAND_COLUMNS.index("event_uid")
COMMAND_SEQUENCE = COMMAND_COLUMNS.index("sequence")
COMMAND_KNOWN = COMMAND_COLUMNS.index("known")
#: Every detail row (auth, command, transfer, key, forward, exploit) starts with uid, session, event time.
DETAIL_TIME = 2

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b")
_HEX = re.compile(r"\b[0-9a-fA-F]{16,}\b")
_WS = re.compile(r"\s+")
_SPLIT = re.compile(r"\s*(?:;|&&|\|\||\|)\s*")
_TRANSFERS = {
    "cowrie.session.file_download": ("download", "success"),
    "cowrie.session.file_download.failed": ("download", "failed"),
    "cowrie.session.file_upload": ("upload", "success"),
}

Row = tuple[Any, ...]
#: The only event fields :func:`summarise` reads (besides the ones every Event carries): an event kept in
#: memory for a session still open can be trimmed to these.
SUMMARY_FIELDS = frozenset(
    {
        "protocol", "src_port", "dst_ip", "dst_port", "username", "password", "key", "fingerprint", "input",
        "url", "shasum", "destfile", "outfile", "filename", "duplicate", "error", "version", "hassh",
        "duration_ms", "duration", "system",
    }
)  # fmt: skip


def normalise_command(line: str) -> str:
    line = _URL.sub("<url>", line)
    line = _IPV4.sub("<ip>", line)
    line = _HEX.sub("<hex>", line)
    return _WS.sub(" ", line).strip()


def command_signature(lines: Iterable[str]) -> str | None:
    normalised = [n for n in (normalise_command(line) for line in lines) if n]
    if not normalised:
        return None
    return hashlib.sha256("\n".join(normalised).encode("utf-8", "surrogatepass")).hexdigest()


def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode("utf-8", "surrogatepass")).hexdigest()


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _port(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535:
        return value
    return None


def _clip(value: str | None, size: int) -> str | None:
    return value if value is None or len(value) <= size else value[:size]


def _sub_uid(uid: str, index: int) -> str:
    return uid if index == 0 else hashlib.sha256(f"{uid}:{index}".encode()).hexdigest()[:32]


def _key_row(event: Event, index: int, key: PublicKey, how: str) -> Row:
    return (
        _sub_uid(event.uid, index), event.session, event.time, _clip(key.key_type, 64), key.key_data,
        text_or_none(key.comment), key.fingerprint_sha256, key.fingerprint_md5, how,
    )  # fmt: skip


@dataclass(slots=True)
class SessionResult:
    summary: Row
    auth: list[Row] = field(default_factory=list)
    commands: list[Row] = field(default_factory=list)
    transfers: list[Row] = field(default_factory=list)
    keys: list[Row] = field(default_factory=list)
    #: Its events name more than one sensor: two sessions behind one id (Cowrie's ids are 48 random bits,
    #: so a large fleet sees collisions), or one sensor ingested under two names. The summary mixes them.
    mixed_sensors: bool = False


def sort_key(event: Event) -> tuple[dt.datetime, int, str]:
    return (event.time, event.offset or 0, event.uid)


@dataclass(slots=True)
class _Tally:
    """What a session's events add up to so far, as :func:`summarise` walks them in order."""

    result: SessionResult
    client_version: str | None = None
    version_logged: Any = None
    hassh: str | None = None
    duration: int | None = None
    attempts: int = 0
    failures: int = 0
    downloads: int = 0
    uploads: int = 0
    success: bool = False
    username: str | None = None
    success_password: str | None = None
    last_password: str | None = None
    tried: list[tuple[str | None, str]] = field(default_factory=list)
    inputs: list[tuple[Event, str]] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    planted: str | None = None
    accepted: str | None = None
    offered: str | None = None


def _login(t: _Tally, ev: Event, d: dict[str, Any], emit: bool) -> None:
    ok = ev.eventid == "cowrie.login.success"
    t.attempts += 1
    user = text_or_none(d.get("username"))
    password = d.get("password")
    pw_text = password if isinstance(password, str) else text_or_none(password)
    pw_hash = password_hash(pw_text) if pw_text is not None else None
    key = parse_key(d["key"]) if isinstance(d.get("key"), str) else None
    key_fp = key.fingerprint_sha256 if key else _clip(_str(d.get("fingerprint")), 128)
    if ok:
        if not t.success:
            t.username = user
        t.success = True
        if pw_text is not None and t.success_password is None:
            t.success_password = pw_hash
        if key is not None and emit:
            t.result.keys.append(_key_row(ev, 0, key, "accepted"))
            t.accepted = t.accepted or key.fingerprint_sha256
    else:
        t.failures += 1
    if pw_hash is not None:
        t.last_password = pw_hash
    if password is not None:
        t.tried.append((fields.plain(d.get("username")), fields.plain(password) or ""))
    if key_fp is not None:
        t.offered = t.offered or key_fp
    if emit:
        t.result.auth.append(
            (ev.uid, ev.session, ev.time, user,
             escape_text(pw_text) if pw_text is not None else None, pw_hash, key_fp, ok)
        )  # fmt: skip


def _planted_keys(t: _Tally, ev: Event, line: str, emit: bool) -> None:
    for i, key in enumerate(find_keys(line)):
        if emit:
            t.result.keys.append(_key_row(ev, i, key, "planted"))
        t.planted = t.planted or key.fingerprint_sha256


def _command_input(t: _Tally, ev: Event, d: dict[str, Any], emit: bool) -> None:
    line = d.get("input")
    line = line if isinstance(line, str) else (text_or_none(line) or "")
    t.inputs.append((ev, line))
    if "authorized_keys" in line:
        _planted_keys(t, ev, line, emit)


def _command_failed(t: _Tally, ev: Event, d: dict[str, Any], emit: bool) -> None:
    line = d.get("input")
    if isinstance(line, str):
        t.failed.add(line.strip())


def _session_input(t: _Tally, ev: Event, d: dict[str, Any], emit: bool) -> None:
    line = d.get("input")
    if isinstance(line, str):
        _planted_keys(t, ev, line, emit)


def _client_fingerprint(t: _Tally, ev: Event, d: dict[str, Any], emit: bool) -> None:
    key = parse_key(d["key"]) if isinstance(d.get("key"), str) else None
    if key is not None and emit:
        t.result.keys.append(_key_row(ev, 0, key, "offered"))
    t.offered = t.offered or (key.fingerprint_sha256 if key else _clip(_str(d.get("fingerprint")), 128))


def _transfer(t: _Tally, ev: Event, d: dict[str, Any], emit: bool) -> None:
    eid = ev.eventid
    direction, outcome = _TRANSFERS[eid]
    if eid == "cowrie.session.file_download":
        t.downloads += 1
    elif eid == "cowrie.session.file_upload":
        t.uploads += 1
    dup = d.get("duplicate")
    if emit:
        t.result.transfers.append(
            (ev.uid, ev.session, ev.time, direction, outcome, text_or_none(d.get("url")),
             _clip(_str(d.get("shasum")), 64), text_or_none(d.get("destfile")),
             text_or_none(d.get("outfile")), text_or_none(d.get("filename")),
             dup if isinstance(dup, bool) else None, text_or_none(d.get("error")), transfer_method(eid, d))
        )  # fmt: skip


def _client_version(t: _Tally, ev: Event, d: dict[str, Any], emit: bool) -> None:
    if t.client_version is None:
        t.version_logged = d.get("version")
        t.client_version = text_or_none(t.version_logged)


def _client_kex(t: _Tally, ev: Event, d: dict[str, Any], emit: bool) -> None:
    if t.hassh is None:
        t.hassh = _clip(_str(d.get("hassh")), 64)


def _session_closed(t: _Tally, ev: Event, d: dict[str, Any], emit: bool) -> None:
    ms = fields.duration_ms(d)
    if ms is not None:
        t.duration = ms if t.duration is None else max(t.duration, ms)


#: What each kind of event adds to a session (``emit``: make its detail rows); other events only count.
_HANDLERS: dict[str, Callable[[_Tally, Event, dict[str, Any], bool], None]] = {
    "cowrie.login.success": _login,
    "cowrie.login.failed": _login,
    "cowrie.command.input": _command_input,
    "cowrie.command.failed": _command_failed,
    "cowrie.session.input": _session_input,
    "cowrie.client.fingerprint": _client_fingerprint,
    **dict.fromkeys(_TRANSFERS, _transfer),
    "cowrie.client.version": _client_version,
    "cowrie.client.kex": _client_kex,
    "cowrie.session.closed": _session_closed,
}


def summarise(session_id: str, events: list[Event], fresh: Container[str] | None = None) -> SessionResult:
    """Summary and detail rows of one session from all its (distinct) events.

    With ``fresh`` (uids of events stored just now), auth, transfer and key rows are only made for those
    events (the others' rows exist already); command rows are always all made, since their sequence and
    known-ness depend on the whole session.
    """
    events = sorted(events, key=sort_key)
    result = SessionResult(summary=())
    t = _Tally(result)
    handlers = _HANDLERS
    sensor = protocol = inferred = src_ip = dst_ip = None
    src_port = dst_port = None
    connect_seen = False

    for ev in events:  # where the session came from and went to is read from every event; the rest by kind
        d = ev.data
        eid = ev.eventid
        if sensor is None:
            sensor = ev.sensor
        elif ev.sensor != sensor and ev.sensor is not None:
            result.mixed_sensors = True
        if protocol is None:
            protocol = fields.logged_protocol(d)
            if inferred is None:
                inferred = fields.inferred_protocol(eid, d)
        if eid == "cowrie.session.connect" and not connect_seen:
            connect_seen = True
            src_ip, src_port = ev.src_ip or src_ip, _port(d.get("src_port"))
            dst_ip, dst_port = canonical_ip(str(d.get("dst_ip"))), _port(d.get("dst_port"))
        elif not connect_seen:
            src_ip = src_ip or ev.src_ip
            if not eid.startswith(fields.FORWARDING_EVENTS):
                src_port = src_port if src_port is not None else _port(d.get("src_port"))
                if dst_port is None:
                    dst_ip, dst_port = canonical_ip(str(d.get("dst_ip"))), _port(d.get("dst_port"))
        handler = handlers.get(eid)
        if handler is not None:
            handler(t, ev, d, fresh is None or ev.uid in fresh)

    inputs = t.inputs
    for seq, (ev, line) in enumerate(inputs):
        subs = [s for s in _SPLIT.split(line.strip()) if s]
        known = not any(s in t.failed for s in subs)
        result.commands.append((ev.uid, ev.session, ev.time, seq, escape_text(line), known))

    normalised, non_ssh = fields.client_version(t.version_logged)
    result.summary = (
        session_id, sensor, protocol or inferred, src_ip, src_port, dst_ip, dst_port,
        events[0].time, events[-1].time, t.duration, len(events), t.client_version, t.hassh,
        t.attempts, t.failures, t.success, t.username, t.success_password or t.last_password,
        len(inputs), command_signature(line for _, line in inputs), t.downloads, t.uploads,
        t.planted or t.accepted or t.offered,
        text_or_none(normalised), non_ssh, fields.credential_list_hash(t.tried),
    )  # fmt: skip
    return result
