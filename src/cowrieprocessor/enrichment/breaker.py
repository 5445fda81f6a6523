"""Circuit breaker: stop calling a source that keeps failing, try it again after a cool-down."""

from __future__ import annotations

import enum
import threading

from cowrieprocessor.enrichment.ratelimit import SYSTEM_CLOCK, Clock


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after ``failures`` consecutive failures; after ``cooldown`` seconds lets one trial call
    through (half-open): its success closes the breaker, its failure opens it again."""

    def __init__(self, failures: int = 5, cooldown: float = 300.0, clock: Clock = SYSTEM_CLOCK) -> None:
        self.threshold = failures
        self.cooldown = cooldown
        self.clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_out = False
        self._paused_until: float | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._paused_until is not None:
            if self.clock.monotonic() < self._paused_until:
                return BreakerState.OPEN
            self._paused_until = None
            self._opened_at = self._opened_at if self._opened_at is not None else self.clock.monotonic() - self.cooldown
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self.clock.monotonic() - self._opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._trial_out:
                self._trial_out = True
                return True
            return False

    def pause(self, seconds: float) -> None:
        """Open for ``seconds`` (the provider's ``Retry-After``), then let one trial call through."""
        with self._lock:
            until = self.clock.monotonic() + max(0.0, seconds)
            self._paused_until = max(until, self._paused_until or until)
            self._trial_out = False

    def paused_for(self) -> float:
        """Seconds the provider asked this source to wait that are still to run (0: not paused)."""
        with self._lock:
            until = self._paused_until
            return 0.0 if until is None else max(0.0, until - self.clock.monotonic())

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._paused_until = None
            self._trial_out = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_out or self._failures >= self.threshold:
                self._opened_at = self.clock.monotonic()
            self._trial_out = False
