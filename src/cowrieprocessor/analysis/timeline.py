"""One session in full: its summary, what its IP was at attack time vs now, and what happened, in order.

The timeline merges the detail tables (logins, commands, files, keys, port forwarding, exploits: the
normalised form ingestion made) with the session's other raw events (connect, client version, key
exchange, close, ...: Cowrie's own ``message``), all read through the session-id indexes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, Select, bindparam, func, select

from cowrieprocessor.analysis.sql import (
    ASNS,
    AUTH,
    COMMANDS,
    EXPLOITS,
    FORWARDS,
    IPS,
    KEYS,
    RAW,
    SESSIONS,
    TRANSFERS,
    dialect_of,
    fetch,
    per_dialect,
)
from cowrieprocessor.storage.textsafe import escape_json

#: Raw events whose content a detail table already gives (or that only repeat one: command.failed).
COVERED = frozenset(
    {
        "cowrie.login.success", "cowrie.login.failed", "cowrie.command.input", "cowrie.command.failed",
        "cowrie.session.file_download", "cowrie.session.file_download.failed", "cowrie.session.file_upload",
        "cowrie.client.fingerprint", "cowrie.direct-tcpip.request", "cowrie.direct-tcpip.data",
        "cowrie.telnet.exploit_attempt", "cowrie.telnet.exploit_success",
    }
)  # fmt: skip
#: Fields every event carries: left out of the details of uncovered events.
_COMMON = frozenset({"eventid", "timestamp", "session", "src_ip", "src_port", "sensor", "uuid", "message",
                     "system", "isError", "protocol"})  # fmt: skip
_SUMMARY_SKIP = ("enrichment",)


@dataclass(frozen=True)
class TimelineEntry:
    time: dt.datetime
    kind: str
    summary: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionDetail:
    summary: dict[str, Any]
    at_attack: dict[str, Any]
    now: dict[str, Any]
    timeline: list[TimelineEntry]
    events: int  # the session's raw events
    truncated: bool  # the timeline stops at the limit


@per_dialect
def _summary_statement(dialect: str) -> Select[Any]:
    return select(SESSIONS).where(SESSIONS.c.session_id == bindparam("sid"))


@per_dialect
def _now_statement(dialect: str) -> Select[Any]:
    i = IPS.c
    return select(
        i.current_asn.label("asn"),
        i.geo_country.label("country"),
        i.ip_types,
        i.is_scanner,
        i.is_bogon,
        i.enrichment_updated_at.label("enriched_at"),
        i.first_seen,
        i.last_seen,
        i.session_count,
        i.enrichment,
    ).where(i.ip_address == bindparam("ip"))


@per_dialect
def _org_statement(dialect: str) -> Select[Any]:
    a = ASNS.c
    return select(a.asn_number, a.organization_name, a.asn_type).where(
        a.asn_number.in_(bindparam("asns", expanding=True))
    )


@per_dialect
def _detail_statement(dialect: str, table: str) -> Select[Any]:
    t = {"auth": AUTH, "commands": COMMANDS, "transfers": TRANSFERS, "keys": KEYS, "forwards": FORWARDS,
         "exploits": EXPLOITS}[table]  # fmt: skip
    return (
        select(t).where(t.c.session_id == bindparam("sid")).order_by(t.c.event_time, t.c.id).limit(bindparam("limit"))
    )


@per_dialect
def _raw_statement(dialect: str) -> Select[Any]:
    r = RAW.c
    return (
        select(r.eventid, r.event_time, r.raw_line)
        .where(r.session_id == bindparam("sid"), r.eventid.not_in(sorted(COVERED)))
        .order_by(r.event_time, r.source_offset, r.id)
        .limit(bindparam("limit"))
    )


@per_dialect
def _raw_count_statement(dialect: str) -> Select[Any]:
    return select(func.count().label("n")).select_from(RAW).where(RAW.c.session_id == bindparam("sid"))


def _clean(row: dict[str, Any], *drop: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("id", "session_id", "event_time", *drop)}


def _auth(r: dict[str, Any]) -> TimelineEntry:
    what = (
        "key " + r["key_fingerprint"]
        if r["key_fingerprint"] and r["password"] is None
        else f"password {r['password']!r}"
    )
    outcome = "login.success" if r["success"] else "login.failed"
    return TimelineEntry(r["event_time"], outcome, f"{r['username']!r} with {what}", _clean(r))


def _command(r: dict[str, Any]) -> TimelineEntry:
    kind = "command" if r["known"] is not False else "command (unknown)"
    return TimelineEntry(r["event_time"], kind, r["input"], _clean(r))


def _transfer(r: dict[str, Any]) -> TimelineEntry:
    method = r["method"] or "?"
    where = r["url"] or r["destfile"] or r["filename"] or ""
    if r["method"] == "stdin":
        where = "(exec input, no file name)"
    sha = f" sha256 {r['shasum']}" if r["shasum"] else ""
    failed = " FAILED" + (f" ({r['error']})" if r["error"] else "") if r["outcome"] == "failed" else ""
    return TimelineEntry(r["event_time"], f"{r['direction']} ({method})", f"{where}{sha}{failed}", _clean(r))


def _key(r: dict[str, Any]) -> TimelineEntry:
    comment = f" {r['key_comment']}" if r["key_comment"] else ""
    text = f"{r['key_type']} {r['fingerprint_sha256']}{comment}"
    return TimelineEntry(r["event_time"], f"key {r['how_seen']}", text, _clean(r, "key_data"))


def _forward(r: dict[str, Any]) -> TimelineEntry:
    host = r["destination"]
    target = f"[{host}]:{r['destination_port']}" if host and ":" in host else f"{host}:{r['destination_port']}"
    if r["kind"] == "request":
        return TimelineEntry(r["event_time"], "forward request", f"to {target}", _clean(r))
    size = r["payload_bytes"]
    text = f"{size} bytes to {target}: {r['payload']}" if size is not None else f"to {target}"
    return TimelineEntry(r["event_time"], "forward data", text, _clean(r))


def _exploit(r: dict[str, Any]) -> TimelineEntry:
    if r["outcome"] == "success":
        typed = f"typed {r['original_username']!r} at login:, {r['attempted_command']!r} at Password:"
        text = f"{r['cve']}: logged in as {r['username']!r} ({typed})"
    else:
        text = f"{r['cve']}: {r['name']}={r['value']!r}"
    return TimelineEntry(r["event_time"], f"exploit {r['outcome']}", text, _clean(r))


_MAKERS = {"auth": _auth, "commands": _command, "transfers": _transfer, "keys": _key, "forwards": _forward,
           "exploits": _exploit}  # fmt: skip


def _raw_entry(eventid: str, time: dt.datetime, raw: bytes) -> TimelineEntry:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        doc = json.loads(raw.decode("utf-8"))
    data = escape_json({k: v for k, v in doc.items() if k not in _COMMON}) if isinstance(doc, dict) else {}
    message = doc.get("message") if isinstance(doc, dict) else None
    if not isinstance(message, str) or not message:
        message = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    kind = eventid.removeprefix("cowrie.")
    return TimelineEntry(time, kind, escape_json(message), data)


def session_detail(engine: Engine, session_id: str, *, limit: int = 1000) -> SessionDetail | None:
    """Everything about one session (None when there is none); at most ``limit`` timeline entries."""
    dialect = dialect_of(engine)
    found = fetch(engine, _summary_statement(dialect), {"sid": session_id})
    if not found:
        return None
    row = found[0]
    summary = {k: v for k, v in row.items() if k not in _SUMMARY_SKIP}
    now: dict[str, Any] = {}
    if row["source_ip"] is not None:
        current = fetch(engine, _now_statement(dialect), {"ip": row["source_ip"]})
        now = current[0] if current else {}
    at_attack = {
        "asn": row["snapshot_asn"], "country": row["snapshot_country"], "ip_types": row["snapshot_ip_types"],
        "source": row["snapshot_source"], "taken_at": row["enrichment_at"], "enrichment": row["enrichment"],
    }  # fmt: skip
    asns = sorted({a for a in (at_attack["asn"], now.get("asn")) if a is not None})
    orgs = {o["asn_number"]: o for o in fetch(engine, _org_statement(dialect), {"asns": asns})} if asns else {}
    for side in (at_attack, now):
        org = orgs.get(side.get("asn"))
        if side:
            side["organization"] = org["organization_name"] if org else None
            side["asn_type"] = org["asn_type"] if org else None
    params = {"sid": session_id, "limit": limit + 1}
    entries = [
        make(r) for table, make in _MAKERS.items() for r in fetch(engine, _detail_statement(dialect, table), params)
    ]
    entries += [
        _raw_entry(r["eventid"], r["event_time"], bytes(r["raw_line"]))
        for r in fetch(engine, _raw_statement(dialect), params)
    ]
    entries.sort(key=lambda e: e.time)
    events = int(fetch(engine, _raw_count_statement(dialect), {"sid": session_id})[0]["n"])
    return SessionDetail(summary, at_attack, now, entries[:limit], events, len(entries) > limit)
