"""Frugality for online sources: one rate limiter per source per process, a daily budget, and retries.

The registry is the point: an earlier implementation built a new limiter per request, so nothing was
limited. ``limiter("greynoise", rate)`` returns the same object to every caller in the process. Time is
injected (:class:`Clock`) so tests can prove the arithmetic without waiting, and the real clock on a small
number of calls proves the waiting.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cowrieprocessor.enrichment.base import utcnow

if TYPE_CHECKING:
    from cowrieprocessor.enrichment.breaker import CircuitBreaker


@dataclass
class Clock:
    """Monotonic time, sleeping and the wall clock (aware UTC), replaceable in tests."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], dt.datetime] = utcnow


SYSTEM_CLOCK = Clock()


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
        self._budgets: dict[str, DailyBudget] = {}
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
    ) -> DailyBudget:
        with self._lock:
            budget = self._budgets.get(name)
            if budget is None or budget.clock is not clock:
                budget = self._budgets[name] = DailyBudget(limit, clock, already_used)
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
