"""PostgreSQL bulk writes: COPY into session-local temporary tables, then one set-based INSERT.

``INSERT ... SELECT ... ON CONFLICT (event_uid) DO NOTHING RETURNING`` keeps idempotency in the
database and tells which events were new, at COPY speed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import psycopg

from cowrieprocessor.ingestion.events import Event
from cowrieprocessor.ingestion.sessions import SUMMARY_COLUMNS, Row
from cowrieprocessor.ingestion.store import DETAIL_TABLES, RAW_COLUMNS, Store

_TEMP = {"raw_events": RAW_COLUMNS, "session_summaries": SUMMARY_COLUMNS, **DETAIL_TABLES}


class PostgresStore(Store):
    placeholder = "%s"

    def setup(self) -> None:
        with self.conn.cursor() as cur:
            for table, cols in _TEMP.items():
                cur.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS tmp_{table} ON COMMIT DELETE ROWS AS "
                    f"SELECT {', '.join(cols)} FROM {table} WITH NO DATA"
                )
        self.conn.commit()

    def begin(self) -> None:
        """psycopg opens the transaction with the first statement."""

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

    def _copy(self, table: str, rows: Sequence[Row]) -> None:
        cols = _TEMP[table]
        with self.conn.cursor() as cur:
            cur.execute(f"TRUNCATE tmp_{table}")
            with cur.copy(f"COPY tmp_{table} ({', '.join(cols)}) FROM STDIN") as copy:
                write = copy.write_row
                for row in rows:
                    write(row)

    def insert_raw(self, events: Sequence[Event]) -> set[str]:
        """COPY the events not stored yet straight into ``raw_events`` (the unique index stays the judge).

        A concurrent writer could store one of them between the check and the COPY: then the COPY
        fails on the unique index, and the batch is retried through a staging table with
        ``ON CONFLICT DO NOTHING`` inside a savepoint.
        """
        if not events:
            return set()
        known = {r[0] for r in self.execute(
            "SELECT event_uid FROM raw_events WHERE event_uid = ANY(%s)", ([e.uid for e in events],)
        )}  # fmt: skip
        fresh = [e for e in events if e.uid not in known]
        cols = ", ".join(RAW_COLUMNS)
        try:
            with (
                self.conn.transaction(),
                self.conn.cursor() as cur,
                cur.copy(f"COPY raw_events ({cols}) FROM STDIN") as copy,
            ):
                write = copy.write_row
                for row in self._raw_rows(fresh):
                    write(row)
            return {e.uid for e in fresh}
        except psycopg.errors.UniqueViolation:
            pass
        self._copy("raw_events", self._raw_rows(fresh))
        rows = self.execute(
            f"INSERT INTO raw_events ({cols}) SELECT {cols} FROM tmp_raw_events "
            "ON CONFLICT (event_uid) DO NOTHING RETURNING event_uid"
        )
        return {r[0] for r in rows}

    def existing_sessions(self, session_ids: Sequence[str]) -> set[str]:
        if not session_ids:
            return set()
        rows = self.execute("SELECT session_id FROM session_summaries WHERE session_id = ANY(%s)", (list(session_ids),))
        return {r[0] for r in rows}

    def _stored_event_rows(self, session_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        if not session_ids:
            return []
        return self.execute(
            "SELECT raw_line, sensor, source_file_id, source_offset FROM raw_events WHERE session_id = ANY(%s)",
            (list(session_ids),),
        )

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

    def upsert_summaries(self, rows: Sequence[Row]) -> None:
        if not rows:
            return
        self._copy("session_summaries", rows)
        cols = ", ".join(SUMMARY_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in SUMMARY_COLUMNS[1:])
        self.execute(
            f"INSERT INTO session_summaries ({cols}) SELECT {cols} FROM tmp_session_summaries "
            f"ON CONFLICT (session_id) DO UPDATE SET {updates}, updated_at = CURRENT_TIMESTAMP"
        )

    def insert_details(self, table: str, rows: Sequence[Row]) -> None:
        if not rows:
            return
        self._copy(table, rows)
        cols = ", ".join(DETAIL_TABLES[table])
        self.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM tmp_{table} ON CONFLICT (event_uid) DO NOTHING")

    def refresh_ip_counters(self, ips: Sequence[str]) -> None:
        if not ips:
            return
        self.execute(
            "UPDATE ip_inventory i SET session_count = a.n, first_seen = a.first, last_seen = a.last, "
            "updated_at = CURRENT_TIMESTAMP FROM (SELECT source_ip, COUNT(*) AS n, MIN(first_event_at) AS first, "
            "MAX(last_event_at) AS last FROM session_summaries WHERE source_ip = ANY(%s::inet[]) "
            "GROUP BY source_ip) a WHERE i.ip_address = a.source_ip",
            (list(ips),),
        )
