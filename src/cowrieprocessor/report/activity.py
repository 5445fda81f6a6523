"""Headline figures (this period against the previous one) and activity over time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Integer, Select, bindparam, case, cast, distinct, func, select

from cowrieprocessor.analysis.sql import SESSIONS, dialect_of, fetch, per_dialect, reach
from cowrieprocessor.report.period import Period
from cowrieprocessor.report.sql import bucket, in_period

#: Headline figures, in the order shown: (field, label).
HEADLINES: tuple[tuple[str, str], ...] = (
    ("sessions", "sessions"),
    ("ips", "source IPs"),
    ("asns", "ASNs at attack time"),
    ("countries", "countries at attack time"),
    ("logins", "successful logins"),
    ("commands", "commands run"),
    ("downloads", "downloads"),
    ("sensors", "sensors"),
)


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    value: int
    previous: int

    @property
    def change(self) -> float | None:
        """Relative change against the previous period; None when there was nothing to compare with."""
        return None if not self.previous else (self.value - self.previous) / self.previous


@per_dialect
def _totals_statement(dialect: str, sensors: bool) -> Select[Any]:
    s = SESSIONS.c
    return select(
        *reach(),
        func.coalesce(func.sum(case((s.login_success, 1), else_=0)), 0).label("logins"),
        func.coalesce(func.sum(s.command_count), 0).label("commands"),
        func.coalesce(func.sum(s.file_downloads), 0).label("downloads"),
        func.count(distinct(s.sensor)).label("sensors"),
        func.count(s.snapshot_source).label("snapshotted"),
        func.min(s.first_event_at).label("first_session"),
        func.max(s.first_event_at).label("last_session"),
    ).where(*in_period(sensors))


def totals(engine: Engine, period: Period) -> dict[str, Any]:
    """Counts over the period's sessions (also their snapshot coverage and first/last session)."""
    row = fetch(engine, _totals_statement(dialect_of(engine), bool(period.sensors)), period.params())[0]
    return {k: (int(v) if k not in ("first_session", "last_session") else v) for k, v in row.items()}


def headlines(current: dict[str, Any], previous: dict[str, Any]) -> list[Headline]:
    return [Headline(key, label, current[key], previous[key]) for key, label in HEADLINES]


@per_dialect
def _by_protocol_statement(dialect: str, sensors: bool, unit: str) -> Select[Any]:
    s = SESSIONS.c
    slot = bucket(dialect, s.first_event_at, unit)
    protocol = func.coalesce(s.protocol, "unknown")
    return (
        select(slot.label("slot"), protocol.label("series"), func.count().label("sessions"))
        .where(*in_period(sensors))
        .group_by(slot, protocol)
        .order_by(slot, protocol)
    )


@per_dialect
def _by_asn_statement(dialect: str, sensors: bool, unit: str) -> Select[Any]:
    """Sessions per slot for the given ASNs (at attack time); every other session is one ``-1`` series."""
    s = SESSIONS.c
    slot = bucket(dialect, s.first_event_at, unit)
    series: Any = case((s.snapshot_asn.in_(bindparam("asns", expanding=True)), s.snapshot_asn), else_=-1)
    series = cast(series, Integer) if dialect == "sqlite" else series
    return (
        select(slot.label("slot"), series.label("series"), func.count().label("sessions"))
        .where(*in_period(sensors))
        .group_by(slot, series)
        .order_by(slot, series)
    )


def by_protocol(engine: Engine, period: Period) -> list[dict[str, Any]]:
    stmt = _by_protocol_statement(dialect_of(engine), bool(period.sensors), period.bucket)
    return fetch(engine, stmt, period.params())


def by_asn(engine: Engine, period: Period, asns: list[int]) -> list[dict[str, Any]]:
    stmt = _by_asn_statement(dialect_of(engine), bool(period.sensors), period.bucket)
    return fetch(engine, stmt, {**period.params(), "asns": asns or [-2]})
