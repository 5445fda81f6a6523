"""A database-level guarantee that time-of-attack snapshots are immutable.

Once a session has ``enrichment_at``, its snapshot columns can no longer change; and a session's stored
``enrichment`` (v15 data included) is never rewritten. Application code cannot bypass it by mistake.
The v16 migration installs it last (SQLite table rebuilds drop triggers).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from cowrieprocessor.storage import dialects

_SNAPSHOT = ("snapshot_asn", "snapshot_country", "snapshot_ip_types", "snapshot_source", "enrichment_at")
MESSAGE = "session snapshots are immutable once taken"

PG_INSTALL = [
    f"""
CREATE OR REPLACE FUNCTION cowrieprocessor_guard_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.enrichment IS NOT NULL AND NEW.enrichment IS DISTINCT FROM OLD.enrichment)
       OR (OLD.enrichment_at IS NOT NULL AND ({" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _SNAPSHOT)}))
    THEN
        RAISE EXCEPTION '{MESSAGE} (session %)', OLD.session_id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$
""",
    # WHEN: rows without a snapshot (the first one being written) never call the function at all
    "CREATE TRIGGER trg_session_snapshot_immutable BEFORE UPDATE ON session_summaries FOR EACH ROW "
    "WHEN (OLD.enrichment_at IS NOT NULL OR OLD.enrichment IS NOT NULL) "
    "EXECUTE FUNCTION cowrieprocessor_guard_snapshot()",
]
PG_REMOVE = [
    "DROP TRIGGER IF EXISTS trg_session_snapshot_immutable ON session_summaries",
    "DROP FUNCTION IF EXISTS cowrieprocessor_guard_snapshot()",
]

SQLITE_INSTALL = [
    f"""
CREATE TRIGGER trg_session_snapshot_immutable BEFORE UPDATE ON session_summaries
WHEN (OLD.enrichment IS NOT NULL AND NEW.enrichment IS NOT OLD.enrichment)
  OR (OLD.enrichment_at IS NOT NULL AND ({" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _SNAPSHOT)}))
BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}');
END
"""
]
SQLITE_REMOVE = ["DROP TRIGGER IF EXISTS trg_session_snapshot_immutable"]


def install(bind: Connection) -> None:
    for statement in PG_INSTALL if dialects.of(bind).trigger_functions else SQLITE_INSTALL:
        bind.execute(text(statement))


def remove(bind: Connection) -> None:
    for statement in PG_REMOVE if dialects.of(bind).trigger_functions else SQLITE_REMOVE:
        bind.execute(text(statement))
