"""Fuzzing the parser, the summariser and a whole ingest with lines built from Cowrie's real event shapes (#15).

Each line is a real eventid with its real fields (``/work/shared/reference/cowrie-events.md``, section A),
whose values Hypothesis replaces with hostile ones: any JSON value, deep nesting, huge and negative
numbers, control characters, NUL, lone surrogates, zoned and invalid addresses, timestamps at the ends of
the calendar with any offset. Properties: nothing raises; a line is an event or a dead letter; an event's
identity survives re-encoding. Runs are derandomised and bounded (``max_examples``) so CI time is fixed;
inputs that once crashed are kept as ``@example`` regression cases.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from cowrieprocessor.ingestion import ingest
from cowrieprocessor.ingestion.events import Event, Rejection, parse_line
from cowrieprocessor.ingestion.summaries import summarise

FIELDS: dict[str, tuple[str, ...]] = {
    "cowrie.session.connect": ("src_port", "dst_ip", "dst_port", "protocol"),
    "cowrie.client.version": ("version",),
    "cowrie.client.kex": ("compCS", "encCS", "hassh", "hasshAlgorithms", "kexAlgs", "keyAlgs", "langCS", "macCS"),
    "cowrie.client.fingerprint": ("fingerprint", "key", "type", "username"),
    "cowrie.client.size": ("height", "width"),
    "cowrie.client.var": ("name", "value"),
    "cowrie.login.failed": ("username", "password", "fingerprint", "key", "type"),
    "cowrie.login.success": ("username", "password"),
    "cowrie.command.input": ("input",),
    "cowrie.command.failed": ("input",),
    "cowrie.command.success": ("input",),
    "cowrie.session.file_download": ("url", "outfile", "shasum", "destfile", "duplicate"),
    "cowrie.session.file_download.failed": ("url",),
    "cowrie.session.file_upload": ("filename", "outfile", "shasum", "destfile", "duplicate", "url"),
    "cowrie.session.params": ("arch",),
    "cowrie.direct-tcpip.request": ("orig_ip", "orig_port"),
    "cowrie.direct-tcpip.data": ("data", "id"),
    "cowrie.telnet.exploit_attempt": ("cve", "name", "value"),
    "cowrie.log.closed": ("duplicate", "shasum", "size", "ttylog"),
    "cowrie.session.closed": (),
}
TYPICAL: dict[str, Any] = {
    "src_port": 40000, "dst_port": 22, "dst_ip": "192.0.2.1", "protocol": "ssh", "version": "SSH-2.0-Go",
    "username": "root", "password": "admin", "input": "uname -a; cat /proc/cpuinfo", "url": "http://x/bins.sh",
    "shasum": "a" * 64, "outfile": "dl/" + "a" * 64, "duplicate": False, "hassh": "ec7378c1a92f5a8dde7e8b7a1ddf33d1",
    "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO attacker@box", "fingerprint": "aa:bb", "type": "ssh-ed25519",
}  # fmt: skip

text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)  # NUL and surrogates too
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=12
)
timestamps = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1, 1, 1),
        max_value=dt.datetime(9999, 12, 31, 23, 59, 59),
        timezones=st.builds(
            dt.timezone, st.timedeltas(min_value=dt.timedelta(hours=-14), max_value=dt.timedelta(hours=14))
        ),
    ).map(lambda t: t.isoformat()),
    st.sampled_from(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2025-02-25T23:59:00.1Z"]),
    text,
)
addresses = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=6).map(lambda a: f"{a}%eth0"),
    st.sampled_from(["fe80::1%eth0", "10.0.0.300", "::ffff:1.2.3.4", "1.2.3.4 "]),
    text,
)


def _nested(levels: int, inner: Any) -> Any:
    for _ in range(levels):
        inner = [inner]
    return inner


@st.composite
def cowrie_events(draw: st.DrawFn, session: str | None = None) -> dict[str, Any]:
    eventid = draw(st.sampled_from(sorted(FIELDS)) | text)
    event: dict[str, Any] = {
        "eventid": eventid,
        "session": session if session is not None else draw(st.sampled_from(["0123456789ab"]) | text),
        "timestamp": draw(timestamps),
        "src_ip": draw(addresses),
        "sensor": draw(st.sampled_from(["sensor-a"]) | text),
        "message": draw(text),
    }
    for name in FIELDS.get(eventid, ()):
        if draw(st.booleans()):
            event[name] = draw(json_values)
        elif name in TYPICAL:
            event[name] = TYPICAL[name]
    if draw(st.integers(0, 9)) == 0:  # sometimes a field is gone
        event.pop(draw(st.sampled_from(sorted(event))))
    return event


def encodings(event: dict[str, Any]) -> list[bytes]:
    """Ways a line can spell the same event: Cowrie's compact form, spaced, ASCII-escaped, sorted, CRLF."""
    compact = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    return [
        compact,
        json.dumps(event).encode(),
        json.dumps(event, sort_keys=True, indent=None, separators=(", ", " : ")).encode(),
        compact + b"\r",
    ]


_FILES = itertools.count()
FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(cowrie_events())
@example({"eventid": "cowrie.session.connect", "session": "a", "timestamp": "9999-12-31T23:59:59-14:00"})
@example({"eventid": "cowrie.session.connect", "session": "a", "timestamp": "0001-01-01T00:00:00+14:00"})
@example(
    {"eventid": "cowrie.login.failed", "session": "a", "timestamp": "2025-01-01T00:00:00Z", "src_ip": "fe80::1%eth0"}
)
@example({"eventid": "x", "session": "a", "timestamp": "2025-01-01T00:00:00Z", "x": _nested(100, "a\x00b")})
def test_parse_line_never_raises_and_identity_survives_re_encoding(event: dict[str, Any]) -> None:
    try:
        forms = encodings(event)
    except (RecursionError, ValueError):  # json.dumps itself refuses: nothing a sensor could have written
        return
    parsed = [parse_line(raw) for raw in forms]
    assert all(isinstance(p, Event | Rejection) for p in parsed)
    if isinstance(parsed[0], Event):
        assert all(isinstance(p, Event) and p.uid == parsed[0].uid for p in parsed)
    else:
        assert all(isinstance(p, Rejection) and p.reason == parsed[0].reason for p in parsed)  # type: ignore[union-attr]


@FUZZ
@given(st.lists(cowrie_events(session="0123456789ab"), min_size=1, max_size=12))
def test_summarise_never_raises_on_a_session_of_hostile_events(events: list[dict[str, Any]]) -> None:
    parsed = [parse_line(raw) for raw in (encodings(e)[0] for e in events)]
    good = [p for p in parsed if isinstance(p, Event) and p.session == "0123456789ab"]
    if not good:
        return
    result = summarise("0123456789ab", good)
    assert result.summary and result.summary[0] == "0123456789ab"


@pytest.mark.parametrize("rounds", [1])
@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(cowrie_events(), min_size=1, max_size=20))
def test_a_whole_ingest_of_hostile_lines_accounts_for_every_line(
    engine: Engine, tmp_path: Path, rounds: int, batch: list[dict[str, Any]]
) -> None:
    lines = [encodings(e)[0] for e in batch]
    number = next(_FILES)
    path = tmp_path / f"cowrie-{number}.json"
    path.write_bytes(
        b"example %d: a first line of its own, a file identity of its own\n" % number + b"\n".join(lines) + b"\n"
    )
    for _ in range(rounds):
        stats = ingest(engine, [str(path)])
    assert stats.events_read + stats.dead_letters == len(lines) + 1
