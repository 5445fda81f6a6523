"""Session fields as each Cowrie version logged them, read into one form (see ``docs/cowrie-versions.md``).

Cowrie changed the shape of several fields over the years; a summary must read every shape the same way:

* ``duration`` of ``cowrie.session.closed``: float seconds (1.x - 2.6), a *string* of seconds with one
  decimal (``"20.7"``, 2.7.0 - 3.0.3), integer ``duration_ms`` (3.0.4 on). A value that is not a finite,
  non-negative number of at most :data:`MAX_DURATION_MS` (``1e999``, ``1e17``, ``"nan"``, a 2**64 - 1
  ``duration_ms``) is no duration: NULL. The event itself is kept (its raw line is stored as read); only
  the field is not believed, since no session lasts longer than a year.
* ``protocol``: on every event since 2.x, only on ``cowrie.session.connect`` in 1.x/2.0, absent before. Where
  it is missing, the event says it otherwise: Twisted's ``system`` field (``HoneyPotSSHTransport,...``,
  ``CowrieTelnetTransport,...``; Cowrie 1.x) or an eventid only one protocol emits.
* ``version`` of ``cowrie.client.version``: the client's identification line, stored as logged. Cowrie 2.x
  logged some as a Python bytes repr (``b'SSH-2.0-PUTTY'``), and scanners send TLS ClientHellos or HTTP
  requests to the SSH port, logged as the "version" (with NUL bytes). :func:`client_version` gives the form
  to group by and whether the client spoke SSH at all.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import re
from typing import Any

import orjson

#: A longer duration is not believed (NULL): a year.
MAX_DURATION_MS = 366 * 86_400_000
#: Longest normalised client version kept (the original is kept whole).
MAX_CLIENT_VERSION = 255

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_BYTES_REPR = re.compile(r"b(['\"]).*\1", re.DOTALL)
_HTTP = re.compile(r"([A-Z]{3,10}) (\S+) (HTTP/\d(?:\.\d)?)")
_IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SSH_EVENTS = ("cowrie.client.version", "cowrie.client.kex", "cowrie.client.fingerprint", "cowrie.direct-tcpip.")
_TELNET_EVENTS = ("cowrie.telnet.",)
#: Events whose ``src_port``/``dst_ip``/``dst_port`` are a port-forwarding request's, not the connection's.
FORWARDING_EVENTS = ("cowrie.direct-tcpip.", "cowrie.tunnelproxy-tcpip.")


def _seconds_or_ms(value: Any) -> float | int | None:
    """A JSON number, or a string holding a plain decimal number (Cowrie 2.7 - 3.0.3); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        return float(value)
    return None


def _plausible_ms(value: float | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if not 0 <= value <= MAX_DURATION_MS:
        return None
    return round(value)


def duration_ms(data: dict[str, Any]) -> int | None:
    """The duration of a ``cowrie.session.closed`` event in milliseconds, whichever Cowrie wrote it."""
    ms = data.get("duration_ms")
    if type(ms) is int and 0 <= ms <= MAX_DURATION_MS:  # Cowrie 3.0.4 on: the common case, at once
        return ms
    seconds = data.get("duration")
    if ms is None and type(seconds) is float and 0.0 <= seconds <= MAX_DURATION_MS / 1000:  # before 2.7
        return round(seconds * 1000)
    ms = _plausible_ms(_seconds_or_ms(data.get("duration_ms")))
    if ms is not None:
        return ms
    seconds = _seconds_or_ms(data.get("duration"))
    return _plausible_ms(seconds * 1000 if seconds is not None else None)


def logged_protocol(data: dict[str, Any]) -> str | None:
    """The ``protocol`` field, when the event has one."""
    value = data.get("protocol")
    return value[:16] if isinstance(value, str) and value else None


def inferred_protocol(eventid: str, data: dict[str, Any]) -> str | None:
    """The protocol an event without a ``protocol`` field still shows: its ``system`` or its eventid."""
    system = data.get("system")
    if isinstance(system, str):
        lowered = system.lower()
        if "telnet" in lowered:
            return "telnet"
        if "ssh" in lowered:
            return "ssh"
    if eventid.startswith(_SSH_EVENTS):
        return "ssh"
    if eventid.startswith(_TELNET_EVENTS):
        return "telnet"
    return None


def _from_bytes_repr(text: str) -> str:
    """``b'SSH-2.0-PUTTY'`` -> ``SSH-2.0-PUTTY`` (a Python bytes literal, decoded; anything else unchanged)."""
    if not _BYTES_REPR.fullmatch(text):
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else text


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)[:MAX_CLIENT_VERSION]


def client_version(version: Any) -> tuple[str | None, bool | None]:
    """``(normalised, non_ssh)`` of a logged client version; ``(None, None)`` when none was logged.

    SSH identification lines (RFC 4253: ``SSH-protoversion-softwareversion``) keep their text, without a
    bytes repr and trailing CR/LF/NUL. Anything else is a non-SSH client: a TLS ClientHello becomes
    ``<TLS ClientHello>`` (its random bytes would make every one distinct), an HTTP request its request
    line, an empty line None, other text its first line with IPv4 addresses as ``<ip>`` (scanners such as
    ``MGLNDD_<ip>_22`` name the address they probe). Control characters are written as ``\\xNN``.
    """
    if not isinstance(version, str):
        return None, None
    if version.startswith("SSH-") and version.isprintable() and version[-1] != " ":  # nearly every client
        return version[:MAX_CLIENT_VERSION], False
    text = _from_bytes_repr(version).strip(" \t\r\n\x00")
    if text.startswith("SSH-"):
        return _printable(text.split("\n", 1)[0].rstrip(" \r\x00")), False
    if not text:
        return None, True
    if text.startswith("\x16\x03"):
        return "<TLS ClientHello>", True  # a client's first TLS record is its ClientHello
    first = text.split("\n", 1)[0].rstrip("\r")
    http = _HTTP.match(first)
    if http:
        return _printable(" ".join(http.groups())), True
    return _printable(_IPV4.sub("<ip>", first)), True


def plain(value: Any) -> str | None:
    """A field's text as logged (no storage escape), other JSON values in their JSON spelling."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def credential_list_hash(pairs: list[tuple[str | None, str]]) -> str | None:
    """SHA-256 (hex) of the ``(username, password)`` pairs a session tried, in order, as compact JSON
    (``[["root","123456"],["admin","admin"]]``, UTF-8, not ASCII-escaped); None if it tried none."""
    if not pairs:
        return None
    try:
        data = orjson.dumps(pairs)  # the same bytes as the json.dumps below, faster
    except TypeError:  # a lone surrogate (JSON allows "\ud800"), which orjson refuses
        data = json.dumps(pairs, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()
