"""Pieces shared by the report's statements: the period filter and per-dialect time buckets.

Statements are SQLAlchemy Core with bound parameters, built once per dialect and shape (``per_dialect``),
like those of ``cowrieprocessor.analysis``; attacker text only ever travels as a bound parameter or a result.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, Table, bindparam, exists, func, select

from cowrieprocessor.analysis.sql import AUTH, CALLS, DIGESTS, INGEST_FILES, KEYS, SESSIONS
from cowrieprocessor.analysis.sql import TRANSFERS as FILES

__all__ = [
    "AUTH",
    "CALLS",
    "DIGESTS",
    "FILES",
    "INGEST_FILES",
    "KEYS",
    "bucket",
    "in_period",
    "never_before",
    "period_first",
]


def in_period(sensors: bool) -> list[ColumnElement[bool]]:
    """``first_event_at`` in ``[:since, :until)`` (served by its index), and the sensors when filtered."""
    s = SESSIONS.c
    conditions = [s.first_event_at >= bindparam("since"), s.first_event_at < bindparam("until")]
    if sensors:
        conditions.append(s.sensor.in_(bindparam("sensors", expanding=True)))
    return conditions


def bucket(dialect: str, column: Any, unit: str) -> ColumnElement[str]:
    """A UTC time as the text of its hour (``YYYY-MM-DD HH``) or day (``YYYY-MM-DD``), the same on both
    backends: SQLite stores ISO text, so a prefix is its bucket; PostgreSQL formats the UTC wall time."""
    if dialect == "postgresql":
        pattern = "YYYY-MM-DD HH24" if unit == "hour" else "YYYY-MM-DD"
        return func.to_char(func.timezone("UTC", column), pattern)
    return func.substr(column, 1, 13 if unit == "hour" else 10)


def never_before(candidates: Select[Any], table: Table, column: str, moment: str, *, indexed: bool) -> Select[Any]:
    """The values of ``candidates`` (one column) never seen in ``table.column`` before ``:since``.

    Both plans look at each *distinct* candidate once. With an index on the column, one probe per value that
    stops at its first earlier row (``NOT EXISTS``); without one, a single pass over the table keeps the
    values whose earliest row is in the window (``GROUP BY ... HAVING MIN(...) >= :since``) - a probe per
    value would scan the whole table each time.
    """
    values = candidates.distinct().subquery("candidates")
    value = values.c[0]
    if indexed:
        earlier = table.alias("earlier")
        found = exists().where(earlier.c[column] == value, earlier.c[moment] < bindparam("since"))
        return select(value).where(~found)
    col = table.c[column]
    first = func.min(table.c[moment])
    return select(col).where(col.in_(select(value))).group_by(col).having(first >= bindparam("since"))


def period_first(dialect: str, column: Any) -> Any:
    """``column`` as a filter that does not pick its own index on SQLite (``coalesce(c, c)``): with the period's
    time range also in the WHERE clause, SQLite would otherwise read every row ever of a busy key or IP
    through that column's index, instead of the period's rows through the time index."""
    return func.coalesce(column, column) if dialect == "sqlite" else column
