"""The live database against the baseline recorded before the last upgrade (``db verify``).

Every baseline metric must be at least what it was (data may grow, never shrink); at v16 the three tiers
must also be whole: no session without its IP inventory row, no session whose stored enrichment names an
ASN without ``snapshot_asn``. Works after ``db downgrade --to v15`` too (the baseline table is kept).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text

from cowrieprocessor.errors import NoBaseline
from cowrieprocessor.storage import backfill
from cowrieprocessor.storage.v15_enrichment import LegacySQL

#: What a check's ``intact`` means, as reports show it (``None``: informational, not a loss either way).
STATUS = {True: "intact", False: "NOT INTACT", None: "info"}


@dataclass(frozen=True)
class Check:
    metric: str
    baseline: int | str | None
    live: int | str | None
    intact: bool | None  # None: informational, not a loss either way
    note: str = ""

    @property
    def status(self) -> str:
        return STATUS[self.intact]


@dataclass(frozen=True)
class Verification:
    revision: str | None
    baseline_from: str | None
    baseline_recorded_at: str | None
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.intact is not False for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "revision": self.revision, "baseline_from": self.baseline_from,
            "baseline_recorded_at": self.baseline_recorded_at,
            "checks": [{**asdict(c), "status": c.status} for c in self.checks],
        }  # fmt: skip


def utc_text(value: object) -> str:
    """A stored time as ISO 8601 in UTC with its offset: SQLite hands raw SQL its naive UTC text."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return (moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)).isoformat()


def _latest_baseline(conn: Connection) -> tuple[dict[str, int], str | None, str | None]:
    rows = conn.execute(
        text(
            "SELECT metric, value, from_revision, recorded_at FROM migration_baseline "
            "WHERE id IN (SELECT MAX(id) FROM migration_baseline GROUP BY metric) ORDER BY id"
        )
    ).all()
    if not rows:
        return {}, None, None
    return {r.metric: int(r.value) for r in rows}, rows[-1].from_revision, utc_text(rows[-1].recorded_at)


def _tier_checks(conn: Connection) -> list[Check]:
    sql = LegacySQL(conn)
    missing = (
        f"SELECT COUNT(*) FROM (SELECT q.snapshot_asn, {sql.snapshot_asn('q.r')} AS stored FROM "
        f"(SELECT snapshot_asn, {sql.root('enrichment', 'source_ip')} AS r FROM session_summaries "
        f"WHERE enrichment IS NOT NULL) q) s WHERE s.stored IS NOT NULL AND s.snapshot_asn IS NULL"
    )
    orphans = backfill.orphans(conn)
    no_snapshot = int(conn.execute(text(missing)).scalar_one())
    return [
        Check("orphan_sessions", 0, orphans, orphans == 0, "sessions whose source IP is not in ip_inventory"),
        Check(
            "sessions_missing_snapshot_asn",
            0,
            no_snapshot,
            no_snapshot == 0,
            "stored enrichment names an ASN, snapshot_asn is empty",
        ),
    ]


_REMEDY = "verify compares with the baseline a v15 -> v16 upgrade records"


def verify(engine: Engine) -> Verification:
    """Compare the live database with the latest baseline (:class:`NoBaseline` when there is none)."""
    with engine.connect() as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
        if not inspect(conn).has_table("migration_baseline"):
            raise NoBaseline("no baseline recorded: this database was never upgraded from v15", _REMEDY)
        baseline, from_revision, recorded_at = _latest_baseline(conn)
        if not baseline:
            raise NoBaseline("the baseline table is empty", _REMEDY)
        live = backfill.measure(conn)
        checks = [
            Check(
                name,
                value,
                live.get(name),
                live.get(name, -1) >= value,
                "" if live.get(name) == value else "grew since the baseline",
            )
            for name, value in baseline.items()
            if name != "schema_revision"
        ]
        checks.append(Check("schema_revision", from_revision, revision, None, "informational"))
        if inspect(conn).has_table("ip_inventory"):
            checks.extend(_tier_checks(conn))
    return Verification(revision, from_revision, recorded_at, checks)
