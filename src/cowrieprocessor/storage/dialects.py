"""The one seam between the two backends: each declares here, once, what it can do and how it spells things.

Modules ask :func:`of` (an engine, connection, SQLAlchemy dialect or name) for the backend's :class:`Dialect`
and use its capabilities (``bulk_copy``, ``row_locks``, ...) and SQL fragments (JSON access, generated
columns, upserts, ...) instead of comparing dialect names - the way dlt declares destination capabilities.
A third backend is one more subclass here; no other module has a list of backends.

Fragments take and return SQL text (our own column names and constants, never user input). JSON-valued
arguments are the backend's JSON form: ``jsonb`` on PostgreSQL, JSON text on SQLite (json1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Engine, String, Text, event
from sqlalchemy.types import TypeEngine


class Dialect:
    """What differs between backends; one subclass per backend, one shared instance each (see :func:`of`)."""

    name: ClassVar[str]
    #: ``COPY ... FROM STDIN`` exists: bulk writes stream through it instead of multi-row ``INSERT``.
    bulk_copy: ClassVar[bool]
    #: Several writers run at once, so shared rows are locked (``FOR UPDATE``, in a stable order) first;
    #: without it there is one writer at a time and locking is a no-op.
    row_locks: ClassVar[bool]
    #: A list binds as one array parameter (``= ANY(:list)``), rather than an expanded ``IN (...)``.
    array_params: ClassVar[bool]
    #: Tables have a ``rowid`` that queries may order or exclude by.
    rowids: ClassVar[bool]
    #: ``EXCEPT ALL`` (a multiset difference) is available.
    except_all: ClassVar[bool]
    #: Per-connection tuning (page cache, WAL length) for a batch writer; and what ends its pass.
    #: ``{kib}`` and ``{pages}`` are filled in by the caller.
    batch_tuning: ClassVar[tuple[str, ...]]
    batch_end: ClassVar[tuple[str, ...]]
    #: ``CREATE TEMP TABLE`` suffix that drops the table when the transaction ends (empty: the caller drops it).
    temp_on_commit_drop: ClassVar[str]
    #: ``SELECT DISTINCT ON (key)`` exists (else: a ``ROW_NUMBER()`` window).
    distinct_on: ClassVar[bool]
    #: ``ALTER TABLE ... ADD CONSTRAINT`` exists (else the table is rebuilt: Alembic's batch mode).
    alter_constraints: ClassVar[bool]
    #: Statements before one large set-based rewrite in a transaction (memory for sorts and hashes).
    bulk_setup: ClassVar[tuple[str, ...]]
    #: Session-scoped helper functions some fragments call (``parse_utc``), created before they run.
    session_helpers: ClassVar[tuple[str, ...]]
    #: A database is one file on this machine: ``~`` in its path expands, VACUUM compacts it, and
    #: maintenance runs over the whole file rather than table by table (``VACUUM (ANALYZE) table``).
    files: ClassVar[bool]
    #: Triggers call a stored function (else the trigger body holds the statements itself).
    trigger_functions: ClassVar[bool]
    #: Time columns hold aware UTC times natively (else naive UTC text, which sorts as well).
    aware_times: ClassVar[bool]
    #: ``create_engine`` options this backend needs unless the caller says otherwise.
    engine_options: ClassVar[dict[str, Any]]

    def configure(self, engine: Engine) -> None:
        """Set up every new connection of ``engine`` (nothing by default)."""

    # ---------------------------------------------------------------------------------- column types
    def ip_type(self) -> TypeEngine[Any]:
        raise NotImplementedError

    def utc_time_type(self) -> TypeEngine[Any]:
        raise NotImplementedError

    def string_list_type(self) -> TypeEngine[Any]:
        raise NotImplementedError

    def document_type(self) -> TypeEngine[Any]:
        """A JSON document column."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------- statements
    def insert(self, table: Any) -> Any:
        """``INSERT`` with ``on_conflict_do_update``/``on_conflict_do_nothing`` (the upsert form)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------- JSON
    def json_get(self, x: str, *path: str | int) -> str:
        """The JSON value at ``path`` in ``x`` (NULL when absent)."""
        raise NotImplementedError

    def json_text_at(self, doc: str, *path: str) -> str:
        """The SQL text of the scalar at ``path`` (as generated columns read it)."""
        raise NotImplementedError

    def json_type(self, x: str) -> str:
        """The JSON type name; compare only with 'object' and 'array', which both backends name alike."""
        raise NotImplementedError

    def json_string(self, x: str) -> str:
        """The SQL text of a JSON string (NULL for other types)."""
        raise NotImplementedError

    def json_empty(self, x: str) -> str:
        """``x`` is NULL, ``null``, ``""``, ``{}`` or ``[]``: absent for the enrichment rules."""
        raise NotImplementedError

    def json_has_entry(self, x: str, keep: str, empty: Callable[[str], str]) -> str:
        """``x`` is an object with an entry ``e`` (``e.key``) meeting ``keep`` whose value is not ``empty``."""
        raise NotImplementedError

    def json_number(self, x: str) -> str:
        """An SQL integer as a JSON value."""
        raise NotImplementedError

    def json_quote(self, x: str) -> str:
        """An SQL text as a JSON string."""
        raise NotImplementedError

    def json_object_of(self, pairs: Sequence[tuple[str, str]], empty: Callable[[str], str]) -> str:
        """An object of the pairs whose value is not ``empty``, in the given order; NULL when none is left."""
        raise NotImplementedError

    def json_pair(self, key: str, value: str) -> str:
        """A one-key object."""
        raise NotImplementedError

    def json_array1(self, x: str) -> str:
        """A one-element array."""
        raise NotImplementedError

    def json_split(self, s: str) -> str:
        """``"a, b"`` -> ``["a", "b"]``."""
        raise NotImplementedError

    def json_empty_object(self) -> str:
        raise NotImplementedError

    def json_at_ip(self, x: str, key: str, ip: str) -> str:
        """``x[key][<ip column as text>]``."""
        raise NotImplementedError

    def json_only_value(self, x: str, key: str) -> str:
        """The value of the one entry of ``x[key]`` (a sub-query: errors when there are more)."""
        raise NotImplementedError

    def json_entry_count(self, x: str, key: str) -> str:
        raise NotImplementedError

    def json_as_number(self, x: str) -> str:
        """A positive AS number from a JSON integer or a string ``15169``/``AS15169`` (10 digits at most)."""
        raise NotImplementedError

    def json_text_list(self, x: str) -> str:
        """A JSON array as the backend's string-list column value (``TEXT[]`` / JSON array)."""
        raise NotImplementedError

    def json_nonempty_array(self, x: str) -> str:
        raise NotImplementedError

    def text_list_split(self, s: str) -> str:
        """``"a, b"`` as the backend's string-list column value."""
        raise NotImplementedError

    def parse_utc(self, s: str) -> str:
        """A time text (ISO 8601; naive is UTC) as this backend stores a UTC time, NULL when not one."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------ generated columns
    def generated_text_list(self, doc: str, *path: str) -> str:
        """The string list at ``path`` (an empty list when absent or not a list), as a generated column."""
        raise NotImplementedError

    def generated_bool(self, doc: str, *path: str) -> str:
        """The boolean at ``path`` (false when absent or not a boolean), as a generated column."""
        raise NotImplementedError

    def time_span(self, later: str, earlier: str) -> str:
        """An indexable expression that orders by ``later - earlier``."""
        raise NotImplementedError

    def scattered_order(self, key: str) -> str:
        """``ORDER BY`` that scatters rows inserted into a GiST-indexed table (empty where there is none):
        a GiST index builds a poor tree from sorted keys."""
        raise NotImplementedError


class SQLite(Dialect):
    name = "sqlite"
    bulk_copy = False
    row_locks = False
    array_params = False
    rowids = True
    except_all = False
    batch_tuning = ("PRAGMA cache_size=-{kib}", "PRAGMA wal_autocheckpoint={pages}")
    batch_end = ("PRAGMA wal_autocheckpoint=1000", "PRAGMA wal_checkpoint(PASSIVE)")
    temp_on_commit_drop = ""
    distinct_on = False
    alter_constraints = False
    bulk_setup = ()
    session_helpers = ()
    files = True
    trigger_functions = False
    aware_times = False
    engine_options: ClassVar[dict[str, Any]] = {}

    def configure(self, engine: Engine) -> None:
        """Foreign keys on, WAL for concurrent readers, and real transactions around DDL.

        pysqlite commits implicitly before DDL; taking over BEGIN makes a schema upgrade one transaction, so a
        failure in the middle leaves the database exactly as it was.
        """

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

    def ip_type(self) -> TypeEngine[Any]:
        return String(45)

    def utc_time_type(self) -> TypeEngine[Any]:
        return DateTime(timezone=False)

    def string_list_type(self) -> TypeEngine[Any]:
        return JSON()

    def document_type(self) -> TypeEngine[Any]:
        return JSON()

    def insert(self, table: Any) -> Any:
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)

    def json_get(self, x: str, *path: str | int) -> str:
        steps = "".join(f"[{p}]" if isinstance(p, int) else f'."{p}"' for p in path)
        return f"(({x}) -> '${steps}')"

    def json_text_at(self, doc: str, *path: str) -> str:
        return f"json_extract({doc}, '$.{'.'.join(path)}')"

    def json_type(self, x: str) -> str:
        return f"json_type({x})"

    def json_string(self, x: str) -> str:
        return f"(CASE WHEN json_type({x}) = 'text' THEN ({x}) ->> '$' END)"

    def json_empty(self, x: str) -> str:
        return f"({x} IS NULL OR {x} IN ('null', '\"\"', '{{}}', '[]'))"

    def json_has_entry(self, x: str, keep: str, empty: Callable[[str], str]) -> str:
        value = "(CASE WHEN e.type IN ('object', 'array') THEN e.value ELSE json_quote(e.value) END)"
        body = f"SELECT 1 FROM json_each({x}) e WHERE {keep} AND NOT {empty(value)}"
        return f"(json_type({x}) = 'object' AND EXISTS ({body}))"

    def json_number(self, x: str) -> str:
        return f"json({x})"

    def json_quote(self, x: str) -> str:
        return f"json_quote({x})"

    def json_object_of(self, pairs: Sequence[tuple[str, str]], empty: Callable[[str], str]) -> str:
        rows = " UNION ALL ".join(f"SELECT {i} AS n, '{k}' AS k, {v} AS v" for i, (k, v) in enumerate(pairs))
        return (
            f"(SELECT NULLIF(json_group_object(t.k, json(t.v)), '{{}}') FROM "
            f"(SELECT * FROM ({rows}) ORDER BY n) AS t WHERE NOT {empty('t.v')})"
        )

    def json_pair(self, key: str, value: str) -> str:
        return f"json_object('{key}', json({value}))"

    def json_array1(self, x: str) -> str:
        return f"json_array(json({x}))"

    def json_split(self, s: str) -> str:
        quoted = f"substr(json_quote({s}), 2, length(json_quote({s})) - 2)"
        return f"json('[\"' || replace({quoted}, ', ', '\",\"') || '\"]')"

    def json_empty_object(self) -> str:
        return "'{}'"

    def json_at_ip(self, x: str, key: str, ip: str) -> str:
        return f"(({x}) -> ('$.{key}.\"' || {ip} || '\"'))"

    def json_only_value(self, x: str, key: str) -> str:
        return f"(SELECT s.value FROM json_each(({x}), '$.{key}') s)"

    def json_entry_count(self, x: str, key: str) -> str:
        return f"(SELECT count(*) FROM json_each(({x}), '$.{key}'))"

    def json_as_number(self, x: str) -> str:
        t = f"(({x}) ->> '$')"
        digits = f"(CASE WHEN substr({t}, 1, 2) IN ('AS', 'as') THEN substr({t}, 3) ELSE {t} END)"
        return (
            f"(CASE WHEN json_type({x}) = 'integer' AND {t} > 0 AND {t} < 10000000000 THEN {t} "
            f"WHEN json_type({x}) = 'text' AND length({digits}) BETWEEN 1 AND 10 "
            f"AND {digits} NOT GLOB '*[^0-9]*' THEN NULLIF(CAST({digits} AS INTEGER), 0) END)"
        )

    def json_text_list(self, x: str) -> str:
        return f"json({x})"

    def json_nonempty_array(self, x: str) -> str:
        return f"json_type({x}) = 'array' AND json({x}) <> '[]'"

    def text_list_split(self, s: str) -> str:
        return self.json_split(s)

    def parse_utc(self, s: str) -> str:
        return (
            f"(CASE WHEN {s} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' "
            f"AND date(substr({s}, 1, 10), '+0 days') = substr({s}, 1, 10) "
            f"THEN strftime('%Y-%m-%d %H:%M:%f', {s}) || '000' END)"
        )

    def generated_text_list(self, doc: str, *path: str) -> str:
        at = f"'$.{'.'.join(path)}'"
        return f"CASE WHEN json_type({doc}, {at}) = 'array' THEN json_extract({doc}, {at}) ELSE '[]' END"

    def generated_bool(self, doc: str, *path: str) -> str:
        at = f"'$.{'.'.join(path)}'"
        return f"COALESCE(CASE WHEN json_type({doc}, {at}) IN ('true', 'false') THEN json_extract({doc}, {at}) END, 0)"

    def time_span(self, later: str, earlier: str) -> str:
        return f"(julianday({later}) - julianday({earlier}))"

    def scattered_order(self, key: str) -> str:
        return ""


class PostgreSQL(Dialect):
    name = "postgresql"
    bulk_copy = True
    row_locks = True
    array_params = True
    rowids = False
    except_all = True
    batch_tuning = ()
    batch_end = ()
    temp_on_commit_drop = "ON COMMIT DROP "
    distinct_on = True
    alter_constraints = True
    bulk_setup = ("SET LOCAL work_mem = '256MB'",)
    files = False
    trigger_functions = True
    aware_times = True
    engine_options: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}

    # The PostgreSQL dialect is imported where it is used: loading it costs an SQLite command ~20 ms (#21).
    def ip_type(self) -> TypeEngine[Any]:
        from sqlalchemy.dialects import postgresql

        return postgresql.INET()

    def utc_time_type(self) -> TypeEngine[Any]:
        from sqlalchemy.dialects import postgresql

        return postgresql.TIMESTAMP(timezone=True)

    def string_list_type(self) -> TypeEngine[Any]:
        from sqlalchemy.dialects import postgresql

        return postgresql.ARRAY(Text())

    def document_type(self) -> TypeEngine[Any]:
        """JSONB, never plain ``json``: it has no operators or indexes worth having."""
        from sqlalchemy.dialects import postgresql

        return postgresql.JSONB()

    #: Immutable helper for ``generated_text_list``: generated columns may not hold sub-queries (migration v16).
    TEXT_ARRAY_FUNCTION = "cowrieprocessor_jsonb_text_array"
    #: ``parse_utc``'s helper; lives in ``pg_temp`` (gone with the session, no schema change).
    TRY_TIMESTAMPTZ = "pg_temp.cp_try_timestamptz"
    TRY_TIMESTAMPTZ_SQL = r"""
