"""Credentials, commands and downloads of the period: the most frequent, and those first seen in it.

"First seen" is against every earlier row (any sensor): a password or command line the honeypots had never
been given before, a file hash never downloaded before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Select, Table, case, distinct, func, select

from cowrieprocessor.analysis.sql import COMMANDS, SESSIONS, dialect_of, fetch, per_dialect
from cowrieprocessor.report.period import Period
from cowrieprocessor.report.sql import AUTH, FILES, KEYS, in_period, never_before

TOP = 25


def _period_sessions(sensors: bool) -> Any:
    s = SESSIONS.c
    return select(s.session_id, s.source_ip).where(*in_period(sensors)).subquery("p")


def _ranked(
    table: Table,
    sensors: bool,
    groups: list[Any],
    measures: Callable[[Any], list[Any]],
    order: Any,
    *,
    new: tuple[str, bool] | None = None,
    where: tuple[Any, ...] = (),
) -> Select[Any]:
    """The ``TOP`` groups of ``table``'s rows of the period's sessions, by ``order``; with ``new`` = (column,
    indexed), only rows whose value of the column was never seen before the period."""
    p = _period_sessions(sensors)
    rows = p.join(table, table.c.session_id == p.c.session_id)
    stmt = select(*groups, *measures(p)).select_from(rows).where(*where).group_by(*groups)
    if new is not None:
        column, indexed = new
        values = select(table.c[column]).select_from(rows)
        stmt = stmt.where(table.c[column].in_(never_before(values, table, column, "event_time", indexed=indexed)))
    return stmt.order_by(order.desc(), *groups).limit(TOP)


@per_dialect
def _credentials_statement(dialect: str, sensors: bool, new_only: bool) -> Select[Any]:
    a = AUTH.c
    return _ranked(
        AUTH,
        sensors,
        [a.username, a.password],
        lambda p: [
            func.count().label("attempts"),
            func.sum(case((a.success, 1), else_=0)).label("successes"),
            func.count(distinct(p.c.source_ip)).label("ips"),
            func.min(a.event_time).label("first_seen"),
        ],
        func.count(),
        new=("password_hash", True) if new_only else None,
        where=(a.password.is_not(None),),
    )


@per_dialect
def _usernames_statement(dialect: str, sensors: bool) -> Select[Any]:
    a = AUTH.c
    return _ranked(
        AUTH,
        sensors,
        [a.username],
        lambda p: [
            func.count().label("attempts"),
            func.sum(case((a.success, 1), else_=0)).label("successes"),
            func.count(distinct(a.password_hash)).label("passwords"),
        ],
        func.count(),
    )


@per_dialect
def _commands_statement(dialect: str, sensors: bool, new_only: bool) -> Select[Any]:
    c = COMMANDS.c
    return _ranked(
        COMMANDS,
        sensors,
        [c.input],
        lambda p: [
            func.count().label("times"),
            func.count(distinct(c.session_id)).label("sessions"),
            func.count(distinct(p.c.source_ip)).label("ips"),
            func.min(c.event_time).label("first_seen"),
        ],
        func.count(),
        new=("input", False) if new_only else None,  # no index on the command text: one pass
    )


@per_dialect
def _downloads_statement(dialect: str, sensors: bool, new_only: bool) -> Select[Any]:
    f = FILES.c
    source = func.coalesce(f.url, f.filename, f.outfile)
    return _ranked(
        FILES,
        sensors,
        [f.shasum, f.direction],
        lambda p: [
            func.min(source).label("source"),
            func.count(distinct(source)).label("sources"),
            func.count(distinct(f.session_id)).label("sessions"),
            func.count(distinct(p.c.source_ip)).label("ips"),
            func.min(f.event_time).label("first_seen"),
        ],
        func.count(distinct(f.session_id)),
        new=("shasum", True) if new_only else None,
        where=(f.shasum.is_not(None),),
    )


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
    found = {
        "credentials": fetch(engine, _credentials_statement(dialect, sensors, False), params),
        "new_credentials": fetch(engine, _credentials_statement(dialect, sensors, True), params),
        "usernames": fetch(engine, _usernames_statement(dialect, sensors), params),
        "commands": fetch(engine, _commands_statement(dialect, sensors, False), params),
        "new_commands": fetch(engine, _commands_statement(dialect, sensors, True), params),
        "downloads": fetch(engine, _downloads_statement(dialect, sensors, False), params),
        "new_downloads": fetch(engine, _downloads_statement(dialect, sensors, True), params),
        "planted_keys": fetch(engine, _planted_statement(dialect, sensors), params),
    }
    # #19: each file's verdict from the artifact sources (empty until `enrich` asked them) and its novelty
    from cowrieprocessor.analysis.artifacts import file_rows, verdict_text

    known = file_rows(engine, [r["shasum"] for r in (*found["downloads"], *found["new_downloads"])])
    for row in (*found["downloads"], *found["new_downloads"]):
        file = known.get(row["shasum"])
        row["verdict"] = verdict_text(file, novel=False) if file else ""
        row["novel"] = bool(file and file.novel)
    return found
