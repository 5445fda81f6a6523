from __future__ import annotations

import datetime as dt
import random
import threading
import time

from cowrieprocessor.enrichment.breaker import BreakerState, CircuitBreaker
from cowrieprocessor.enrichment.guard import Attempt, Guard
from cowrieprocessor.enrichment.ledger import CallRecord, MemoryLedger, Outcome
from cowrieprocessor.enrichment.ratelimit import REGISTRY, DailyBudget, RateLimiter, RetryPolicy
from cowrieprocessor.enrichment.settings import SourceSettings
from tests.enrichment.conftest import FakeClock


def test_limiter_really_waits_with_the_real_clock() -> None:
    limiter = RateLimiter(20.0)  # 20/s: 7 acquisitions need at least 6 intervals = 0.30 s
    started = time.monotonic()
    for _ in range(7):
        limiter.acquire()
    assert time.monotonic() - started >= 0.29


def test_limiter_is_shared_by_threads() -> None:
    limiter = RateLimiter(50.0)
    started = time.monotonic()
    threads = [threading.Thread(target=limiter.acquire) for _ in range(11)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started >= 0.19  # 10 intervals of 20 ms, whatever the threads do


def test_limiter_spacing_and_defer_with_fake_clock(clock: FakeClock) -> None:
    limiter = RateLimiter(2.0, clock)
    for _ in range(5):
        limiter.acquire()
    assert clock.t - 1000.0 == 2.0  # 5 calls at 2/s: the last one at t+2.0
    limiter.defer(30.0)
    limiter.acquire()
    assert clock.t - 1000.0 == 32.0


def test_registry_gives_one_limiter_per_source(clock: FakeClock) -> None:
    a = REGISTRY.limiter("greynoise", 1.0, clock)
    b = REGISTRY.limiter("greynoise", 1.0, clock)
    other = REGISTRY.limiter("spur", 1.0, clock)
    assert a is b and a is not other
    ledger = MemoryLedger()
    g1 = Guard.for_source("abuseipdb", SourceSettings(rate_per_second=4), ledger, clock)
    g2 = Guard.for_source("abuseipdb", SourceSettings(rate_per_second=4), ledger, clock)
    assert g1.limiter is g2.limiter and g1.budget is g2.budget and g1.breaker is g2.breaker


def test_budget_stops_and_resets_next_utc_day(clock: FakeClock) -> None:
    budget = DailyBudget(3, clock)
    assert [budget.try_spend() for _ in range(5)] == [True, True, True, False, False]
    assert budget.remaining() == 0
    clock.advance(24 * 3600)
    assert budget.try_spend() is True


def test_budget_is_seeded_from_the_ledger(clock: FakeClock) -> None:
    ledger = MemoryLedger()
    for _ in range(4):
        ledger.record(CallRecord("spur", "1.2.3.4", clock.now(), Outcome.FOUND))
    ledger.record(CallRecord("spur", "1.2.3.4", clock.now(), Outcome.SKIPPED_BUDGET))  # not a call
    budget = DailyBudget(5, clock, already_used=lambda day: ledger.calls_on("spur", day))
    assert budget.try_spend() is True
    assert budget.try_spend() is False


def test_breaker_opens_half_opens_and_closes(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failures=3, cooldown=60.0, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.advance(59.0)
    assert not breaker.allow()
    clock.advance(1.0)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow() is True
    assert breaker.allow() is False  # only one trial call while half-open
    breaker.record_failure()  # the trial failed: open again for a full cool-down
    assert breaker.state is BreakerState.OPEN
    clock.advance(60.0)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()


def test_backoff_grows_with_jitter_inside_bounds() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, rng=random.Random(7))
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 8.0)]:
        delays = {policy.backoff(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jitter


def _guard(clock: FakeClock, ledger: MemoryLedger, **settings: object) -> Guard:
    return Guard.for_source("testsrc", SourceSettings(**settings), ledger, clock)  # type: ignore[arg-type]


def test_guard_retries_5xx_then_succeeds_and_records_each_attempt(clock: FakeClock) -> None:
    ledger = MemoryLedger()
    replies = [
        Attempt[str](Outcome.ERROR, http_status=503, error_class="ServerError", retryable=True),
        Attempt[str](Outcome.FOUND, "ok", http_status=200),
    ]
    call = _guard(clock, ledger, rate_per_second=100).call("1.2.3.4", lambda: replies.pop(0))
    assert call.outcome is Outcome.FOUND and call.value == "ok"
    assert [c.outcome for c in ledger.calls] == [Outcome.ERROR, Outcome.FOUND]
    assert [c.http_status for c in ledger.calls] == [503, 200]
    assert any(0.25 <= s <= 0.5 for s in clock.sleeps)  # backoff of attempt 0 (base 0.5 s, jittered)


def test_guard_honours_retry_after_then_gives_up_when_too_long(clock: FakeClock) -> None:
    ledger = MemoryLedger()
    guard = _guard(clock, ledger, rate_per_second=100, max_retry_wait_seconds=10)
    replies = [
        Attempt[str](Outcome.RATE_LIMITED, http_status=429, retry_after=7.0),
        Attempt[str](Outcome.FOUND, "ok", http_status=200),
    ]
    before = clock.t
    assert guard.call("a", lambda: replies.pop(0)).outcome is Outcome.FOUND
    assert clock.t - before >= 7.0
    call = guard.call("b", lambda: Attempt[str](Outcome.RATE_LIMITED, http_status=429, retry_after=3600.0))
    assert call.outcome is Outcome.RATE_LIMITED
    assert [c.outcome for c in ledger.calls].count(Outcome.RATE_LIMITED) == 2
    # The source is paused for the hour, nobody sleeps on it: the next call is skipped at once, unmade.
    before = clock.t
    made: list[str] = []
    skipped = guard.call("c", lambda: made.append("c") or Attempt[str](Outcome.FOUND, "ok"))
    assert skipped.outcome is Outcome.SKIPPED_BREAKER and "paused" in (skipped.error or "")
    assert clock.t - before < 1.0 and made == []
    # Once the hour has passed, one trial call goes through and its success ends the pause.
    clock.advance(3600.0)
    assert guard.call("d", lambda: Attempt[str](Outcome.FOUND, "ok")).outcome is Outcome.FOUND


def test_guard_skips_on_budget_and_breaker_and_records_it(clock: FakeClock) -> None:
    ledger = MemoryLedger()
    guard = _guard(clock, ledger, rate_per_second=100, daily_budget=2, max_attempts=1, breaker_failures=2)
    calls = 0

    def failing() -> Attempt[str]:
        nonlocal calls
        calls += 1
        return Attempt(Outcome.ERROR, error_class="ConnectError")

    assert guard.call("1", failing).outcome is Outcome.ERROR
    assert guard.call("2", failing).outcome is Outcome.ERROR
    assert guard.call("3", failing).outcome is Outcome.SKIPPED_BREAKER
    guard.breaker.record_success()
    assert guard.call("4", failing).outcome is Outcome.SKIPPED_BUDGET
    assert calls == 2
    assert [c.outcome for c in ledger.calls] == [
        Outcome.ERROR,
        Outcome.ERROR,
        Outcome.SKIPPED_BREAKER,
        Outcome.SKIPPED_BUDGET,
    ]


def test_guard_turns_an_unexpected_exception_into_an_outcome(clock: FakeClock) -> None:
    ledger = MemoryLedger()

    def broken() -> Attempt[str]:
        raise KeyError("surprise")

    call = _guard(clock, ledger, max_attempts=1).call("1.2.3.4", broken)
    assert call.outcome is Outcome.ERROR and call.error == "KeyError"
    assert ledger.calls[0].error_class == "KeyError"
    assert ledger.calls[0].called_at.tzinfo is dt.UTC or ledger.calls[0].called_at.utcoffset() == dt.timedelta(0)