CREATE OR REPLACE FUNCTION pg_temp.cp_try_timestamptz(value text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF value IS NULL OR value !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' THEN
    RETURN NULL;
  END IF;
  IF value ~ '(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN
    RETURN value::timestamptz;
  END IF;
  RETURN value::timestamp AT TIME ZONE 'UTC';
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$
"""
    session_helpers = (TRY_TIMESTAMPTZ_SQL,)

    def insert(self, table: Any) -> Any:
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)

    def json_get(self, x: str, *path: str | int) -> str:
        return f"({x})" + "".join(f"->{p}" if isinstance(p, int) else f"->'{p}'" for p in path)

    def json_text_at(self, doc: str, *path: str) -> str:
        return doc + "".join(f"->'{p}'" for p in path[:-1]) + f"->>'{path[-1]}'"

    def json_type(self, x: str) -> str:
        return f"jsonb_typeof({x})"

    def json_string(self, x: str) -> str:
        return f"(CASE WHEN jsonb_typeof({x}) = 'string' THEN ({x}) #>> '{{}}' END)"

    def json_empty(self, x: str) -> str:
        return f"({x} IS NULL OR {x} IN ('null'::jsonb, '\"\"'::jsonb, '{{}}'::jsonb, '[]'::jsonb))"

    def json_has_entry(self, x: str, keep: str, empty: Callable[[str], str]) -> str:
        body = f"SELECT 1 FROM jsonb_each({x}) e WHERE {keep} AND NOT {empty('e.value')}"
        return f"(jsonb_typeof({x}) = 'object' AND EXISTS ({body}))"

    def json_number(self, x: str) -> str:
        return f"to_jsonb({x})"

    def json_quote(self, x: str) -> str:
        return f"to_jsonb(({x})::text)"

    def json_object_of(self, pairs: Sequence[tuple[str, str]], empty: Callable[[str], str]) -> str:
        rows = ", ".join(f"('{k}', {v})" for k, v in pairs)
        return f"(SELECT jsonb_object_agg(t.k, t.v) FROM (VALUES {rows}) AS t(k, v) WHERE NOT {empty('t.v')})"

    def json_pair(self, key: str, value: str) -> str:
        return f"jsonb_build_object('{key}', {value})"

    def json_array1(self, x: str) -> str:
        return f"jsonb_build_array({x})"

    def json_split(self, s: str) -> str:
        return f"to_jsonb(string_to_array({s}, ', '))"

    def json_empty_object(self) -> str:
        return "'{}'::jsonb"

    def json_at_ip(self, x: str, key: str, ip: str) -> str:
        return f"(({x})->'{key}'->host({ip}))"

    def json_only_value(self, x: str, key: str) -> str:
        return f"(SELECT s.value FROM jsonb_each(({x})->'{key}') s)"

    def json_entry_count(self, x: str, key: str) -> str:
        return f"(SELECT count(*) FROM jsonb_object_keys(({x})->'{key}'))"

    def json_as_number(self, x: str) -> str:
        t = f"({x}) #>> '{{}}'"
        return (
            f"(CASE WHEN jsonb_typeof({x}) IN ('number', 'string') AND {t} ~ '^(AS|as)?[0-9]{{1,10}}$' "
            f"AND (jsonb_typeof({x}) = 'string' OR {t} ~ '^[0-9]+$') "
            f"THEN NULLIF(regexp_replace({t}, '^(AS|as)', '')::bigint, 0) END)"
        )

    def json_text_list(self, x: str) -> str:
        return f"ARRAY(SELECT jsonb_array_elements_text({x}))"

    def json_nonempty_array(self, x: str) -> str:
        return f"jsonb_typeof({x}) = 'array' AND {x} <> '[]'::jsonb"

    def text_list_split(self, s: str) -> str:
        return f"string_to_array({s}, ', ')"

    def parse_utc(self, s: str) -> str:
        return f"{self.TRY_TIMESTAMPTZ}({s})"

    def generated_text_list(self, doc: str, *path: str) -> str:
        return f"{self.TEXT_ARRAY_FUNCTION}({doc}" + "".join(f"->'{p}'" for p in path) + ")"

    def generated_bool(self, doc: str, *path: str) -> str:
        return (
            f"COALESCE(CASE WHEN jsonb_typeof({doc}" + "".join(f"->'{p}'" for p in path) + ") = 'boolean' "
            f"THEN ({self.json_text_at(doc, *path)})::boolean END, false)"
        )

    def time_span(self, later: str, earlier: str) -> str:
        return f"({later} - {earlier})"

    def scattered_order(self, key: str) -> str:
        return f"ORDER BY md5({key}::text)"


#: The supported backends, by SQLAlchemy's dialect name.
DIALECTS: dict[str, Dialect] = {d.name: d for d in (PostgreSQL(), SQLite())}


def of(where: Any) -> Dialect:
    """The declared :class:`Dialect` of an engine, connection, SQLAlchemy dialect or dialect name."""
    name = where if isinstance(where, str) else getattr(getattr(where, "dialect", where), "name", None)
    try:
        return DIALECTS[str(name)]
    except KeyError:
        raise ValueError(f"unsupported database {name!r}: use sqlite or postgresql") from None


def of_or_portable(where: Any) -> Dialect:
    """:func:`of`, except that another dialect - SQLAlchemy's string compiler (``str(statement)``) above all -
    gets the portable forms (SQLite's: text addresses, naive UTC times, JSON lists) instead of an error."""
    name = getattr(getattr(where, "dialect", where), "name", where)
    return DIALECTS.get(str(name)) or DIALECTS[SQLite.name]
