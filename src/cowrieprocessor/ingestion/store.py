"""Bulk writes for ingestion on the raw DBAPI connection (no ORM objects on the hot path).

One :class:`Store` per run. Every batch is one transaction (data rows, summaries, dead letters and the
file checkpoint together), so a crash at any point leaves the database as it was after the last
batch. SQLite gets multi-row ``INSERT ... VALUES (...), (...)`` inside explicit transactions (WAL,
``synchronous=NORMAL`` as the engine sets it; a larger auto-checkpoint so hot index pages are not written
back after every batch): one statement step per few hundred rows instead of one per row, which saves
the per-row statement reset and, above all, the GIL hand-over the driver makes around every step while
the reading thread is parsing;
PostgreSQL subclasses this in :mod:`cowrieprocessor.ingestion.store_pg` with binary COPY.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any

from sqlalchemy import Engine

from cowrieprocessor.ingestion.activity import ACTIVITY_COLUMNS, EXPLOIT_COLUMNS, FORWARD_COLUMNS
from cowrieprocessor.ingestion.events import Event, parse_line
from cowrieprocessor.ingestion.summaries import (
    AUTH_COLUMNS,
    COMMAND_COLUMNS,
    COMMAND_KNOWN,
    COMMAND_SEQUENCE,
    COMMAND_UID,
    DETAIL_TIME,
    KEY_COLUMNS,
    SNAPSHOT_COLUMNS,
    SUMMARY_COLUMNS,
    SUMMARY_TIMES,
    TRANSFER_COLUMNS,
    Row,
)
from cowrieprocessor.storage import dialects
from cowrieprocessor.storage.counters import counters_sql
from cowrieprocessor.storage.generated import snapshot_country_sql

RAW_COLUMNS = (
    "event_uid", "sensor", "session_id", "eventid", "event_time", "source_ip", "source_file_id",
    "source_offset", "payload", "raw_line",
)  # fmt: skip
_RAW_INSERT = f"INSERT INTO raw_events ({', '.join(RAW_COLUMNS)})"
#: A summary row as the writer makes it: the summary's own columns, then port forwarding and exploits.
SESSION_COLUMNS = SUMMARY_COLUMNS + ACTIVITY_COLUMNS
#: New sessions go in with their snapshot columns (NULL where their IP has no enrichment yet).
NEW_SUMMARY_COLUMNS = SESSION_COLUMNS + SNAPSHOT_COLUMNS
#: What an upsert of summaries returns: each session's snapshot AS and event-time span.
SNAPSHOT_SPAN = "RETURNING snapshot_asn, first_event_at, coalesce(last_event_at, first_event_at)"
#: A snapshot as :meth:`Store.enriched_states` gives it: ASN, country, IP types, enrichment - as stored.
Snapshot = tuple[Any, Any, Any, Any]
DEAD_COLUMNS = ("source_file_id", "source_path", "source_offset", "reason", "detail", "raw")
DETAIL_TABLES = {
    "auth_attempts": AUTH_COLUMNS,
    "commands": COMMAND_COLUMNS,
    "file_transfers": TRANSFER_COLUMNS,
    "ssh_keys": KEY_COLUMNS,
    "port_forwards": FORWARD_COLUMNS,
    "exploit_attempts": EXPLOIT_COLUMNS,
}
_CHUNK = 500  # SQLite bound parameters per IN (...)
_WAL_LIMIT = 65536  # pages (256 MB): the writer checkpoints itself only if the checkpointer falls behind
RESTART_FRAMES = 16384  # pages (64 MB): a longer WAL is restarted before the next transaction
#: The IP counter aggregates over ``session_summaries s`` (the one rule, :mod:`cowrieprocessor.storage.counters`).
IP_COUNTERS = counters_sql("s")
_MAX_PARAMS = 4000  # bound parameters per multi-row INSERT (SQLite allows 32766)
#: Time texts of the events read recently (a few batches' worth), by their datetime.
_TIME_TEXT: dict[dt.datetime, str] = {}
_TIME_TEXT_MAX = 50_000


def sqlite_time(value: dt.datetime | None) -> str | None:
    """SQLite stores UTC as naive ISO text, as the ``UTCDateTime`` column type does."""
    if value is None:
        return None
    text = _TIME_TEXT.get(value)
    if text is not None:
        return text
    if value.tzinfo is not dt.UTC and value.utcoffset():
        value = value.astimezone(dt.UTC)
    return value.isoformat(" ", "microseconds")[:26]


def event_time_text(e: Event) -> str:
    """``sqlite_time(e.time)``, cut from Cowrie's own timestamp text when it has the usual shape.

    The text is remembered for the event's datetime, which its detail rows and its session's summary
    carry too: the writing thread then finds it instead of formatting the time again.
    """
    ts = e.data.get("timestamp")
    if type(ts) is str and len(ts) == 27 and ts[26] == "Z" and ts[10] == "T" and ts[19] == ".":
        text = ts[:10] + " " + ts[11:26]  # "YYYY-MM-DDTHH:MM:SS.ffffffZ", as parse_time accepted it
    else:
        text = sqlite_time(e.time)  # type: ignore[assignment]
    if len(_TIME_TEXT) >= _TIME_TEXT_MAX:
        _TIME_TEXT.clear()
    _TIME_TEXT[e.time] = text
    return text


def open_store(engine: Engine) -> Store:
    """The writer for the engine's backend: binary COPY where it declares ``bulk_copy``, else multi-row VALUES."""
    if dialects.of(engine).bulk_copy:
        from cowrieprocessor.ingestion.store_pg import PostgresStore

        return PostgresStore(engine)
    return Store(engine)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Checkpointer:
    """Copies committed WAL pages back into the database file from a thread of its own.

    SQLite's automatic checkpoint runs inside the ``COMMIT`` of the writing connection: the writer then
    spends about a fifth of its time copying pages and syncing the file. A ``PASSIVE`` checkpoint from a
    second connection does that work on the other core without blocking the writer. SQLite only
    restarts the WAL from its start when a write transaction begins while every page has been copied
    back, so once the WAL has grown past ``RESTART_FRAMES`` the writer waits for the checkpoint under
    way (the last batch's pages) before its next transaction. Only committed pages are ever copied: a
    crash at any moment leaves the database as the last commit left it.
    """

    def __init__(self, database: str) -> None:
        self.database = database
        self.restart_frames = RESTART_FRAMES
        self.frames = 0  # WAL length (pages) at the last checkpoint
        self.pending = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        self.stopping = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        """A transaction was committed: copy its pages back."""
        self._raise()
        self.idle.clear()
        self.pending.set()

    def settle(self) -> None:
        """Before a transaction: if the WAL is long, let the checkpoint finish so the WAL restarts."""
        if self.frames >= self.restart_frames:
            while not self.idle.wait(0.1) and self.thread.is_alive():
                pass
        self._raise()

    def stop(self) -> None:
        self.stopping = True
        self.pending.set()
        self.thread.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.database, isolation_level=None)
            try:
                conn.execute("PRAGMA busy_timeout=30000")
                while True:
                    self.pending.wait()
                    self.pending.clear()
                    if self.stopping:
                        return
                    self.frames = int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
                    if not self.pending.is_set():
                        self.idle.set()
            finally:
                conn.close()
        except BaseException as exc:  # raised in the writing thread at its next transaction
            self.error = exc
        finally:
            self.idle.set()


