"""The rules: each finds the first-seen things of one type in an event-time window ``[since, until)``.

The "first seen" questions are the report digest's (``report.digest``): the same statements, every row instead
of the digest's top ten. Only ``sensor_silent`` looks at the clock (``now``) instead of a window: it finds a
sensor whose newest session is older than ``silent_minutes``, once per silence (its id includes the time of
that newest session).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, func, select

from cowrieprocessor.alerts.model import Alert
from cowrieprocessor.alerts.settings import RuleSettings
from cowrieprocessor.analysis.artifacts import verdicts
from cowrieprocessor.analysis.sql import COMMANDS, SESSIONS, dialect_of, fetch, per_dialect
from cowrieprocessor.report import digest
from cowrieprocessor.report.campaigns import KINDS, labels

#: Commands shown for a new command signature (the script of its first session).
SCRIPT_LINES = 20


@dataclass(frozen=True)
class Scope:
    """What a rule is evaluated over: the window ``[since, until)`` of event time (``sensor_silent``: ``now``)."""

    engine: Engine
    rule: RuleSettings
    since: dt.datetime
    until: dt.datetime
    now: dt.datetime

    @property
    def window(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until}

    def section(self, name: str) -> list[dict[str, Any]]:
        """The rows of one of the digest's sections over the window."""
        return digest.section(self.engine, name, self.since, self.until)


def evaluate(
    engine: Engine,
    rule: RuleSettings,
    since: dt.datetime,
    until: dt.datetime,
    now: dt.datetime,
) -> list[Alert]:
    """Every alert ``rule`` finds in ``[since, until)`` (``sensor_silent``: at ``now``)."""
    return FINDERS[rule.type](Scope(engine, rule, since, until, now))


def _aware(value: Any) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def new_campaign_keys(scope: Scope) -> list[Alert]:
    alerts = []
    for kind in scope.rule.kinds:
        rows = digest.first_seen_keys(scope.engine, kind, scope.since, scope.until)
        keys = [r["key"] for r in rows]
        readable = (
            scripts(scope.engine, keys) if kind == "command_sig" else labels(scope.engine, kind, keys, scope.window)
        )
        for row in rows:
            details = {
                "key_kind": kind,
                "label_kind": KINDS[kind],
                **digest.plain(row),
                "label": readable.get(row["key"]),
            }
            first_seen = _aware(row["first_seen"])
            alerts.append(Alert(scope.rule.name, "new_campaign_key", str(row["key"]), details, first_seen))
    return alerts


@per_dialect
def _script_statement(dialect: str) -> Any:
    s, c = SESSIONS.c, COMMANDS.c
    first = select(func.min(s.session_id)).where(s.command_signature == bindparam("key")).scalar_subquery()
    return select(c.input).where(c.session_id == first).order_by(c.sequence, c.event_time, c.id).limit(SCRIPT_LINES)


def scripts(engine: Engine, signatures: Iterable[str]) -> dict[str, str]:
    """The commands of a command signature's first session, one line each."""
    stmt = _script_statement(dialect_of(engine))
    return {key: "\n".join(r["input"] for r in fetch(engine, stmt, {"key": key})) for key in signatures}


def new_asns(scope: Scope) -> list[Alert]:
    return [
        Alert(scope.rule.name, "new_asn", f"AS{row['asn']}", digest.plain(row), _aware(row["first_seen"]))
        for row in scope.section("new_asns")
    ]


def downloads(scope: Scope) -> list[Alert]:
    rows = digest.first_seen_keys(scope.engine, "download", scope.since, scope.until)
    hashes = [str(r["key"]) for r in rows]
    known = verdicts(scope.engine, hashes)
    where = labels(scope.engine, "download", hashes, scope.window)
    match = scope.rule.match
    alerts = []
    for row in rows:
        verdict = known.get(str(row["key"]))
        if (match == "known_bad" and verdict != "bad") or (match == "unknown" and verdict is not None):
            continue
        details = {**digest.plain(row), "verdict": verdict or "unknown", "label": where.get(row["key"])}
        alerts.append(Alert(scope.rule.name, "download", str(row["key"]), details, _aware(row["first_seen"])))
    return alerts


def planted_key_logins(scope: Scope) -> list[Alert]:
    name = scope.rule.name
    return [
        Alert(name, "planted_key_login", str(row["fingerprint"]), digest.plain(row), _aware(row["first_seen"]))
        for row in scope.section("planted_key_logins")
    ]


def moved_asns(scope: Scope) -> list[Alert]:
    alerts = []
    for row in scope.section("moved_ips"):
        moved_at = _aware(row["moved_at"])
        once = f"{moved_at.isoformat() if moved_at else ''}>{row['asn_to']}"
        details = digest.plain(row)
        alerts.append(Alert(scope.rule.name, "moved_asn", str(row["ip"]), details, moved_at, discriminator=once))
    return alerts


@per_dialect
def _newest_by_sensor_statement(dialect: str, listed: bool) -> Any:
    s = SESSIONS.c
    stmt = select(s.sensor, func.max(s.first_event_at).label("newest")).where(
        s.first_event_at >= bindparam("since"), s.first_event_at < bindparam("until"), s.sensor.is_not(None)
    )
    if listed:
        stmt = stmt.where(s.sensor.in_(bindparam("sensors", expanding=True)))
    return stmt.group_by(s.sensor).order_by(s.sensor)


def silent_sensors(scope: Scope) -> list[Alert]:
    """Sensors with a session in the last ``lookback_hours`` but none in the last ``silent_minutes``; a listed
    sensor with no session in the look-back at all is silent too (since the look-back's start)."""
    rule, now = scope.rule, scope.now
    silent_for = dt.timedelta(minutes=rule.silent_minutes)
    start = now - dt.timedelta(hours=rule.lookback_hours)
    params: dict[str, Any] = {"since": start, "until": now + dt.timedelta(days=1)}
    if rule.sensors:
        params["sensors"] = rule.sensors
    newest = {
        str(r["sensor"]): _aware(r["newest"])
        for r in fetch(scope.engine, _newest_by_sensor_statement(dialect_of(scope.engine), bool(rule.sensors)), params)
    }
    for sensor in rule.sensors:
        newest.setdefault(sensor, None)
    alerts = []
    for sensor, last in sorted(newest.items()):
        if last is not None and now - last < silent_for:
            continue
        details = {
            "sensor": sensor,
            "last_session_at": last.isoformat() if last else None,
            "silent_minutes": rule.silent_minutes,
        }
        once = last.isoformat() if last else "no-session-in-lookback"
        alerts.append(Alert(rule.name, "sensor_silent", sensor, details, last, discriminator=once))
    return alerts


FINDERS: dict[str, Callable[[Scope], list[Alert]]] = {
    "new_campaign_key": new_campaign_keys,
    "new_asn": new_asns,
    "download": downloads,
    "planted_key_login": planted_key_logins,
    "moved_asn": moved_asns,
    "sensor_silent": silent_sensors,
}
