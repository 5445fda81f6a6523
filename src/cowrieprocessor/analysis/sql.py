"""Shared pieces of the analysis queries: the tables, the per-dialect expressions, the statement cache.

Every statement is a SQLAlchemy Core ``select()`` with bound parameters, built once per dialect (and per
shape, e.g. which filters are active) and then reused: the database sees the same SQL text every time, so
plans are cached, and nothing an analyst types is ever spliced into SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import CompoundSelect, Engine, Select, Table, distinct, func, true
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from cowrieprocessor.storage.tables import metadata

SESSIONS: Table = metadata.tables["session_summaries"]
IPS: Table = metadata.tables["ip_inventory"]
ASNS: Table = metadata.tables["asn_inventory"]
HISTORY: Table = metadata.tables["ip_asn_history"]
COMMANDS: Table = metadata.tables["commands"]
AUTH: Table = metadata.tables["auth_attempts"]
TRANSFERS: Table = metadata.tables["file_transfers"]
KEYS: Table = metadata.tables["ssh_keys"]
FORWARDS: Table = metadata.tables["port_forwards"]
EXPLOITS: Table = metadata.tables["exploit_attempts"]
CALLS: Table = metadata.tables["provider_calls"]
INGEST_FILES: Table = metadata.tables["ingest_files"]
DIGESTS: Table = metadata.tables["report_digests"]
RAW: Table = metadata.tables["raw_events"]
FILE_INVENTORY: Table = metadata.tables["file_inventory"]
URL_INVENTORY: Table = metadata.tables["url_inventory"]
PAYLOAD_HOSTS: Table = metadata.tables["payload_hosts"]
PAYLOAD_ADDRESSES: Table = metadata.tables["payload_host_addresses"]

SUPPORTED = ("postgresql", "sqlite")

T = TypeVar("T")


def dialect_of(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in SUPPORTED:
        raise ValueError(f"unsupported database {name!r}: use sqlite or postgresql")
    return name


def per_dialect(builder: Callable[..., T]) -> Callable[..., T]:
    """Memoise a statement builder on its (hashable) arguments, the first being the dialect name."""
    return cache(builder)


def fetch(
    engine: Engine, statement: Select[Any] | CompoundSelect[Any], params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Run a read-only statement and return plain dicts (errors propagate: never swallowed)."""
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(statement, dict(params)).mappings()]


def reach() -> tuple[ColumnElement[Any], ...]:
    """How far a set of sessions reaches: ``sessions``, and the distinct source ``ips``, ``asns`` and
    ``countries`` at attack time (snapshot columns)."""
    s = SESSIONS.c
    return (
        func.count().label("sessions"),
        func.count(distinct(s.source_ip)).label("ips"),
        func.count(distinct(s.snapshot_asn)).label("asns"),
        func.count(distinct(s.snapshot_country)).label("countries"),
    )


def ip_types_unnested(dialect: str, column: ColumnElement[Any]) -> FromClause:
    """One row per element of a ``StringList`` column (``TEXT[]`` on PostgreSQL, JSON array on SQLite)."""
    if dialect == "postgresql":
        return func.unnest(column).table_valued("ip_type").render_derived(name="t").lateral("t")
    # json_each may reference the preceding table without LATERAL in SQLite.
    return func.json_each(column).table_valued("value").alias("t")


def ip_type_column(dialect: str, unnested: FromClause) -> ColumnElement[Any]:
    return unnested.c.ip_type if dialect == "postgresql" else unnested.c.value


def outer_join_unnested(left: FromClause, unnested: FromClause) -> FromClause:
    """``left LEFT JOIN unnest(...) ON true``: sessions without any type keep a row (type NULL)."""
    return left.outerjoin(unnested, true())


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """Require aware datetimes (naive ones are refused everywhere in this project)."""
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware time")
    return value
