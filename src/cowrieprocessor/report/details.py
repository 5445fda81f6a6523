"""Credentials, commands and downloads of the period: the most frequent, and those first seen in it.

"First seen" is against every earlier row (any sensor): a password or command line the honeypots had never
been given before, a file hash never downloaded before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Select, Table, and_, case, distinct, func, literal_column, or_, select

from cowrieprocessor.analysis.sql import COMMANDS, SESSIONS, dialect_of, fetch, per_dialect
from cowrieprocessor.report.period import Period
from cowrieprocessor.report.sql import AUTH, FILES, KEYS, in_period, never_before

TOP = 25


def _period_sessions(sensors: bool) -> Any:
    s = SESSIONS.c
    return select(s.session_id, s.source_ip).where(*in_period(sensors)).subquery("p")


def _all(value: Any) -> Any:
    """``_ranked``'s ``keep`` for the table of every group: each row's value as it is."""
    return value


def _ranked(
    table: Table,
    sensors: bool,
    groups: list[Any],
    measures: Callable[[Any, Callable[[Any], Any]], list[Any]],
    order: Callable[[Callable[[Any], Any]], Any],
    *,
    new: tuple[str, bool] | None = None,
    where: tuple[Any, ...] = (),
) -> Select[Any]:
    """The ``TOP`` groups of ``table``'s rows of the period's sessions, by ``order``.

    With ``new`` = (column, indexed), the same pass also ranks the groups by their rows whose value of the
    column was never seen before the period (their measures again, over those rows only, named ``new_...``;
    ``rank`` and ``new_rank``): one scan and one aggregation serve both tables. When the column is one of the
    groups, a group is new or not as a whole (its value is looked up once, after grouping) and its measures
    are those of all its rows. Otherwise each row is looked up in the set of new values (hashed) and
    ``measures(p, keep)`` and ``order(keep)`` build them again over ``keep(value)``: the value on a new row,
    NULL on another (aggregates skip NULLs; ``count(keep(1))`` counts rows).
    """
    p = _period_sessions(sensors)
    rows = p.join(table, table.c.session_id == p.c.session_id)
    stmt = select(*groups, *measures(p, _all)).select_from(rows).where(*where).group_by(*groups)
    if new is None:
        return stmt.order_by(order(_all).desc(), *groups).limit(TOP)
    column, indexed = new
    if any(g is table.c[column] for g in groups):  # new or not is the group's: its measures are the same
        grouped = stmt.add_columns(order(_all).label("ordered")).cte("grouped").c
        keys = [grouped[g.name] for g in groups]
        news = never_before(select(grouped[column]), table, column, "event_time", indexed=indexed)
        fresh: Any = case((grouped[column].in_(news), 1), else_=0)  # the groups' values, looked up once
        ranks = (
            func.row_number().over(order_by=(grouped.ordered.desc(), *keys)).label("rank"),
            func.row_number().over(partition_by=fresh, order_by=(grouped.ordered.desc(), *keys)).label("new_rank"),
        )
        inner = select(*(c for c in grouped if c.name != "ordered"), fresh.label("fresh"), *ranks).subquery("ranked")
        same = [inner.c[m.name].label(f"new_{m.name}") for m in measures(p, _all)]
        new_order = case((inner.c.fresh == 1, inner.c.rank), else_=0).label("new_order")  # > 0: new
        ranked = select(*(c for c in inner.c if c.name != "fresh"), *same, new_order).subquery("flagged")
    else:
        values = select(table.c[column]).select_from(rows)
        found = never_before(values, table, column, "event_time", indexed=indexed).cte("new_values")
        # a hash probe per row into the one set (a join to it, misjudged as tiny, became a nested loop)
        fresh = table.c[column].in_(select(found.c[0]))

        def keep(value: Any) -> Any:
            return case((fresh, value))

        renamed = [m.element.label(f"new_{m.name}") for m in measures(p, keep)]
        ranks = (
            func.row_number().over(order_by=(order(_all).desc(), *groups)).label("rank"),
            func.row_number()
            .over(partition_by=order(keep) > 0, order_by=(order(keep).desc(), *groups))
            .label("new_rank"),
        )
        ranked = stmt.add_columns(*renamed, order(keep).label("new_order"), *ranks).subquery("ranked")
    r = ranked.c
    return select(ranked).where(or_(r.rank <= TOP, and_(r.new_order > 0, r.new_rank <= TOP))).order_by(r.rank)


def _split(rows: list[dict[str, Any]], groups: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A ``_ranked`` statement's rows with ``new`` as its two tables: every group, and the new ones (rows
    whose first ``groups`` columns are the group's; then its measures, then the same over the new rows)."""
    top, fresh = [], []
    for row in rows:
        names = list(row)
        measures = [n for n in names[groups:] if not n.startswith("new_") and n not in ("rank", "new_rank")]
        if row["rank"] <= TOP:
            top.append({n: row[n] for n in names[:groups] + measures})
        if row["new_order"] > 0 and row["new_rank"] <= TOP:
            group = {n: row[n] for n in names[:groups]}
            fresh.append((row["new_rank"], {**group, **{m: row[f"new_{m}"] for m in measures}}))
    return top, [r for _, r in sorted(fresh, key=lambda x: x[0])]


