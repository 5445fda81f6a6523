"""The provider-call ledger: one ``provider_calls`` row per call to an online source, or per decision not
to call it, so "how many calls did we make" is a query. Rows are buffered and bulk-inserted.

Only the IP (or a batch label), timings, outcome, HTTP status and the exception *class* are stored: never
a message, a URL or a header, so an API key cannot end up here.
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
from dataclasses import asdict, dataclass
from typing import Protocol

from sqlalchemy import Engine, func, insert, select

from cowrieprocessor.storage.models import ProviderCall


class Outcome(enum.StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    ERROR = "error"
    RATE_LIMITED = "rate_limited"
    SKIPPED_BUDGET = "skipped_budget"
    SKIPPED_BREAKER = "skipped_breaker"


#: Outcomes that were real requests (they count against a daily budget).
CALLED = (Outcome.FOUND, Outcome.NOT_FOUND, Outcome.ERROR, Outcome.RATE_LIMITED)


@dataclass(frozen=True)
class CallRecord:
    source: str
    lookup_key: str
    called_at: dt.datetime
    outcome: Outcome
    duration_ms: float | None = None
    http_status: int | None = None
    error_class: str | None = None
    batch_size: int = 1


class Ledger(Protocol):
    def record(self, call: CallRecord) -> None: ...

    def flush(self) -> None: ...

    def calls_on(self, source: str, day: dt.date) -> int: ...


class MemoryLedger:
    """A ledger kept in memory: for tests and for commands run without a database."""

    def __init__(self) -> None:
        self.calls: list[CallRecord] = []
        self._lock = threading.Lock()

    def record(self, call: CallRecord) -> None:
        with self._lock:
            self.calls.append(call)

    def flush(self) -> None:
        return None

    def calls_on(self, source: str, day: dt.date) -> int:
        with self._lock:
            return sum(
                1
                for c in self.calls
                if c.source == source and c.outcome in CALLED and c.called_at.astimezone(dt.UTC).date() == day
            )


class DatabaseLedger:
    """Buffers records and writes them with one multi-row INSERT per ``flush`` (or every ``flush_every``)."""

    def __init__(self, engine: Engine, flush_every: int = 500) -> None:
        self.engine = engine
        self.flush_every = flush_every
        self._buffer: list[CallRecord] = []
        self._lock = threading.Lock()

    def record(self, call: CallRecord) -> None:
        with self._lock:
            self._buffer.append(call)
            full = len(self._buffer) >= self.flush_every
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            rows, self._buffer = self._buffer, []
        if not rows:
            return
        values = [{**asdict(r), "outcome": r.outcome.value, "lookup_key": r.lookup_key[:128]} for r in rows]
        with self.engine.begin() as conn:
            conn.execute(insert(ProviderCall), values)

    def calls_on(self, source: str, day: dt.date) -> int:
        """Requests already made to ``source`` on ``day`` (UTC), including ones not yet flushed."""
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        stmt = (
            select(func.count())
            .select_from(ProviderCall)
            .where(
                ProviderCall.source == source,
                ProviderCall.outcome.in_([o.value for o in CALLED]),
                ProviderCall.called_at >= start,
                ProviderCall.called_at < start + dt.timedelta(days=1),
            )
        )
        with self.engine.connect() as conn:
            stored = int(conn.execute(stmt).scalar_one())
        with self._lock:
            pending = sum(
                1
                for c in self._buffer
                if c.source == source and c.outcome in CALLED and c.called_at.astimezone(dt.UTC).date() == day
            )
        return stored + pending
