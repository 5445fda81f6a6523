"""Credentials, commands and downloads of the period: the most frequent, and those first seen in it.

"First seen" is against every earlier row (any sensor): a password or command line the honeypots had never
been given before, a file hash never downloaded before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Select, case, distinct, func, select

from cowrieprocessor.analysis.sql import COMMANDS, SESSIONS, dialect_of, fetch, per_dialect
from cowrieprocessor.report.period import Period
from cowrieprocessor.report.sql import AUTH, FILES, KEYS, in_period, never_before

TOP = 25


def _period_sessions(sensors: bool) -> Any:
    s = SESSIONS.c
    return select(s.session_id, s.source_ip).where(*in_period(sensors)).subquery("p")


@per_dialect
def _credentials_statement(dialect: str, sensors: bool, new_only: bool) -> Select[Any]:
    a = AUTH.c
    p = _period_sessions(sensors)
    stmt = (
        select(
            a.username,
            a.password,
            func.count().label("attempts"),
            func.sum(case((a.success, 1), else_=0)).label("successes"),
            func.count(distinct(p.c.source_ip)).label("ips"),
            func.min(a.event_time).label("first_seen"),
        )
        .select_from(p.join(AUTH, a.session_id == p.c.session_id))
        .where(a.password.is_not(None))
        .group_by(a.username, a.password)
    )
    if new_only:
        hashes = select(a.password_hash).select_from(p.join(AUTH, a.session_id == p.c.session_id))
        stmt = stmt.where(a.password_hash.in_(never_before(hashes, AUTH, "password_hash", "event_time", indexed=True)))
    return stmt.order_by(func.count().desc(), a.username, a.password).limit(TOP)


@per_dialect
def _usernames_statement(dialect: str, sensors: bool) -> Select[Any]:
    a = AUTH.c
    p = _period_sessions(sensors)
    return (
        select(
            a.username,
            func.count().label("attempts"),
            func.sum(case((a.success, 1), else_=0)).label("successes"),
            func.count(distinct(a.password_hash)).label("passwords"),
        )
        .select_from(p.join(AUTH, a.session_id == p.c.session_id))
        .group_by(a.username)
        .order_by(func.count().desc(), a.username)
        .limit(TOP)
    )


@per_dialect
def _commands_statement(dialect: str, sensors: bool, new_only: bool) -> Select[Any]:
    c = COMMANDS.c
    p = _period_sessions(sensors)
    stmt = (
        select(
            c.input,
            func.count().label("times"),
            func.count(distinct(c.session_id)).label("sessions"),
            func.count(distinct(p.c.source_ip)).label("ips"),
            func.min(c.event_time).label("first_seen"),
        )
        .select_from(p.join(COMMANDS, c.session_id == p.c.session_id))
        .group_by(c.input)
    )
    if new_only:
        inputs = select(c.input).select_from(p.join(COMMANDS, c.session_id == p.c.session_id))
        stmt = stmt.where(c.input.in_(never_before(inputs, COMMANDS, "input", "event_time", indexed=False)))
    return stmt.order_by(func.count().desc(), c.input).limit(TOP)


@per_dialect
def _downloads_statement(dialect: str, sensors: bool, new_only: bool) -> Select[Any]:
    f = FILES.c
    p = _period_sessions(sensors)
    stmt = (
        select(
            f.shasum,
            f.direction,
            func.min(func.coalesce(f.url, f.filename, f.outfile)).label("source"),
            func.count(distinct(func.coalesce(f.url, f.filename, f.outfile))).label("sources"),
            func.count(distinct(f.session_id)).label("sessions"),
            func.count(distinct(p.c.source_ip)).label("ips"),
            func.min(f.event_time).label("first_seen"),
        )
        .select_from(p.join(FILES, f.session_id == p.c.session_id))
        .where(f.shasum.is_not(None))
        .group_by(f.shasum, f.direction)
    )
    if new_only:
        hashes = select(f.shasum).select_from(p.join(FILES, f.session_id == p.c.session_id))
        stmt = stmt.where(f.shasum.in_(never_before(hashes, FILES, "shasum", "event_time", indexed=True)))
    return stmt.order_by(func.count(distinct(f.session_id)).desc(), f.shasum).limit(TOP)


@per_dialect
def _planted_statement(dialect: str, sensors: bool) -> Select[Any]:
    k = KEYS.c
    s = SESSIONS.c
    return (
        select(
            k.fingerprint_sha256.label("fingerprint"),
            func.min(k.key_type).label("key_type"),
            func.min(k.key_comment).label("comment"),
            func.count(distinct(k.session_id)).label("sessions"),
            func.count(distinct(s.source_ip)).label("ips"),
            func.sum(case((s.login_success, 1), else_=0)).label("logged_in"),
            func.min(k.event_time).label("first_seen"),
        )
        .select_from(SESSIONS.join(KEYS, k.session_id == s.session_id))
        .where(*in_period(sensors), k.how_seen == "planted")
        .group_by(k.fingerprint_sha256)
        .order_by(func.count(distinct(k.session_id)).desc(), k.fingerprint_sha256)
        .limit(TOP)
    )


def details(engine: Engine, period: Period) -> dict[str, Any]:
    dialect, sensors, params = dialect_of(engine), bool(period.sensors), period.params()
    return {
        "credentials": fetch(engine, _credentials_statement(dialect, sensors, False), params),
        "new_credentials": fetch(engine, _credentials_statement(dialect, sensors, True), params),
        "usernames": fetch(engine, _usernames_statement(dialect, sensors), params),
        "commands": fetch(engine, _commands_statement(dialect, sensors, False), params),
        "new_commands": fetch(engine, _commands_statement(dialect, sensors, True), params),
        "downloads": fetch(engine, _downloads_statement(dialect, sensors, False), params),
        "new_downloads": fetch(engine, _downloads_statement(dialect, sensors, True), params),
        "planted_keys": fetch(engine, _planted_statement(dialect, sensors), params),
    }