@per_dialect
def _credentials_statement(dialect: str, sensors: bool) -> Select[Any]:
    a = AUTH.c
    return _ranked(
        AUTH,
        sensors,
        [a.username, a.password],
        lambda p, keep: [
            func.count(keep(literal_column("1"))).label("attempts"),
            func.sum(keep(case((a.success, 1), else_=0))).label("successes"),
            func.count(distinct(keep(p.c.source_ip))).label("ips"),
            func.min(keep(a.event_time)).label("first_seen"),
        ],
        lambda keep: func.count(keep(literal_column("1"))),
        new=("password_hash", True),
        where=(a.password.is_not(None),),
    )


@per_dialect
def _usernames_statement(dialect: str, sensors: bool) -> Select[Any]:
    a = AUTH.c
    return _ranked(
        AUTH,
        sensors,
        [a.username],
        lambda p, keep: [
            func.count().label("attempts"),
            func.sum(case((a.success, 1), else_=0)).label("successes"),
            func.count(distinct(a.password_hash)).label("passwords"),
        ],
        lambda keep: func.count(),
    )


@per_dialect
def _commands_statement(dialect: str, sensors: bool) -> Select[Any]:
    c = COMMANDS.c
    return _ranked(
        COMMANDS,
        sensors,
        [c.input],
        lambda p, keep: [
            func.count(keep(literal_column("1"))).label("times"),
            func.count(distinct(keep(c.session_id))).label("sessions"),
            func.count(distinct(keep(p.c.source_ip))).label("ips"),
            func.min(keep(c.event_time)).label("first_seen"),
        ],
        lambda keep: func.count(keep(literal_column("1"))),
        new=("input", False),  # no index on the command text: one pass
    )


@per_dialect
def _downloads_statement(dialect: str, sensors: bool) -> Select[Any]:
    f = FILES.c
    source = func.coalesce(f.url, f.filename, f.outfile)
    return _ranked(
        FILES,
        sensors,
        [f.shasum, f.direction],
        lambda p, keep: [
            func.min(keep(source)).label("source"),
            func.count(distinct(keep(source))).label("sources"),
            func.count(distinct(keep(f.session_id))).label("sessions"),
            func.count(distinct(keep(p.c.source_ip))).label("ips"),
            func.min(keep(f.event_time)).label("first_seen"),
        ],
        lambda keep: func.count(distinct(keep(f.session_id))),
        new=("shasum", True),
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
    found: dict[str, Any] = {"usernames": fetch(engine, _usernames_statement(dialect, sensors), params)}
    for name, statement, groups in (
        ("credentials", _credentials_statement, 2),
        ("commands", _commands_statement, 1),
        ("downloads", _downloads_statement, 2),
    ):
        found[name], found[f"new_{name}"] = _split(fetch(engine, statement(dialect, sensors), params), groups)
    found["planted_keys"] = fetch(engine, _planted_statement(dialect, sensors), params)
    # #19: each file's verdict from the artifact sources (empty until `enrich` asked them) and its novelty
    from cowrieprocessor.analysis.artifacts import file_rows, verdict_text

    known = file_rows(engine, [r["shasum"] for r in (*found["downloads"], *found["new_downloads"])])
    for row in (*found["downloads"], *found["new_downloads"]):
        file = known.get(row["shasum"])
        row["verdict"] = verdict_text(file, novel=False) if file else ""
        row["novel"] = bool(file and file.novel)
    return found
