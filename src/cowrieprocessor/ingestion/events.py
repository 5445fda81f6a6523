"""One log line -> one event, or the reason it cannot be one (for the dead-letter table).

Validation is deliberately narrow: only what the tables need (a JSON object with ``eventid``,
``session`` and a timezone-aware ``timestamp``, a valid ``src_ip`` when present). Unknown eventids,
IPv6 sources, extra or missing optional fields are normal Cowrie output, never errors.

Hostile lines cost one dead letter each, never the run (#15): JSON nested deeper than :data:`MAX_DEPTH`
is ``too_deep`` (Cowrie's events nest three levels; a parser, an escaper or a summariser walking 1,000
levels would exhaust the stack), a timestamp that UTC cannot hold (``9999-12-31T23:59:59-14:00``) is
``bad_timestamp``. A scoped IPv6 source (``fe80::1%eth0``, which a sensor on a link can log) is stored
normalised, without its zone (``fe80::1``): PostgreSQL's ``inet`` has no zones, and the zone names an
interface of the sensor, not the attacker. The line itself keeps it.

An event's identity is its *content*, not its bytes: the SHA-256 of a canonical serialisation of the
parsed object (sorted keys, no spaces, UTF-8), so a copy with CRLF line ends or other spacing is the same
event. ``raw`` keeps the bytes of the first copy read.
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
#: Deepest JSON nesting accepted (Cowrie's events: 3).
MAX_DEPTH = 64
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_OPEN = b"[{"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


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


def nesting(raw: bytes) -> int:
    """How deep the JSON text ``raw`` nests (brackets inside strings do not count); linear, no recursion."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


def event_uid(data: dict[str, Any]) -> str:
    """The idempotency key: the same content is the same event, whatever its bytes or file."""
    try:
        canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # lone surrogates (orjson writes UTF-8 only) or an integer beyond 64 bits
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8", "surrogatepass"
        )
    return hashlib.sha256(canonical).hexdigest()[:32]


def canonical_ip(value: str) -> str | None:
    """The compressed canonical spelling of an IPv4/IPv6 address (an IPv6 zone dropped), or None."""
    cached = _IP_CACHE.get(value, "")
    if cached != "":
        return cached
    try:
        address = ipaddress.ip_address(value)
        if address.version == 6 and address.scope_id is not None:
            address = ipaddress.IPv6Address(value.partition("%")[0])
        result: str | None = str(address)
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
    if parsed.utcoffset() == dt.timedelta(0):
        return parsed
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in year 10000 UTC
        return None


def parse_line(
    raw: bytes, *, sensor: str | None = None, file_id: int | None = None, offset: int | None = None
) -> Event | Rejection:
    """Parse ``raw`` (one line without its newline); ``sensor`` overrides the event's own field.

    The hot path: orjson straight from the bytes (it validates UTF-8 too); the standard library is only
    asked about lines orjson refuses, to accept lone surrogate escapes and name the reason of a failure.
    """
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and (depth := nesting(raw)) > MAX_DEPTH:
        return Rejection("too_deep", f"JSON nested {depth} levels deep (limit {MAX_DEPTH})")
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
        return Rejection(
            "bad_timestamp", f"unparsable, naive or out-of-range timestamp {str(data['timestamp'])[:80]!r}"
        )
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
    return Event(event_uid(data), session, eventid, when, src_ip, sensor, data, payload, raw,
                 file_id, offset)  # fmt: skip
