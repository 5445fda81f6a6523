"""The list to pick a campaign key from: the busiest keys of one kind, with their reach then and now.

A campaign key is a behaviour shared by sessions (ADR-007): an SSH key, a password, a command script - and,
to find tools rather than operators, the client's SSH key-exchange fingerprint (``hassh``), its version
string, or a downloaded file (its SHA-256). Each key comes with its sessions, IPs, ASNs at attack time
(snapshot) and now (IP inventory), sensors and first/last seen, so one can choose what to ask about next
(``query campaign``, ``attribution``, ``infrastructure``, ``related``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, bindparam, distinct, func, null, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from cowrieprocessor.analysis.session_search import _commands_statement
from cowrieprocessor.analysis.sql import AUTH, IPS, KEYS, SESSIONS, TRANSFERS, dialect_of, fetch, per_dialect, utc
from cowrieprocessor.kinds import By

#: The session column that holds each kind (downloads: ``file_transfers.shasum``).
BY_COLUMN = {
    By.ssh_key: "ssh_key_fingerprint",
    By.password: "password_hash",
    By.command: "command_signature",
    By.hassh: "hassh",
    By.client: "client_version",
}


@dataclass(frozen=True)
class KeyRow:
    key: str
    sessions: int
    ips: int
    asns_at_attack: int
    asns_now: int
    sensors: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    session: str | None  # one of its sessions (the smallest id), to look at with ``query session``
    #: a URL the file came from; the password as typed; that session's script; the SSH key's comment
    example: str | None


def _last() -> ColumnElement[Any]:
    return func.coalesce(SESSIONS.c.last_event_at, SESSIONS.c.first_event_at)


@per_dialect
def _statement(dialect: str, by: By, active: frozenset[str]) -> Select[Any]:
    s, i = SESSIONS.c, IPS.c
    if by is By.download:
        t = TRANSFERS.c
        key: ColumnElement[Any] = t.shasum
        example: ColumnElement[Any] = func.min(t.url)
        source: FromClause = TRANSFERS.join(SESSIONS, s.session_id == t.session_id)
        sessions = func.count(distinct(s.session_id))
        where = [t.shasum.is_not(None), t.direction == "download", t.outcome == "success"]
    else:
        key = s[BY_COLUMN[by]]
        example = null()
        source, sessions, where = SESSIONS, func.count(), [key.is_not(None)]
    stmt = (
        select(
            key.label("key"),
            sessions.label("sessions"),
            func.count(distinct(s.source_ip)).label("ips"),
            func.count(distinct(s.snapshot_asn)).label("asns_at_attack"),
            func.count(distinct(i.current_asn)).label("asns_now"),
            func.count(distinct(s.sensor)).label("sensors"),
            func.min(s.first_event_at).label("first_seen"),
            func.max(_last()).label("last_seen"),
            func.min(s.session_id).label("session"),
            example.label("example"),
        )
        .select_from(source.outerjoin(IPS, i.ip_address == s.source_ip))
        .where(*where)
    )
    if "since" in active:
        stmt = stmt.where(s.first_event_at >= bindparam("since"))
    if "until" in active:
        stmt = stmt.where(s.first_event_at < bindparam("until"))
    if "sensor" in active:
        stmt = stmt.where(s.sensor == bindparam("sensor"))
    return stmt.group_by(key).order_by(sessions.desc(), key).limit(bindparam("limit"))


@per_dialect
def _password_statement(dialect: str) -> Select[Any]:
    a = AUTH.c
    return (
        select(a.password_hash, func.min(a.password).label("password"))
        .where(a.password_hash.in_(bindparam("keys", expanding=True)))
        .group_by(a.password_hash)
    )


@per_dialect
def _comment_statement(dialect: str) -> Select[Any]:
    k = KEYS.c
    return (
        select(k.fingerprint_sha256, func.min(k.key_comment).label("comment"))
        .where(k.fingerprint_sha256.in_(bindparam("keys", expanding=True)), k.key_comment.is_not(None))
        .group_by(k.fingerprint_sha256)
    )


def top_keys(
    engine: Engine,
    by: By,
    *,
    limit: int = 20,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    sensor: str | None = None,
) -> list[KeyRow]:
    """The keys of kind ``by`` with the most sessions (``since``/``until`` bound the first event time)."""
    dialect = dialect_of(engine)
    params: dict[str, Any] = {"since": utc(since), "until": utc(until), "sensor": sensor}
    active = frozenset(k for k, v in params.items() if v is not None)
    rows = fetch(engine, _statement(dialect, by, active), {**params, "limit": limit})
    if by in (By.password, By.ssh_key) and rows:
        statement = _password_statement(dialect) if by is By.password else _comment_statement(dialect)
        found = {
            k: v for k, v in (tuple(r.values()) for r in fetch(engine, statement, {"keys": [r["key"] for r in rows]}))
        }
        rows = [{**r, "example": found.get(r["key"])} for r in rows]
    if by is By.command and rows:
        scripts: dict[str, list[str]] = {}
        for c in fetch(engine, _commands_statement(dialect), {"ids": [r["session"] for r in rows]}):
            scripts.setdefault(c["session_id"], []).append(c["input"])
        rows = [{**r, "example": " ; ".join(scripts.get(r["session"], [])) or None} for r in rows]
    return [KeyRow(**r) for r in rows]
