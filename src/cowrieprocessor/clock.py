"""Time in one place: the clock (aware UTC, replaceable in tests) and the one ISO-8601 -> UTC parser.

Every stored time is UTC, and so is every time an analyst types: a time without a zone is taken as UTC.
Light on purpose (standard library only): the command line parses ``--since`` before loading anything else.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: What a component that only needs the wall clock takes: a function returning the aware UTC now.
Now = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Clock:
    """Monotonic time, sleeping and the wall clock (aware UTC), replaceable in tests."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Now = utcnow


SYSTEM_CLOCK = Clock()


def as_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC; a naive one is taken as UTC. OverflowError when UTC is out of range."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def parse_utc(text: str) -> dt.datetime:
    """ISO-8601 date or time, in UTC (without a zone it is UTC). ValueError when it is not ISO-8601,
    OverflowError when it is out of range in UTC (years 1 to 9999)."""
    return as_utc(dt.datetime.fromisoformat(text))


def stored_time(value: Any) -> dt.datetime | None:
    """A time the database holds as text (e.g. in JSON provenance): None when absent or not ISO-8601."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_utc(value)
    except ValueError:
        return None
