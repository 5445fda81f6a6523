"""One log line -> one event, or the reason it cannot be one (for the dead-letter table).

Validation is deliberately narrow: only what the tables need (a JSON object with ``eventid``,
``session`` and a timezone-aware ``timestamp``, a valid ``src_ip`` when present). Unknown eventids,
IPv6 sources, extra or missing optional fields are normal Cowrie output, never errors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from cowrieprocessor.storage.textsafe import escape_json, escape_text

#: Strings PostgreSQL cannot hold as they are; lines containing them take the slower, escaped path.
_UNSAFE = re.compile(rb"\\u0000|\\u[dD][89a-fA-F]|\\u2400|\xe2\x90\x80")  # NUL, lone surrogates, U+2400
_IP_CACHE: dict[str, str | None] = {}
_IP_CACHE_MAX = 200_000
MAX_SESSION = 64
MAX_EVENTID = 64
MAX_SENSOR = 255


@dataclass(slots=True)
class Event:
    uid: str
    session: str
    eventid: str
    time: dt.datetime
    src_ip: str | None
    sensor: str | None
    data: dict[str, Any]
    payload: bytes | None  # the escaped UTF-8 JSON, only for lines PostgreSQL could not hold as they are
    raw: bytes
    file_id: int | None
    offset: int | None
    row: tuple[Any, ...] | None = None  # the raw_events row, made by the store's ``raw_row`` ahead of time


@dataclass(slots=True)
class Rejection:
    reason: str
    detail: str


class _BadConstant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _BadConstant(f"non-standard JSON constant {name}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def event_uid(raw: bytes) -> str:
    """The idempotency key: the same bytes are the same event, whatever file they were read from."""
    return hashlib.sha256(raw).hexdigest()[:32]  # inlined in parse_line


def canonical_ip(value: str) -> str | None:
    """The compressed canonical spelling of an IPv4/IPv6 address, or None if it is not one."""
    cached = _IP_CACHE.get(value, "")
    if cached != "":
        return cached
    try:
        result: str | None = str(ipaddress.ip_address(value))
    except ValueError:
        result = None
    if len(_IP_CACHE) >= _IP_CACHE_MAX:
        _IP_CACHE.clear()
    _IP_CACHE[value] = result
    return result


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    tz = parsed.tzinfo
    if tz is dt.UTC:  # Cowrie's own "...Z": nothing to convert
        return parsed
    if tz is None:
        return None
    return parsed if parsed.utcoffset() == dt.timedelta(0) else parsed.astimezone(dt.UTC)


def parse_line(
    raw: bytes, *, sensor: str | None = None, file_id: int | None = None, offset: int | None = None
) -> Event | Rejection:
    """Parse ``raw`` (one line without its newline); ``sensor`` overrides the event's own field.

    The hot path: orjson straight from the bytes (it validates UTF-8 too); the standard library is only
    asked about lines orjson refuses, to accept lone surrogate escapes and name the reason of a failure.
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Rejection("invalid_utf8", f"not UTF-8 at byte {exc.start}")
        try:  # the standard library also accepts lone surrogate escapes, which JSON allows
            data = _DECODER.decode(text)
        except ValueError as exc:
            return Rejection("invalid_json", str(exc)[:300])
    if type(data) is not dict:
        return Rejection("not_an_object", f"JSON {type(data).__name__}, not an object")
    eventid = data.get("eventid")
    if not isinstance(eventid, str) or not eventid:
        return Rejection("missing_eventid", "no eventid string")
    session = data.get("session")
    if not isinstance(session, str) or not session:
        return Rejection("missing_session", "no session string")
    if "timestamp" not in data:
        return Rejection("missing_timestamp", "no timestamp")
    when = parse_time(data["timestamp"])
    if when is None:
        return Rejection("bad_timestamp", f"unparsable or naive timestamp {str(data['timestamp'])[:80]!r}")
    if len(session) > MAX_SESSION or len(eventid) > MAX_EVENTID:
        return Rejection("field_too_long", "session or eventid longer than 64 characters")
    src = data.get("src_ip")
    src_ip = None
    if src is not None:
        src_ip = canonical_ip(src) if isinstance(src, str) else None
        if src_ip is None:
            return Rejection("invalid_ip", f"src_ip {str(src)[:80]!r} is not an IP address")
    if sensor is None:
        own = data.get("sensor")
        sensor = own if isinstance(own, str) and own else None
    if sensor is not None and len(sensor) > MAX_SENSOR:
        return Rejection("field_too_long", "sensor longer than 255 characters")
    payload = None
    if (b"\\u" in raw or not raw.isascii()) and _UNSAFE.search(raw) is not None:  # U+2400 is not ASCII
        payload = json.dumps(escape_json(data), ensure_ascii=False, separators=(",", ":")).encode()
        session, eventid = escape_text(session), escape_text(eventid)
        sensor = escape_text(sensor) if sensor is not None else None
    return Event(hashlib.sha256(raw).hexdigest()[:32], session, eventid, when, src_ip, sensor, data, payload, raw,
                 file_id, offset)  # fmt: skip
