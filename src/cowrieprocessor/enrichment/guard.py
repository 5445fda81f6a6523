"""One call to an online source, made frugally: breaker, budget, rate limit, retries, ledger.

Every online source (HTTP APIs and Team Cymru) goes through :meth:`Guard.call`, so the rules are written
once: a call the breaker or the budget forbids is not made (and recorded as skipped); every attempt
waits for the shared limiter and is recorded; ``429`` defers the limiter by ``Retry-After`` when that is
short enough to wait for (``max_retry_wait_seconds``); a longer wait ends the call as rate-limited and
*pauses* the source (its breaker opens for the wait: the source's next calls are skipped, not slept on,
and the other sources go on); timeouts and 5xx are retried with backoff and jitter; the final outcome
feeds the breaker (a call that ends rate-limited counts as a failure).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import Generic, TypeVar

from sqlalchemy import Engine

from cowrieprocessor.enrichment.breaker import CircuitBreaker
from cowrieprocessor.enrichment.ledger import CallRecord, Ledger, Outcome
from cowrieprocessor.enrichment.ratelimit import REGISTRY, Budget, Clock, RateLimiter, RetryPolicy
from cowrieprocessor.enrichment.settings import SourceSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """What one request produced. ``retryable``: a timeout or 5xx worth another try."""

    outcome: Outcome
    value: T | None = None
    http_status: int | None = None
    error_class: str | None = None
    retry_after: float | None = None
    retryable: bool = False


@dataclass(frozen=True)
class CallResult(Generic[T]):
    outcome: Outcome
    value: T | None
    error: str | None
    http_status: int | None = None


@dataclass(eq=False)
class Guard:
    name: str
    _: KW_ONLY
    limiter: RateLimiter
    budget: Budget
    breaker: CircuitBreaker
    ledger: Ledger
    policy: RetryPolicy
    clock: Clock

    @classmethod
    def for_source(cls, name: str, section: SourceSettings, ledger: Ledger, clock: Clock) -> Guard:
        """Build with the process-wide limiter, budget and breaker of ``name`` (the registry). With a ledger in
        a database the budget is that database's, shared with every other process writing to it."""
        engine = getattr(ledger, "engine", None)
        return cls(
            name,
            limiter=REGISTRY.limiter(name, section.rate_per_second, clock),
            budget=REGISTRY.budget(
                name,
                section.daily_budget,
                clock,
                already_used=lambda day: ledger.calls_on(name, day),
                engine=engine if isinstance(engine, Engine) else None,
            ),
            breaker=REGISTRY.breaker(name, section.breaker_failures, section.breaker_cooldown_seconds, clock),
            ledger=ledger,
            policy=RetryPolicy(
                max_attempts=section.max_attempts,
                max_retry_wait=section.max_retry_wait_seconds,
                default_retry_after=min(300.0, section.max_retry_wait_seconds),
            ),
            clock=clock,
        )

    def close(self) -> None:
        """Give back the budget reserved ahead and not spent, so other processes can use it."""
        self.budget.release()

    def _record(self, key: str, outcome: Outcome, batch_size: int) -> None:
        self.ledger.record(
            CallRecord(
                source=self.name,
                lookup_key=key,
                called_at=self.clock.now(),
                outcome=outcome,
                batch_size=batch_size,
            )
        )

    def call(self, key: str, attempt: Callable[[], Attempt[T]], *, batch_size: int = 1) -> CallResult[T]:
        if not self.breaker.allow():
            self._record(key, Outcome.SKIPPED_BREAKER, batch_size)
            paused = self.breaker.paused_for()
            why = f"paused for {paused:.0f} s more (provider's Retry-After)" if paused else "circuit breaker open"
            return CallResult(Outcome.SKIPPED_BREAKER, None, why)
        last: Attempt[T] | None = None
        for number in range(self.policy.max_attempts):
            if not self.budget.try_spend():
                self._record(key, Outcome.SKIPPED_BUDGET, batch_size)
                return CallResult(Outcome.SKIPPED_BUDGET, None, "daily budget exhausted")
            self.limiter.acquire()
            started = self.clock.monotonic()
            called_at = self.clock.now()
            try:
                last = attempt()
            except Exception as exc:  # a source's bug must not end the run: it becomes an outcome
                log.warning("%s: unexpected %s", self.name, exc.__class__.__name__)
                last = Attempt(Outcome.ERROR, error_class=exc.__class__.__name__)
            self.ledger.record(
                CallRecord(
                    source=self.name,
                    lookup_key=key,
                    called_at=called_at,
                    outcome=last.outcome,
                    duration_ms=(self.clock.monotonic() - started) * 1000.0,
                    http_status=last.http_status,
                    error_class=last.error_class,
                    batch_size=batch_size,
                )
            )
            self.ledger.flush()  # a request made is on record at once: a kill -9 cannot lose it
            more = number + 1 < self.policy.max_attempts
            if last.outcome is Outcome.RATE_LIMITED:
                wait = last.retry_after if last.retry_after is not None else self.policy.default_retry_after
                if wait > self.policy.max_retry_wait:  # not worth waiting for inside a run: pause the source
                    self.breaker.pause(wait)
                    break
                self.limiter.defer(wait)  # every caller of this source waits, not only this one
                if more:
                    continue
                break
            if last.retryable and more:
                self.clock.sleep(self.policy.backoff(number))
                continue
            break
        assert last is not None
        if last.outcome in (Outcome.ERROR, Outcome.RATE_LIMITED):
            self.breaker.record_failure()
        else:
            self.breaker.record_success()
        return CallResult(last.outcome, last.value, _describe(last), last.http_status)


def _describe(attempt: Attempt[T]) -> str | None:
    if attempt.outcome is Outcome.RATE_LIMITED:
        return f"rate limited (HTTP {attempt.http_status})" if attempt.http_status else "rate limited"
    if attempt.outcome is not Outcome.ERROR:
        return None
    parts = [p for p in (f"HTTP {attempt.http_status}" if attempt.http_status else None, attempt.error_class) if p]
    return ", ".join(parts) or "error"
