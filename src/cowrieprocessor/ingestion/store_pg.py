"""PostgreSQL bulk writes: binary COPY, straight into the final tables when the rows are known to be new.

The server's share of the work is what limits PostgreSQL ingestion, so rows go in binary (no text
parsing of timestamps, numbers or ``bytea`` hex on the server). Values psycopg would dump through
Python code are prepared once here instead: ``inet`` in its wire form (cached per address) and ``jsonb``
as its version byte plus the UTF-8 JSON text (the raw line itself unless it needed escaping), both sent
through the ``bytea`` dumper, which passes bytes as they are.

Look-ups by lists of keys are written as ``unnest`` + ``LATERAL (... LIMIT 1 / OFFSET 0)``, which pins
them to one index probe per key: a plain ``= ANY(array)`` lets the planner pick a sequential scan of
``raw_events`` (e.g. before autovacuum has analysed a freshly loaded table), once per batch.

Raw events go straight into ``raw_events`` without a look-up first; the unique index is the judge:
if one of them is stored already (a file read again, a renamed copy, a concurrent writer), the COPY
fails inside a savepoint - at its first row when the whole batch is old - and the batch goes through a
staging table with ``ON CONFLICT DO NOTHING``. Detail rows of new events are new
too (their uids derive from the event's) and take the same path, and so do the summaries of sessions
seen for the first time; the summaries of sessions that already have one are upserted from staging.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from cowrieprocessor.ingestion.events import Event
from cowrieprocessor.ingestion.store import (
    DETAIL_TABLES,
    IP_COUNTERS,
    NEW_SUMMARY_COLUMNS,
    RAW_COLUMNS,
    SESSION_COLUMNS,
    SNAPSHOT_SPAN,
    Conflict,
    Snapshot,
    Store,
    last_or_first,
)
from cowrieprocessor.ingestion.summaries import COMMAND_KNOWN, COMMAND_SEQUENCE, COMMAND_UID, Row
from cowrieprocessor.storage.generated import snapshot_country_sql

_TABLES = {
    "raw_events": RAW_COLUMNS,
    "session_summaries": SESSION_COLUMNS,
    "new_session_summaries": NEW_SUMMARY_COLUMNS,
    **DETAIL_TABLES,
}
#: Column sets that are written to another table than their name (and need no staging table).
_TARGET = {"new_session_summaries": "session_summaries"}
#: The unique key a row conflicts on, where it is not ``event_uid`` alone.
_UNIQUE = {"raw_events": "event_time, event_uid"}
_INET_CACHE: dict[str, bytes] = {}
_INET_CACHE_MAX = 200_000


def inet_wire(ip: str | None) -> bytes | None:
    """The binary ``inet`` value of a canonical address (family, bits, is_cidr, length, address)."""
    if ip is None:
        return None
    wire = _INET_CACHE.get(ip)
    if wire is None:
        addr = ipaddress.ip_address(ip)
        head = b"\x02\x20\x00\x04" if addr.version == 4 else b"\x03\x80\x00\x10"
        wire = head + addr.packed
        if len(_INET_CACHE) >= _INET_CACHE_MAX:
            _INET_CACHE.clear()
        _INET_CACHE[ip] = wire
    return wire


class PostgresStore(Store):
    placeholder = "%s"
    overlaps = True
    reading = False  # a second connection that only looks rows up (see ``reader``)
    #: Fewer, larger transactions: fewer round trips and index pages written once per commit, not twice.
    batch_events = 30_000

    def setup(self) -> None:
        """Binary COPY types per table, staging tables, and commits that do not wait for the WAL flush.

        ``synchronous_commit = off`` (this session only): a commit returns before its WAL record is on
        disk, so a crash of the *server* may lose the last fraction of a second of commits. Each batch
        commits its rows together with its file checkpoint, so a lost commit loses both: the next run reads
        those lines again, from the checkpoint that survived - nothing missing, nothing counted twice. A
        killed client loses nothing at all (the server has the commit).
        """
        self.types: dict[str, list[int]] = {}
        self.converters: dict[str, list[tuple[int, Callable[[Any], Any]]]] = {}
        with self.conn.cursor() as cur:
            cur.execute("SELECT oid FROM pg_type WHERE typname = 'bytea'")
            bytea = cur.fetchone()[0]
            for table, cols in _TABLES.items():
                cur.execute(
                    "SELECT a.attname, a.atttypid, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                    "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                    (_TARGET.get(table, table),),
                )
                found = {name: (oid, typname) for name, oid, typname in cur.fetchall()}
                oids: list[int] = []
                converters: list[tuple[int, Callable[[Any], Any]]] = []
                for i, col in enumerate(cols):
                    oid, typname = found[col]
                    if typname in ("inet", "jsonb"):
                        oids.append(bytea)
                        if typname == "inet" and table != "raw_events":
                            converters.append((i, inet_wire))
                    else:
                        oids.append(oid)
                self.types[table], self.converters[table] = oids, converters
                if table in _TARGET:
                    continue
                cur.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS tmp_{table} ON COMMIT DELETE ROWS AS "
                    f"SELECT {', '.join(cols)} FROM {table} WITH NO DATA"
                )
            cur.execute("SET synchronous_commit = off")
        self.conn.commit()

    def setup_reader(self) -> None:
        """Each look-up commits at once: a reading connection never sits idle in a transaction."""
        self.conn.autocommit = True
        self.reading = True

    def close(self) -> None:
        """Give the pool its connection back as it was lent."""
        if self.reading:
            self.conn.autocommit = False
        elif not (self.conn.closed or self.conn.broken):
            self.conn.rollback()
            self.conn.execute("RESET synchronous_commit")
            self.conn.commit()
        super().close()

    def begin(self) -> None:
        """Open the batch's transaction now, so that ``conn.transaction()`` blocks are savepoints in it.

        psycopg opens a transaction with the first statement, but a ``transaction()`` block entered while
        none is open is a transaction of its own, committed on exit: raw events would then be committed
        ahead of the rest of their batch and its checkpoint.
        """
        if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            self.conn.execute("SELECT 1")

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany(self.sql(statement), rows)

    def time(self, value: dt.datetime | None) -> Any:
        return value

    def _prepared(self, table: str, rows: Sequence[Row]) -> Sequence[Row]:
        converters = self.converters[table]
        if not converters or not rows:
            return rows
        out = []
        for row in rows:
            values = list(row)
            for i, convert in converters:
                values[i] = convert(values[i])
            out.append(tuple(values))
        return out

    def _copy(self, table: str, rows: Sequence[Row], target: str | None = None) -> None:
        """Binary COPY of ``rows`` (already prepared) into ``target`` (default: the staging table)."""
        cols = ", ".join(_TABLES[table])
        with self.conn.cursor() as cur:
            if target is None:
                cur.execute(f"TRUNCATE tmp_{table}")
            with cur.copy(f"COPY {target or 'tmp_' + table} ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(self.types[table])
                write = copy.write_row
                for row in rows:
                    write(row)

    def _copy_new(self, table: str, rows: Sequence[Row]) -> None:
        """COPY rows believed new straight into ``table``; :class:`Conflict` if one is there already."""
        try:
            self._copy(table, rows, target=_TARGET.get(table, table))
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(str(exc)) from exc

    def _insert_new(self, table: str, rows: Sequence[Row], returning: bool = False) -> set[str] | None:
        """COPY rows believed new straight into ``table``; on a uid conflict, insert the others only."""
        try:
            with self.conn.transaction():  # a savepoint: a conflict undoes this COPY only
                self._copy_new(table, rows)
            return None
        except Conflict:
            pass
        self._copy(table, rows)
        cols = ", ".join(_TABLES[table])
        key = _UNIQUE.get(table, "event_uid")
        result = self.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM tmp_{table} ON CONFLICT ({key}) DO NOTHING"
            + (" RETURNING event_uid" if returning else "")
        )
        return {r[0] for r in result} if returning else None

    @staticmethod
    def raw_row(e: Event) -> Row:
        return (
            e.uid, e.sensor, e.session, e.eventid, e.time, inet_wire(e.src_ip), e.file_id, e.offset,
            b"\x01" + e.payload if e.payload is not None else None, e.raw,
        )  # fmt: skip

    def insert_raw(self, events: Sequence[Event]) -> list[Event]:
        """No look-up first: the COPY itself finds out (a file read again conflicts on its first row)."""
        if not events:
            return []
        inserted = self._insert_new("raw_events", self._raw_rows(events), returning=True)
        return list(events) if inserted is None else [e for e in events if e.uid in inserted]

    def insert_new_raw(self, events: Sequence[Event]) -> None:
        if events:  # no savepoint: a conflict rolls the whole batch back
            self._copy_new("raw_events", self._raw_rows(events))

    def _per_session(self, statement: str, session_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """``statement``'s rows for these sessions: its one parameter is their ids as an array, which it reads as
        ``unnest(%s::text[]) AS u(sid)`` (one index probe per id); no ids, no query."""
        return self.execute(statement, (list(session_ids),)) if session_ids else []

    def existing_sessions(self, session_ids: Sequence[str]) -> dict[str, str | None]:
        rows = self._per_session(
            "SELECT s.session_id, host(s.source_ip) FROM unnest(%s::text[]) AS u(sid) CROSS JOIN LATERAL "
            "(SELECT session_id, source_ip FROM session_summaries WHERE session_id = u.sid LIMIT 1) s",
            session_ids,
        )
        return {r[0]: r[1] for r in rows}

    def _stored_event_rows(self, session_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        return self._per_session(
            "SELECT r.raw_line, r.sensor, r.source_file_id, r.source_offset, u.sid FROM unnest(%s::text[]) AS u(sid) "
            "CROSS JOIN LATERAL (SELECT raw_line, sensor, source_file_id, source_offset FROM raw_events "
            "WHERE session_id = u.sid OFFSET 0) r",
            session_ids,
        )

    def raw_event_counts(self, session_ids: Sequence[str]) -> dict[str, int]:
        rows = self._per_session(
            "SELECT u.sid, (SELECT COUNT(*) FROM raw_events WHERE session_id = u.sid) "
            "FROM unnest(%s::text[]) AS u(sid)",
            session_ids,
        )
        return {r[0]: int(r[1]) for r in rows if r[1]}

    def ensure_ips(self, ips: Sequence[str]) -> None:
        if ips:
            self.execute(
                "INSERT INTO ip_inventory (ip_address) SELECT unnest(%s::inet[]) ON CONFLICT DO NOTHING",
                (list(ips),),
            )

    def lock_ips(self, ips: Sequence[str]) -> None:
        if ips:
            self.execute(
                "SELECT 1 FROM ip_inventory WHERE ip_address = ANY(%s::inet[]) ORDER BY ip_address FOR UPDATE",
                (sorted(ips),),
            )

    def insert_summaries(self, rows: Sequence[Row]) -> None:
        """Straight into the table; :class:`Conflict` if a session has a row after all (see the SQLite store)."""
        if not rows:
            return
        self._copy_new("new_session_summaries", self._prepared("new_session_summaries", rows))

    def enriched_states(self, ips: Sequence[str]) -> dict[str, Snapshot]:
        """See the SQLite store; ``enrichment`` comes as the binary ``jsonb`` value COPY takes (version byte, text)."""
        if not ips:
            return {}
        rows = self.execute(
            f"SELECT host(i.ip_address), i.current_asn, {snapshot_country_sql('i.geo_country')}, i.ip_types, "
            "i.enrichment::text FROM unnest(%s::inet[]) AS u(ip) CROSS JOIN LATERAL (SELECT * FROM ip_inventory "
            "WHERE ip_address = u.ip AND enrichment_updated_at IS NOT NULL LIMIT 1) i",
            (list(ips),),
        )
        return {r[0]: (r[1], r[2], r[3], b"\x01" + r[4].encode()) for r in rows}

    def count_asn_sessions(self, rows: Sequence[tuple[int, int, Any, Any]]) -> None:
        if not rows:
            return
        self.execute(  # AS rows in ASN order, as the enrichment pass locks them: writers queue, never deadlock
            "SELECT 1 FROM asn_inventory WHERE asn_number = ANY(%s::bigint[]) ORDER BY asn_number FOR UPDATE",
            (sorted(r[0] for r in rows),),
        )
        self.execute(
            "UPDATE asn_inventory a SET total_session_count = a.total_session_count + b.n, "
            "first_seen = LEAST(a.first_seen, b.first), last_seen = GREATEST(a.last_seen, b.last) "
            "FROM (SELECT unnest(%s::bigint[]) AS asn, unnest(%s::int[]) AS n, unnest(%s::timestamptz[]) AS first, "
            "unnest(%s::timestamptz[]) AS last) b WHERE a.asn_number = b.asn",
            ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]),
        )

    def upsert_summaries(self, rows: Sequence[Row]) -> list[tuple[Any, Any, Any]]:
        if not rows:
            return []
        self._copy("session_summaries", self._prepared("session_summaries", rows))
        cols = ", ".join(SESSION_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in SESSION_COLUMNS[1:])
        found = self.execute(
            f"INSERT INTO session_summaries ({cols}) SELECT {cols} FROM tmp_session_summaries "
            f"ON CONFLICT (session_id) DO UPDATE SET {updates}, updated_at = CURRENT_TIMESTAMP {SNAPSHOT_SPAN}"
        )
        return [r for r in found if r[0] is not None]

    def insert_details(self, table: str, rows: Sequence[Row]) -> None:
        if rows:
            self._insert_new(table, rows)

    def update_command_order(self, rows: Sequence[Row]) -> None:
        if rows:
            self.execute(
                "UPDATE commands c SET sequence = u.seq, known = u.known FROM "
                "(SELECT unnest(%s::text[]) AS uid, unnest(%s::int[]) AS seq, unnest(%s::bool[]) AS known) u "
                "WHERE c.event_uid = u.uid",
                ([r[COMMAND_UID] for r in rows], [r[COMMAND_SEQUENCE] for r in rows], [r[COMMAND_KNOWN] for r in rows]),
            )

    def bump_ip_counters(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        rows = last_or_first(rows)
        self.execute(
            "UPDATE ip_inventory i SET session_count = i.session_count + b.n, "
            "first_seen = LEAST(i.first_seen, b.first), last_seen = GREATEST(i.last_seen, b.last), "
            "updated_at = CURRENT_TIMESTAMP FROM (SELECT unnest(%s::inet[]) AS ip, unnest(%s::int[]) AS n, "
            "unnest(%s::timestamptz[]) AS first, unnest(%s::timestamptz[]) AS last) b WHERE i.ip_address = b.ip",
            ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]),
        )

    def refresh_ip_counters(self, ips: Sequence[str]) -> None:
        if not ips:
            return
        n, first, last = IP_COUNTERS
        self.execute(
            "UPDATE ip_inventory i SET session_count = a.n, first_seen = a.first, last_seen = a.last, "
            f"updated_at = CURRENT_TIMESTAMP FROM (SELECT q.ip, {n} AS n, {first} AS first, {last} AS last "
            "FROM unnest(%s::inet[]) AS q(ip) LEFT JOIN session_summaries s ON s.source_ip = q.ip GROUP BY q.ip) a "
            "WHERE i.ip_address = a.ip",
            (list(ips),),
        )
