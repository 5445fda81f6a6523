"""Per-destination token buckets: ``burst`` alerts at once, then ``rate_per_second``; never blocking.

The enrichment limiter (``enrichment.ratelimit.RateLimiter``) spaces calls evenly and sleeps for its slot; a
live loop must not sleep on a slow destination, so an alert without a token stays ``pending`` for the next
run instead. Time comes from the same injectable :class:`~cowrieprocessor.enrichment.ratelimit.Clock`.
A new process's bucket starts with ``burst`` minus what the destination accepted within the last refill
period (from the outbox), so restarts and cron runs cannot add a burst each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cowrieprocessor.enrichment.ratelimit import SYSTEM_CLOCK, Clock


class TokenBucket:
    def __init__(self, rate_per_second: float, burst: int, clock: Clock = SYSTEM_CLOCK, used: int = 0) -> None:
        self.rate = rate_per_second
        self.burst = burst
        self.clock = clock
        self._tokens = float(max(0, burst - used))
        self._at = clock.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now

    def available(self) -> int:
        with self._lock:
            self._refill()
            return int(self._tokens)

    def try_take(self) -> bool:
        with self._lock:
            self._refill()
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True

    def give_back(self) -> None:
        """A token taken for an alert that was not sent after all (its claim was lost)."""
        with self._lock:
            self._tokens = min(float(self.burst), self._tokens + 1)


class Buckets:
    """One bucket per destination per process (and per database: the seed is that database's history)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def get(
        self, database: str, name: str, rate: float, burst: int, used: Callable[[], int], clock: Clock = SYSTEM_CLOCK
    ) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get((database, name))
            if bucket is None or bucket.rate != rate or bucket.burst != burst or bucket.clock is not clock:
                bucket = self._buckets[(database, name)] = TokenBucket(rate, burst, clock, used())
            return bucket

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


BUCKETS = Buckets()
