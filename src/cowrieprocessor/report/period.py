"""The report's window: ``[since, until)`` on the sessions' first event time, optional sensors, and the
previous window of the same length that every headline figure is compared with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, func, select

from cowrieprocessor.analysis.sql import SESSIONS, utc

#: A report without ``--since`` covers this much time before its end.
DEFAULT_SPAN = dt.timedelta(days=7)
#: Up to this span, activity is counted per hour; beyond it, per day.
HOURLY_UP_TO = dt.timedelta(days=8)


@dataclass(frozen=True)
class Period:
    since: dt.datetime
    until: dt.datetime
    sensors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        utc(self.since)
        utc(self.until)
        if self.until <= self.since:
            raise ValueError(f"the period is empty: --until ({self.until}) is not after --since ({self.since})")

    @property
    def span(self) -> dt.timedelta:
        return self.until - self.since

    @property
    def previous(self) -> Period:
        """The window of the same length just before this one (same sensors)."""
        return replace(self, since=self.since - self.span, until=self.since)

    @property
    def bucket(self) -> str:
        return "hour" if self.span <= HOURLY_UP_TO else "day"

    def params(self) -> dict[str, Any]:
        """Bound parameters of every period statement (``sensors`` only when a filter is given)."""
        params: dict[str, Any] = {"since": self.since, "until": self.until}
        if self.sensors:
            params["sensors"] = list(self.sensors)
        return params


def newest_session(engine: Engine) -> dt.datetime | None:
    """First event time of the newest session stored (the default end of a report)."""
    with engine.connect() as conn:
        value = conn.execute(select(func.max(SESSIONS.c.first_event_at))).scalar_one()
    return value if value is None or isinstance(value, dt.datetime) else None


def oldest_session(engine: Engine) -> dt.datetime | None:
    """First event time of the oldest session: a default period does not start before the data."""
    with engine.connect() as conn:
        value = conn.execute(select(func.min(SESSIONS.c.first_event_at))).scalar_one()
    return value if value is None or isinstance(value, dt.datetime) else None


def resolve(
    engine: Engine,
    since: dt.datetime | None,
    until: dt.datetime | None,
    sensors: tuple[str, ...] = (),
) -> Period:
    """The period a user asked for; the end defaults to just after the newest session (the data's date, not
    the wall clock, so a report of old logs is not empty) and the start to ``DEFAULT_SPAN`` before it, or to
    the oldest session's hour when the data is younger than that."""
    if until is None:
        newest = newest_session(engine)
        if newest is None:
            until = dt.datetime.now(dt.UTC).replace(microsecond=0)
        else:
            until = newest.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    if since is None:
        oldest = oldest_session(engine)
        since = until - DEFAULT_SPAN
        if oldest is not None and oldest.replace(minute=0, second=0, microsecond=0) > since:
            since = oldest.replace(minute=0, second=0, microsecond=0)
    return Period(since=since, until=until, sensors=tuple(sorted(set(sensors))))
