"""Counters you can trust: recompute them from the sessions, report the drift, repair on request.

Definitions (the same ones ingest and the pipeline maintain: :mod:`cowrieprocessor.storage.counters`):
- ``ip_inventory.session_count`` / ``first_seen`` / ``last_seen``: the IP's sessions and their event times;
- ``asn_inventory.unique_ip_count``: inventory IPs whose current ASN it is;
- ``asn_inventory.total_session_count`` / ``first_seen`` / ``last_seen``: sessions attributed to the AS at
  attack time (``snapshot_asn``) and their event times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, case, func, select

from cowrieprocessor.storage.counters import session_counters
from cowrieprocessor.storage.models import ASNInventory, IPInventory, SessionSummary
from cowrieprocessor.tiers import tier_writes

THRESHOLD = 0.05


@dataclass(frozen=True)
class Drift:
    counter: str
    rows: int
    rows_wrong: int
    error_total: int | None = None
    true_total: int | None = None

    @property
    def drift(self) -> float:
        """Counts: the summed absolute error over the true total. Times: the share of wrong rows."""
        if self.rows_wrong == 0:
            return 0.0
        if self.error_total is not None and self.true_total is not None:
            return self.error_total / max(self.true_total, 1)
        return self.rows_wrong / self.rows

    def as_json(self) -> dict[str, Any]:
        return {
            "counter": self.counter,
            "rows": self.rows,
            "rows_wrong": self.rows_wrong,
            "error_total": self.error_total,
            "true_total": self.true_total,
            "drift": round(self.drift, 6),
            "ok": self.drift <= THRESHOLD,
        }


def _ip_truth() -> Any:
    table = SessionSummary.__table__
    s = table.c
    return (
        select(s.source_ip.label("ip"), *session_counters(table))
        .where(s.source_ip.is_not(None))
        .group_by(s.source_ip)
        .subquery()
    )


def _asn_truth() -> tuple[Any, Any]:
    table = SessionSummary.__table__
    s = table.c
    sessions = (
        select(s.snapshot_asn.label("asn"), *session_counters(table))
        .where(s.snapshot_asn.is_not(None))
        .group_by(s.snapshot_asn)
        .subquery()
    )
    ips = (
        select(IPInventory.current_asn.label("asn"), func.count().label("ips"))
        .where(IPInventory.current_asn.is_not(None))
        .group_by(IPInventory.current_asn)
        .subquery()
    )
    return sessions, ips


def _count_drift(conn: Connection, name: str, stored: Any, true: Any, joins: Any) -> Drift:
    true = func.coalesce(true, 0)
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((stored != true, 1), else_=0)), 0),
            func.coalesce(func.sum(func.abs(stored - true)), 0),
            func.coalesce(func.sum(true), 0),
        ).select_from(joins)
    ).one()
    return Drift(name, int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def _time_drift(conn: Connection, name: str, stored: Any, true: Any, joins: Any) -> Drift:
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(case((stored.is_distinct_from(true), 1), else_=0)), 0)).select_from(
            joins
        )
    ).one()
    return Drift(name, int(row[0]), int(row[1]))


def measure(engine: Engine) -> list[Drift]:
    ip = _ip_truth()
    sessions, ips = _asn_truth()
    ip_join = IPInventory.__table__.outerjoin(ip, ip.c.ip == IPInventory.ip_address)
    asn_join = ASNInventory.__table__.outerjoin(sessions, sessions.c.asn == ASNInventory.asn_number).outerjoin(
        ips, ips.c.asn == ASNInventory.asn_number
    )
    with engine.connect() as conn:
        return [
            _count_drift(conn, "ip_inventory.session_count", IPInventory.session_count, ip.c.n, ip_join),
            _time_drift(conn, "ip_inventory.first_seen", IPInventory.first_seen, ip.c.first, ip_join),
            _time_drift(conn, "ip_inventory.last_seen", IPInventory.last_seen, ip.c.last, ip_join),
            _count_drift(conn, "asn_inventory.unique_ip_count", ASNInventory.unique_ip_count, ips.c.ips, asn_join),
            _count_drift(
                conn,
                "asn_inventory.total_session_count",
                ASNInventory.total_session_count,
                sessions.c.n,
                asn_join,
            ),
            _time_drift(conn, "asn_inventory.first_seen", ASNInventory.first_seen, sessions.c.first, asn_join),
            _time_drift(conn, "asn_inventory.last_seen", ASNInventory.last_seen, sessions.c.last, asn_join),
        ]


def fix(engine: Engine) -> None:
    """Set every counter to its true value, set-based, in one transaction (the pipeline's own recount)."""
    with engine.begin() as conn:
        tier_writes.refresh_ip_counters(conn, None)
        tier_writes.refresh_asn_counters(conn, None)
