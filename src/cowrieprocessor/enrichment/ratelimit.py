"""Frugality for online sources: one rate limiter per source per process, a daily budget, and retries.

The registry is the point: an earlier implementation built a new limiter per request, so nothing was
limited. ``limiter("greynoise", rate)`` returns the same object to every caller in the process. Time is
injected (:class:`Clock`) so tests can prove the arithmetic without waiting, and the real clock on a small
number of calls proves the waiting.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine, case, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from cowrieprocessor.clock import SYSTEM_CLOCK as SYSTEM_CLOCK  # re-exported: where sources look for it
from cowrieprocessor.clock import Clock as Clock
from cowrieprocessor.storage.models import ProviderBudgetUsage

if TYPE_CHECKING:
    from cowrieprocessor.enrichment.breaker import CircuitBreaker

log = logging.getLogger(__name__)


class RateLimiter:
    """At most ``rate`` acquisitions per second, evenly spaced; thread-safe. ``defer`` pushes the next slot
    out (``Retry-After``) for every user of the limiter."""

    def __init__(self, rate_per_second: float, clock: Clock = SYSTEM_CLOCK) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.clock = clock
        self._interval = 1.0 / rate_per_second
        self._next = clock.monotonic()
        self._lock = threading.Lock()

    @property
    def rate_per_second(self) -> float:
        return 1.0 / self._interval

    def set_rate(self, rate_per_second: float) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        with self._lock:
            self._interval = 1.0 / rate_per_second

    def acquire(self) -> float:
        """Wait for the next slot; returns the seconds waited."""
        with self._lock:
            now = self.clock.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        wait = slot - now
        if wait > 0:
            self.clock.sleep(wait)
        return wait

    def defer(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, self.clock.monotonic() + max(0.0, seconds))


class DailyBudget:
    """At most ``limit`` calls per UTC day. ``already_used(day)`` seeds the count from the ledger, so a
    budget survives restarts; ``None`` limit = unlimited."""

    def __init__(
        self,
        limit: int | None,
        clock: Clock = SYSTEM_CLOCK,
        already_used: Callable[[dt.date], int] | None = None,
    ) -> None:
        self.limit = limit
        self.clock = clock
        self._already_used = already_used
        self._day: dt.date | None = None
        self._used = 0
        self._lock = threading.Lock()

    def _roll(self) -> None:
        today = self.clock.now().astimezone(dt.UTC).date()
        if today != self._day:
            self._day = today
            self._used = self._already_used(today) if self._already_used else 0

    def try_spend(self, n: int = 1) -> bool:
        with self._lock:
            self._roll()
            if self.limit is not None and self._used + n > self.limit:
                return False
            self._used += n
            return True

    def remaining(self) -> int | None:
        with self._lock:
            self._roll()
            return None if self.limit is None else max(0, self.limit - self._used)

    def release(self) -> None:
        """Nothing is reserved ahead in memory: there is nothing to give back."""
        return None


class Budget(Protocol):
    """What :class:`~.guard.Guard` needs of a daily budget (in-process or shared through the database)."""

    limit: int | None
    clock: Clock

    def try_spend(self, n: int = 1) -> bool: ...

    def remaining(self) -> int | None: ...

    def release(self) -> None: ...


#: Most calls one process reserves from the shared counter at a time (see :class:`SharedDailyBudget`).
MAX_BLOCK = 25
#: After the shared budget said "exhausted", ask the database again only this often (seconds): another
#: process may give back a reservation, but thousands of skipped IPs must not mean thousands of queries.
EXHAUSTED_RECHECK_SECONDS = 60.0


class SharedDailyBudget:
    """At most ``limit`` calls per UTC day for *every process* using ``engine``, not for each one.

    The day's count is a ``provider_budget_usage`` row. A process reserves a block of calls with one
    guarded statement (``UPDATE ... SET used = used + n WHERE used + n <= limit RETURNING``: atomic on
    PostgreSQL's row lock and under SQLite's single writer), spends it locally, and gives back what it did
    not spend on :meth:`release` (the source is closed) and at the day's roll-over. A crash loses only the
    unspent part of a block: the fleet can under-spend, never over-spend. A day's row starts from what the
    ledger already recorded (``already_used``), so history from before the shared counter still counts.
    An unlimited budget (``limit`` None) never touches the database.
    """

    def __init__(
        self,
        limit: int | None,
        engine: Engine,
        clock: Clock = SYSTEM_CLOCK,
        already_used: Callable[[dt.date], int] | None = None,
        *,
        source: str,
        block_size: int | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.source = source
        self.block_size = block_size
        self._already_used = already_used
        self._limit = limit
        self._day: dt.date | None = None
        self._local = 0  # reserved in the database for ``_day``, not spent yet
        self._exhausted_at: float | None = None
        self._fallback: DailyBudget | None = None  # only on a database without the table (schema < v17)
        self._checked_table = False
        self._lock = threading.Lock()

    @property
    def limit(self) -> int | None:
        return self._limit

    @limit.setter
    def limit(self, value: int | None) -> None:
        with self._lock:
            if value != self._limit:
                self._exhausted_at = None  # a higher limit may have room again
            self._limit = value
            if self._fallback is not None:
                self._fallback.limit = value

    def _block(self, limit: int, wanted: int) -> int:
        block = self.block_size if self.block_size is not None else min(MAX_BLOCK, max(1, limit // 20))
        return min(limit, max(block, wanted))

    def _today(self) -> dt.date:
        return self.clock.now().astimezone(dt.UTC).date()

    def _roll(self, today: dt.date) -> None:
        if today != self._day:
            self._give_back()  # yesterday's unspent block goes back to yesterday's row
            self._day = today
            self._exhausted_at = None

    def try_spend(self, n: int = 1) -> bool:
        limit = self._limit
        if limit is None:
            return True
        if n > limit:  # can never fit (a zero budget included): no need to ask the database
            return False
        with self._lock:
            if self._uses_fallback():
                assert self._fallback is not None
                return self._fallback.try_spend(n)
            self._roll(self._today())
            assert self._day is not None
            while self._local < n:
                if self._exhausted_at is not None:
                    if self.clock.monotonic() - self._exhausted_at < EXHAUSTED_RECHECK_SECONDS:
                        return False
                    self._exhausted_at = None
                got = self._reserve(self._day, limit, self._block(limit, n - self._local))
                if got == 0:
                    self._exhausted_at = self.clock.monotonic()
                    return False
                self._local += got
            self._local -= n
            return True

    def remaining(self) -> int | None:
        """Calls still possible today for this process: its unspent block plus what nobody reserved yet."""
        limit = self._limit
        if limit is None:
            return None
        with self._lock:
            if self._uses_fallback():
                assert self._fallback is not None
                return self._fallback.remaining()
            self._roll(self._today())
            assert self._day is not None
            used = self._used(self._day)
            free = limit - (used if used is not None else self._seed(self._day))
            return self._local + max(0, free)

    def release(self) -> None:
        """Give the unspent part of the reserved block back, for other processes to spend."""
        with self._lock:
            self._give_back()

    # -- the database ----------------------------------------------------------------------------------
    def _uses_fallback(self) -> bool:
        """Counting per process, with a warning, on a database that predates the shared counter (a v16
        database ``lookup`` may use): failing every online call there would be worse."""
        if not self._checked_table:
            self._checked_table = True
            if not inspect(self.engine).has_table(ProviderBudgetUsage.__tablename__):
                log.warning(
                    "%s: the database has no %s table (run `db upgrade`): the daily budget is counted per process",
                    self.source,
                    ProviderBudgetUsage.__tablename__,
                )
                self._fallback = DailyBudget(self._limit, self.clock, self._already_used)
        return self._fallback is not None

    def _seed(self, day: dt.date) -> int:
        return self._already_used(day) if self._already_used else 0

    def _used(self, day: dt.date) -> int | None:
        t = ProviderBudgetUsage
        with self.engine.connect() as conn:
            used = conn.execute(select(t.used).where(t.source == self.source, t.day == day)).scalar_one_or_none()
        return None if used is None else int(used)

    def _create_row(self, day: dt.date) -> None:
        """The day's row, starting from the ledger; a concurrent creator wins and this one changes nothing."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        stmt = (
            dialect.insert(ProviderBudgetUsage)
            .values(source=self.source, day=day, used=self._seed(day))
            .on_conflict_do_nothing(index_elements=["source", "day"])
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def _reserve(self, day: dt.date, limit: int, wanted: int) -> int:
        """Reserve up to ``wanted`` calls of ``day``; how many were granted (0: the budget is spent)."""
        t = ProviderBudgetUsage
        n = wanted
        for _ in range(100):  # each miss means another process reserved (or the row was missing): progress
            stmt = (
                update(t)
                .where(t.source == self.source, t.day == day, t.used + n <= limit)
                .values(used=t.used + n)
                .returning(t.used)
            )
            with self.engine.begin() as conn:
                if conn.execute(stmt).first() is not None:
                    return n
            used = self._used(day)
            if used is None:
                self._create_row(day)
                continue
            if used >= limit:
                return 0
            n = min(n, limit - used)
        log.warning("%s: could not reserve budget under contention; skipping this call", self.source)
        return 0

    def _give_back(self) -> None:
        if self._local <= 0 or self._day is None:
            self._local = 0
            return
        t = ProviderBudgetUsage
        n, self._local = self._local, 0
        stmt = (
            update(t)
            .where(t.source == self.source, t.day == self._day)
            .values(used=case((t.used >= n, t.used - n), else_=0))
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(stmt)
        except SQLAlchemyError as exc:  # best effort: the calls stay reserved, an under-spend only
            log.warning("%s: could not return %d reserved calls: %s", self.source, n, exc.__class__.__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt ``n`` (from 0) waits up to ``base * 2**n``."""

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_wait: float = 60.0
    default_retry_after: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.base_delay * float(1 << attempt))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


class Registry:
    """One limiter, one budget and one circuit breaker per source name, per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limiters: dict[str, RateLimiter] = {}
        self._budgets: dict[str, Budget] = {}
        self._breakers: dict[str, CircuitBreaker] = {}

    def limiter(self, name: str, rate_per_second: float, clock: Clock = SYSTEM_CLOCK) -> RateLimiter:
        with self._lock:
            limiter = self._limiters.get(name)
            if limiter is None or limiter.clock is not clock:
                limiter = self._limiters[name] = RateLimiter(rate_per_second, clock)
            elif limiter.rate_per_second != rate_per_second:
                limiter.set_rate(rate_per_second)
            return limiter

    def budget(
        self,
        name: str,
        limit: int | None,
        clock: Clock = SYSTEM_CLOCK,
        already_used: Callable[[dt.date], int] | None = None,
        engine: Engine | None = None,
    ) -> Budget:
        """With ``engine``, the budget shared by every process on that database; else counted in-process."""
        with self._lock:
            budget = self._budgets.get(name)
            if budget is None or budget.clock is not clock or getattr(budget, "engine", None) is not engine:
                if budget is not None:
                    budget.release()
                budget = self._budgets[name] = (
                    DailyBudget(limit, clock, already_used)
                    if engine is None
                    else SharedDailyBudget(limit, engine, clock, already_used, source=name)
                )
            budget.limit = limit
            return budget

    def breaker(self, name: str, failures: int, cooldown: float, clock: Clock = SYSTEM_CLOCK) -> CircuitBreaker:
        from cowrieprocessor.enrichment.breaker import CircuitBreaker

        with self._lock:
            breaker = self._breakers.get(name)
            if breaker is None or breaker.clock is not clock:
                breaker = self._breakers[name] = CircuitBreaker(failures, cooldown, clock)
            breaker.threshold, breaker.cooldown = failures, cooldown
            return breaker

    def clear(self) -> None:
        with self._lock:
            self._limiters.clear()
            self._budgets.clear()
            self._breakers.clear()


REGISTRY = Registry()