class Conflict(Exception):
    """A batch written as new met rows the database has already - events, or a session another loader created
    meanwhile: it is rolled back and done again the careful way."""


_DUPLICATE_KEY = {sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY}


@contextmanager
def _duplicates_conflict() -> Iterator[None]:
    """A duplicate key becomes a :class:`Conflict`; any other broken constraint raises as it is."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if exc.sqlite_errorcode in _DUPLICATE_KEY:
            raise Conflict(str(exc)) from exc
        raise


class Store:
    """SQLite implementation; the SQL is written with ``?`` placeholders."""

    placeholder = "?"
    checkpointer: Checkpointer | None = None
    #: Whether a second connection sees this one's commits, so batches can be written in another thread
    #: (not so for an in-memory SQLite database: its connection is its database, bound to one thread).
    overlaps = False
    #: Events per batch (one transaction) unless the caller says otherwise.
    batch_events = 10_000

    def __init__(self, engine: Engine, *, setup: bool = True) -> None:
        self.engine = engine
        self._proxy = engine.raw_connection()
        self.conn: Any = self._proxy.driver_connection
        if setup:
            self.setup()

    def reader(self) -> Store:
        """A second connection, for look-ups of committed rows while this one writes in another thread."""
        other = type(self)(self.engine, setup=False)
        other.setup_reader()
        return other

    def setup_reader(self) -> None:
        """SQLite's connections are in autocommit mode: every look-up reads the latest commit."""

    def setup(self) -> None:
        self.conn.execute("PRAGMA cache_size=-65536")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
        database = self.engine.url.database
        self.checkpointer = (
            Checkpointer(database) if str(mode).lower() == "wal" and database not in (None, "", ":memory:") else None
        )
        self.overlaps = self.checkpointer is not None
        # The checkpointer keeps the WAL short; the connection's own checkpoint is only the safety net.
        self.conn.execute(f"PRAGMA wal_autocheckpoint={_WAL_LIMIT if self.checkpointer else 16384}")

    def close(self) -> None:
        try:
            if self.checkpointer is not None:
                self.checkpointer.stop()
                self.conn.execute("PRAGMA wal_autocheckpoint=1000")  # the pooled connection's default again
        finally:
            self._proxy.close()

    # ------------------------------------------------------------------ transactions
    def begin(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.settle()
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        if self.checkpointer is not None:
            self.checkpointer.wake()

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def sql(self, statement: str) -> str:
        return statement

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        try:
            cur.execute(self.sql(statement), params)
            return list(cur.fetchall()) if cur.description else []
        finally:
            cur.close()

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.executemany(self.sql(statement), rows)

    def insert_values(
        self, head: str, ncols: int, tail: str, rows: Sequence[Sequence[Any]], *, returning: bool = False
    ) -> list[tuple[Any, ...]]:
        """``head VALUES (?, ...), (?, ...) tail`` for ``rows``, many rows per statement; with ``returning``
        (a ``RETURNING`` clause in ``tail``) the rows it returns.

        Statements have one of three sizes (as many rows as fit, 32 rows, one row), so the driver's
        statement cache holds a few prepared statements per table, not one per batch remainder.
        """
        start = 0
        out: list[tuple[Any, ...]] = []
        for size in (max(1, _MAX_PARAMS // ncols), 32, 1):
            count = (len(rows) - start) // size
            if not count:
                continue
            sql = f"{head} VALUES {', '.join(['(' + ', '.join('?' * ncols) + ')'] * size)} {tail}"
            flat = chain.from_iterable
            ends = range(start, start + count * size, size)
            params = [list(flat(rows[i : i + size])) for i in ends]
            if returning:
                for values in params:
                    out += self.conn.execute(sql, values).fetchall()
            else:
                self.conn.executemany(sql, params)
            start += count * size
        return out

    def time(self, value: dt.datetime | None) -> Any:
        """A time as this backend binds it (PostgreSQL's store passes datetimes through)."""
        return sqlite_time(value)

    # ------------------------------------------------------------------ files and dead letters
    def file_row(self, ident: str) -> tuple[int, int, int, bytes | None, str | None] | None:
        """(id, checkpoint offset, size, pending tail, hash of the bytes before the checkpoint) of a file."""
        rows = self.execute(
            "SELECT id, offset_bytes, size_bytes, pending_tail, checkpoint_hash FROM ingest_files WHERE identity = ?",
            (ident,),
        )
        if not rows:
            return None
        fid, offset, size, tail, before = rows[0]
        return int(fid), int(offset), int(size), bytes(tail) if tail is not None else None, before

    def create_file(self, path: str, ident: str, compression: str) -> int:
        self.begin()
        rows = self.execute(
            "INSERT INTO ingest_files (path, identity, compression) VALUES (?, ?, ?) RETURNING id",
            (path, ident, compression),
        )
        self.commit()
        return int(rows[0][0])

    def checkpoint(
        self, file_id: int, path: str, offset: int, size: int, tail: bytes | None, events: int, dead: int,
        *, before: str | None = None,
    ) -> None:  # fmt: skip
        self.execute(
            "UPDATE ingest_files SET path = ?, offset_bytes = ?, size_bytes = ?, pending_tail = ?, "
            "checkpoint_hash = ?, events = events + ?, dead_letters = dead_letters + ?, "
            "updated_at = CURRENT_TIMESTAMP WHERE id = ?",
            (path, offset, size, tail, before, events, dead, file_id),
        )

    def upsert_dead_letters(self, rows: Sequence[Row]) -> None:
        """New dead letters; one still pending at the same place gets the latest reason and bytes."""
        self.executemany(
            f"INSERT INTO dead_letters ({', '.join(DEAD_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (source_file_id, source_offset) DO UPDATE SET reason = excluded.reason, "
            "detail = excluded.detail, raw = excluded.raw WHERE dead_letters.status = 'pending'",
            rows,
        )

    def pending_dead_letters(self, reason: str) -> list[tuple[int, int | None, int | None, bytes]]:
        rows = self.execute(
            "SELECT id, source_file_id, source_offset, raw FROM dead_letters "
            "WHERE status = 'pending' AND reason = ? ORDER BY id",
            (reason,),
        )
        return [(int(r[0]), r[1], r[2], bytes(r[3])) for r in rows]

    def set_dead_letter_status(self, ids: Sequence[int], status: str) -> None:
        self.executemany(
            "UPDATE dead_letters SET status = ?, redriven_at = CURRENT_TIMESTAMP WHERE id = ?",
            [(status, i) for i in ids],
        )

    def resolve_at(self, file_id: int, offset: int) -> None:
        """A line that was incomplete at ``offset`` has since been read whole."""
        self.execute(
            "UPDATE dead_letters SET status = 'resolved', redriven_at = CURRENT_TIMESTAMP "
            "WHERE source_file_id = ? AND source_offset = ? AND status = 'pending'",
            (file_id, offset),
        )

    # ------------------------------------------------------------------ events and sessions
    @staticmethod
    def raw_row(e: Event) -> Row:
        """The ``raw_events`` row of ``e`` (the reading thread makes it, off the writing thread)."""
        return (
            e.uid, e.sensor, e.session, e.eventid, event_time_text(e), e.src_ip,
            e.file_id, e.offset, e.payload.decode() if e.payload is not None else None, e.raw,
        )  # fmt: skip

    def _raw_rows(self, events: Sequence[Event]) -> list[Row]:
        make = self.raw_row
        return [e.row if e.row is not None else make(e) for e in events]

    def known_uids(self, events: Sequence[Event]) -> set[str]:
        """The uids of these events that are stored already (looked up by the (time, uid) unique index)."""
        known: set[str] = set()
        for part in _chunks(events):
            values = ", ".join(["(?, ?)"] * len(part))
            params = [v for e in part for v in (self.time(e.time), e.uid)]
            rows = self.execute(
                f"SELECT r.event_uid FROM (VALUES {values}) AS v JOIN raw_events r "
                "ON r.event_time = v.column1 AND r.event_uid = v.column2",
                params,
            )
            known.update(r[0] for r in rows)
        return known

    def insert_raw(self, events: Sequence[Event]) -> list[Event]:
        """Insert the (distinct) events not stored yet; return them.

        New events are the rule: they go in without a look-up first, and the unique index is the judge.
        If one is stored already (a file read again, a copy), the savepoint undoes the insert and the
        batch takes the slower path: look the uids up, insert the others.
        """
        if not events:
            return []
        self.conn.execute("SAVEPOINT raw_events")
        try:
            self.insert_new_raw(events)
        except Conflict:
            self.conn.execute("ROLLBACK TO raw_events")
        else:
            self.conn.execute("RELEASE raw_events")
            return list(events)
        self.conn.execute("RELEASE raw_events")
        known = self.known_uids(events)
        fresh = [e for e in events if e.uid not in known]
        conflict = "ON CONFLICT (event_time, event_uid) DO NOTHING"
        self.insert_values(_RAW_INSERT, len(RAW_COLUMNS), conflict, self._raw_rows(fresh))
        return fresh

    def insert_new_raw(self, events: Sequence[Event]) -> None:
        """Insert events believed new, all of them; :class:`Conflict` if one is stored already."""
        with _duplicates_conflict():
            self.insert_values(_RAW_INSERT, len(RAW_COLUMNS), "", self._raw_rows(events))

    def existing_sessions(self, session_ids: Sequence[str]) -> dict[str, str | None]:
        """The sessions that already have a summary, with their source IP."""
        found: dict[str, str | None] = {}
        for part in _chunks(session_ids):
            marks = ", ".join("?" * len(part))
            rows = self.execute(
                f"SELECT session_id, source_ip FROM session_summaries WHERE session_id IN ({marks})", part
            )
            found.update((r[0], r[1]) for r in rows)
        return found

    def _stored_event_rows(self, session_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for part in _chunks(session_ids):
            marks = ", ".join("?" * len(part))
            rows.extend(
                self.execute(
                    "SELECT raw_line, sensor, source_file_id, source_offset, session_id FROM raw_events "
                    f"WHERE session_id IN ({marks})",
                    part,
                )
            )
        return rows

    def load_sessions(self, session_ids: Sequence[str]) -> tuple[dict[str, list[Event]], dict[str, int]]:
        """Every stored event of these sessions, re-parsed from the exact original bytes; and how many raw
        events each has (a line that no longer parses is not an event, but it is still stored)."""
        result: dict[str, list[Event]] = {}
        counts: dict[str, int] = {}
        for raw, sensor, file_id, offset, session_id in self._stored_event_rows(session_ids):
            counts[session_id] = counts.get(session_id, 0) + 1
            event = parse_line(bytes(raw), sensor=sensor, file_id=file_id, offset=offset)
            if isinstance(event, Event):
                result.setdefault(event.session, []).append(event)
        return result, counts

    def raw_event_counts(self, session_ids: Sequence[str]) -> dict[str, int]:
        """How many raw events the database holds for each of these sessions (as this transaction sees it)."""
        found: dict[str, int] = {}
        for part in _chunks(session_ids):
            marks = ", ".join("?" * len(part))
            rows = self.execute(
                f"SELECT session_id, COUNT(*) FROM raw_events WHERE session_id IN ({marks}) GROUP BY session_id",
                part,
            )
            found.update((r[0], int(r[1])) for r in rows)
        return found

    def ensure_ips(self, ips: Sequence[str]) -> None:
        """Stub inventory rows: the enrichment pipeline fills them; sessions need them (foreign key)."""
        self.insert_values("INSERT INTO ip_inventory (ip_address)", 1, "ON CONFLICT DO NOTHING", [(i,) for i in ips])

    def lock_ips(self, ips: Sequence[str]) -> None:
        """Row locks for the batch's IPs (PostgreSQL); SQLite's one writer at a time needs none."""

    def _timed(self, rows: Sequence[Row], positions: Sequence[int]) -> list[Row]:
        if not positions:
            return list(rows)
        out = []
        for row in rows:
            values = list(row)
            for p in positions:
                values[p] = self.time(values[p])
            out.append(tuple(values))
        return out

    def insert_summaries(self, rows: Sequence[Row]) -> None:
        """Summaries of sessions believed new (``NEW_SUMMARY_COLUMNS``); :class:`Conflict` if one has a row
        after all.

        Another process may have created the session since it was looked up (two loaders, one session split
        across their files). Its summary must then be computed again from *all* the stored events, so the
        batch is done again; overwriting the row would lose the other loader's events.
        """
        with _duplicates_conflict():
            self.insert_values(
                f"INSERT INTO session_summaries ({', '.join(NEW_SUMMARY_COLUMNS)})", len(NEW_SUMMARY_COLUMNS), "",
                self._timed(rows, SUMMARY_TIMES),
            )  # fmt: skip

    def enriched_states(self, ips: Sequence[str]) -> dict[str, Snapshot]:
        """The current state of those IPs that an enrichment pass has written, in the form their sessions'
        snapshot columns store it (the same expressions the pass's own snapshots use)."""
        found: dict[str, Snapshot] = {}
        for part in _chunks(ips):
            marks = ", ".join("?" * len(part))
            rows = self.execute(
                f"SELECT ip_address, current_asn, {snapshot_country_sql()}, ip_types, enrichment "
                f"FROM ip_inventory WHERE enrichment_updated_at IS NOT NULL AND ip_address IN ({marks})",
                part,
            )
            found.update((r[0], (r[1], r[2], r[3], r[4])) for r in rows)
        return found

    def count_asn_sessions(self, rows: Sequence[tuple[int, int, Any, Any]]) -> None:
        """``(asn, new sessions, first, last)``, times as stored: sessions snapshotted at ingest join their AS's
        counters, and sessions that grew widen their AS's first/last seen."""
        self.executemany(
            "UPDATE asn_inventory SET total_session_count = total_session_count + ?, "
            "first_seen = CASE WHEN first_seen IS NULL OR first_seen > ? THEN ? ELSE first_seen END, "
            "last_seen = CASE WHEN last_seen IS NULL OR last_seen < ? THEN ? ELSE last_seen END "
            "WHERE asn_number = ?",
            [(n, first, first, last, last, asn) for asn, n, first, last in rows],
        )

    def upsert_summaries(self, rows: Sequence[Row]) -> list[tuple[Any, Any, Any]]:
        """Summaries of sessions that have a row; returns ``(snapshot AS, first, last)`` of those that carry a
        snapshot (times as stored): a session that grew widens its AS's first/last seen."""
        updates = ", ".join(f"{c} = excluded.{c}" for c in SESSION_COLUMNS[1:])
        found = self.insert_values(
            f"INSERT INTO session_summaries ({', '.join(SESSION_COLUMNS)})", len(SESSION_COLUMNS),
            f"ON CONFLICT (session_id) DO UPDATE SET {updates}, updated_at = CURRENT_TIMESTAMP {SNAPSHOT_SPAN}",
            self._timed(rows, SUMMARY_TIMES), returning=True,
        )  # fmt: skip
        return [r for r in found if r[0] is not None]

    def insert_details(self, table: str, rows: Sequence[Row]) -> None:
        cols = DETAIL_TABLES[table]
        self.insert_values(
            f"INSERT INTO {table} ({', '.join(cols)})",
            len(cols),
            "ON CONFLICT (event_uid) DO NOTHING",
            self._timed(rows, (DETAIL_TIME,)),
        )

    def update_command_order(self, rows: Sequence[Row]) -> None:
        """Sequence and known-ness depend on the whole session: rewrite them when it was recomputed."""
        self.executemany(
            "UPDATE commands SET sequence = ?, known = ? WHERE event_uid = ?",
            [(r[COMMAND_SEQUENCE], r[COMMAND_KNOWN], r[COMMAND_UID]) for r in rows],
        )

    def bump_ip_counters(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """``(ip, new sessions, first, last)``: add the new sessions, widen first/last seen (a session without
        a last event time was last seen at its first, as :mod:`cowrieprocessor.storage.counters` says)."""
        t = self.time
        rows = last_or_first(rows)
        self.executemany(
            "UPDATE ip_inventory SET session_count = session_count + ?, "
            "first_seen = CASE WHEN first_seen IS NULL OR first_seen > ? THEN ? ELSE first_seen END, "
            "last_seen = CASE WHEN last_seen IS NULL OR last_seen < ? THEN ? ELSE last_seen END, "
            "updated_at = CURRENT_TIMESTAMP WHERE ip_address = ?",
            [(n, t(first), t(first), t(last), t(last), ip) for ip, n, first, last in rows],
        )

    def refresh_ip_counters(self, ips: Sequence[str]) -> None:
        """first/last seen (event time) and session count of these IPs, recomputed from their sessions."""
        n, first, last = (f"(SELECT {e} FROM session_summaries s WHERE s.source_ip = ip_address)" for e in IP_COUNTERS)
        for part in _chunks(ips):
            marks = ", ".join("?" * len(part))
            self.execute(
                f"UPDATE ip_inventory SET session_count = {n}, first_seen = {first}, last_seen = {last}, "
                f"updated_at = CURRENT_TIMESTAMP WHERE ip_address IN ({marks})",
                part,
            )


def last_or_first(rows: Sequence[tuple[Any, ...]]) -> Sequence[tuple[Any, ...]]:
    """Counter rows ``(key, n, first, last)`` with a missing ``last`` read as ``first``."""
    if all(r[3] is not None for r in rows):
        return rows
    return [(k, n, first, first if last is None else last) for k, n, first, last in rows]
