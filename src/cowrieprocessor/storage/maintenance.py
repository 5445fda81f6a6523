"""After a schema change commits: leave the database ready for queries, with no manual step.

An upgrade that rewrites every session row leaves PostgreSQL with one dead row per live one, an empty
visibility map (no index-only scans) and no statistics for the new columns and tables: ``query related``
took 4.1 s instead of 0.5 s until a ``VACUUM ANALYZE``, and a second upgrade after a downgrade grew the
database by the dead rows again (3.3 GB -> 4.5 GB). So, outside the migration's transaction (VACUUM cannot
run inside one):

- PostgreSQL: ``VACUUM (ANALYZE)`` of every table the traversed revisions rewrote or filled (each revision
  module lists them in ``rewrites``), then ``ANALYZE`` of the rest.
- SQLite: ``ANALYZE`` (sampled with ``analysis_limit``, as ``PRAGMA optimize`` does). ``VACUUM`` only on
  request (``db upgrade --vacuum``): the table rebuilds leave their old pages on the freelist, which later
  writes reuse (a re-upgrade after a downgrade left the 1.68 M-session file at 3.28 GB, not larger);
  ``VACUUM`` copies the whole database to hand them back to the disk (29 s for 1.3 GB of a 3.3 GB file,
  needing that much free disk again, and longer with years of raw events) and made no query measurably
  faster (``docs/performance.md``). ``db upgrade`` reports the free pages so the user can choose.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from cowrieprocessor.storage import dialects
from cowrieprocessor.storage.backfill import Phase

#: Rows SQLite's ANALYZE reads per index (its ``PRAGMA optimize`` default is 400; more = steadier plans).
SQLITE_ANALYSIS_LIMIT = 1000


class MaintenanceError(RuntimeError):
    """The schema change is committed; only the vacuum or analyse after it failed (run it by hand)."""

    def __init__(self, revision: str | None, statement: str, cause: BaseException) -> None:
        super().__init__(
            f"the schema is at {revision} (committed), but {statement} failed afterwards: {cause}. "
            f"Queries stay slow until it runs: run {statement} on the database by hand."
        )
        self.statement = statement


class _StepFailed(Exception):
    def __init__(self, statement: str, cause: BaseException) -> None:
        super().__init__(statement)
        self.statement, self.cause = statement, cause


@dataclass(frozen=True)
class Step:
    """One maintenance statement and what it cost (sizes in bytes; None where not measured)."""

    statement: str
    seconds: float
    size_before: int | None = None
    size_after: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "statement": self.statement,
            "seconds": round(self.seconds, 3),
            "size_before": self.size_before,
            "size_after": self.size_after,
        }


def rewritten_tables(script: ScriptDirectory, before: str | None, after: str | None) -> list[str]:
    """Tables that the revisions between ``before`` and ``after`` (either direction) rewrite or fill."""
    order = [r.revision for r in reversed(list(script.walk_revisions()))]
    start = order.index(before) + 1 if before in order else 0
    end = order.index(after) + 1 if after in order else 0
    if end >= start:
        steps, direction = order[start:end], "upgrade"
    else:
        steps, direction = order[end:start], "downgrade"
    tables: dict[str, None] = {}
    for revision in steps:
        module = script.get_revision(revision).module
        tables.update(dict.fromkeys(getattr(module, "rewrites", {}).get(direction, ())))
    return list(tables)


def prepare(engine: Engine, tables: list[str], *, revision: str | None, vacuum_sqlite: bool = False) -> list[Step]:
    """Vacuum and analyse after a committed schema change to ``revision`` that rewrote ``tables`` (with
    ``vacuum_sqlite``, an SQLite file is compacted even when nothing was rewritten this time)."""
    if not tables and not (vacuum_sqlite and dialects.of(engine).files):
        return []
    try:
        return _prepare(engine, tables, vacuum_sqlite)
    except _StepFailed as exc:
        raise MaintenanceError(revision, exc.statement, exc.cause) from exc.cause


def _prepare(engine: Engine, tables: list[str], vacuum_sqlite: bool) -> list[Step]:
    phase = Phase("vacuum and analyze", len(tables))
    if not dialects.of(engine).files:  # table by table
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            present = set(inspect(conn).get_table_names())
            tables = [t for t in tables if t in present]
            steps = _postgresql(conn, tables, phase)
    else:
        steps = _sqlite(engine, vacuum_sqlite)
    phase.update(len(tables), finished=True, note="; ".join(f"{s.statement} {s.seconds:.1f}s" for s in steps))
    return steps


def _timed(conn: Connection, statement: str, size_sql: str | None = None) -> Step:
    size = (lambda: int(conn.execute(text(size_sql)).scalar_one())) if size_sql else (lambda: None)
    try:
        before = size()
        started = time.monotonic()
        conn.execute(text(statement))
        return Step(statement, time.monotonic() - started, before, size())
    except DBAPIError as exc:
        raise _StepFailed(statement, exc.orig or exc) from exc


def _postgresql(conn: Connection, tables: list[str], phase: Phase) -> list[Step]:
    steps = []
    for done, table in enumerate(tables, 1):
        size = f"SELECT pg_total_relation_size('{table}')"
        steps.append(_timed(conn, f"VACUUM (ANALYZE) {table}", size))
        phase.update(done)
    others = [t for t in inspect(conn).get_table_names() if t not in tables]
    if others:
        steps.append(_timed(conn, f"ANALYZE {', '.join(others)}"))
    return steps


def _sqlite(engine: Engine, vacuum: bool) -> list[Step]:
    """On the driver's connection, outside any transaction (SQLAlchemy's would begin one: see ``engine``)."""
    raw = engine.raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    statement = "ANALYZE"
    try:
        driver.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
        started = time.monotonic()
        driver.execute(statement)
        steps = [Step(statement, time.monotonic() - started)]
        if vacuum and engine.url.database not in (None, "", ":memory:"):
            statement, path = "VACUUM", Path(str(engine.url.database))
            before, started = path.stat().st_size, time.monotonic()
            driver.execute(statement)
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the copy sits in the WAL until then
            steps.append(Step(statement, time.monotonic() - started, before, path.stat().st_size))
    except engine.dialect.loaded_dbapi.Error as exc:
        raise _StepFailed(statement, exc) from exc
    finally:
        raw.close()
    return steps


def sqlite_free_bytes(engine: Engine) -> int:
    """Bytes of the SQLite file on its freelist: what a VACUUM would hand back."""
    with engine.connect() as conn:
        page = int(conn.execute(text("PRAGMA page_size")).scalar_one())
        return page * int(conn.execute(text("PRAGMA freelist_count")).scalar_one())
