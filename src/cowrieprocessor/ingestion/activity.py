"""Port forwarding, exploit attempts and how a file arrived: what a session did besides logins and commands.

Kept apart from :func:`~cowrieprocessor.ingestion.summaries.summarise` (which computes the v15 summary) so
each can change without the other; the writer appends :data:`ACTIVITY_COLUMNS` to every summary row.

Rules (exact eventids only):

* ``forward_requests`` = ``cowrie.direct-tcpip.request`` events (an SSH client asked the honeypot to open
  a TCP connection to ``dst_ip:dst_port``, i.e. to use it as a proxy); ``forward_bytes`` = the payload
  bytes of ``cowrie.direct-tcpip.data`` (Cowrie logs the payload as Python ``repr(bytes)`` text, e.g.
  ``"b'GET / HTTP/1.1\\r\\n...'"``; older releases without the ``b``; its length is that of the decoded
  bytes, or of the text itself when it is not such a literal).
* ``exploit_attempts`` = ``cowrie.telnet.exploit_attempt`` events (e.g. the telnet ``NEW-ENVIRON``
  ``USER=-f root`` login bypass, CVE-2026-24061); ``exploit_success``: a ``cowrie.telnet.exploit_success``
  event was logged (the bypass logged the attacker in).
* ``file_transfers.method``: ``fetch`` (a URL: wget, curl, ftpget, tftp), ``redirect`` (a file written by
  shell redirection: a non-empty ``destfile`` and no URL), ``stdin`` (exec-channel input saved to a file:
  ``destfile`` empty), ``scp`` or ``sftp`` for uploads (SCP carries ``destfile``/``url``, SFTP only
  ``filename``); None when the event matches none of these shapes.
"""

from __future__ import annotations

import ast
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from cowrieprocessor.ingestion.events import Event
from cowrieprocessor.storage.textsafe import text_or_none

REQUEST = "cowrie.direct-tcpip.request"
DATA = "cowrie.direct-tcpip.data"
EXPLOIT_ATTEMPT = "cowrie.telnet.exploit_attempt"
EXPLOIT_SUCCESS = "cowrie.telnet.exploit_success"
EVENTIDS = frozenset({REQUEST, DATA, EXPLOIT_ATTEMPT, EXPLOIT_SUCCESS})

#: Session columns this module fills, in this order, after the summary's own.
ACTIVITY_COLUMNS = ("forward_requests", "forward_bytes", "exploit_attempts", "exploit_success")
NO_ACTIVITY = (0, 0, 0, False)
FORWARD_COLUMNS = (
    "event_uid", "session_id", "event_time", "kind", "destination", "destination_port", "origin_ip",
    "origin_port", "payload", "payload_bytes",
)  # fmt: skip
EXPLOIT_COLUMNS = (
    "event_uid", "session_id", "event_time", "outcome", "cve", "name", "value", "username",
    "original_username", "attempted_command",
)  # fmt: skip
#: Event fields read here (besides the ones every Event carries): kept when a live session's events are trimmed.
ACTIVITY_FIELDS = frozenset(
    {"dst_ip", "dst_port", "orig_ip", "orig_port", "data", "cve", "name", "value", "username",
     "original_username", "attempted_command", "url", "destfile", "filename"}
)  # fmt: skip

Row = tuple[Any, ...]


@dataclass(slots=True)
class Activity:
    counts: Row = NO_ACTIVITY
    forwards: list[Row] = field(default_factory=list)
    exploits: list[Row] = field(default_factory=list)


def payload_size(data: Any) -> int | None:
    """Bytes of a direct-tcpip payload as Cowrie logs it (``repr`` of bytes or of a str), else its length."""
    if not isinstance(data, str):
        return None
    if len(data) >= 2 and data[-1] in "'\"" and (data[0] in "'\"" or data[:2] in ("b'", 'b"')):
        try:
            value = ast.literal_eval(data)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = None
        if isinstance(value, bytes):
            return len(value)
        if isinstance(value, str):
            return len(value.encode("utf-8", "surrogatepass"))
    return len(data.encode("utf-8", "surrogatepass"))


def transfer_method(eventid: str, data: dict[str, Any]) -> str | None:
    """How a file arrived (see the module's rules)."""
    url, destfile = data.get("url"), data.get("destfile")
    if eventid == "cowrie.session.file_upload":
        if destfile is not None or url is not None:
            return "scp"
        return "sftp" if data.get("filename") is not None else None
    if eventid == "cowrie.session.file_download.failed":
        return "fetch"
    if eventid != "cowrie.session.file_download":
        return None
    if isinstance(url, str) and url:
        return "fetch"
    if destfile == "":
        return "stdin"
    if isinstance(destfile, str):
        return "redirect"
    return None


def _port(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535:
        return value
    return None


def _text(value: Any, size: int | None = None) -> str | None:
    text = text_or_none(value)
    return text if text is None or size is None else text[:size]


def summarise_activity(events: list[Event], fresh: Container[str] | None = None) -> Activity:
    """Counts of the whole session (``events``: all of it) and detail rows of its ``fresh`` events (all when
    None); the events need not be sorted."""
    requests = nbytes = attempts = 0
    success = False
    result = Activity()
    for ev in events:
        eid = ev.eventid
        if eid not in EVENTIDS:
            continue
        d = ev.data
        emit = fresh is None or ev.uid in fresh
        if eid in (REQUEST, DATA):
            size = payload_size(d.get("data")) if eid == DATA else None
            if eid == REQUEST:
                requests += 1
            else:
                nbytes += size or 0
            if emit:
                result.forwards.append(
                    (ev.uid, ev.session, ev.time, "request" if eid == REQUEST else "data",
                     _text(d.get("dst_ip"), 255), _port(d.get("dst_port")), _text(d.get("orig_ip"), 255),
                     _port(d.get("orig_port")), _text(d.get("data")) if eid == DATA else None, size)
                )  # fmt: skip
        else:
            ok = eid == EXPLOIT_SUCCESS
            if ok:
                success = True
            else:
                attempts += 1
            if emit:
                result.exploits.append(
                    (ev.uid, ev.session, ev.time, "success" if ok else "attempt", _text(d.get("cve"), 32),
                     _text(d.get("name")), _text(d.get("value")), _text(d.get("username")),
                     _text(d.get("original_username")), _text(d.get("attempted_command")))
                )  # fmt: skip
    result.counts = (requests, nbytes, attempts, success)
    return result
