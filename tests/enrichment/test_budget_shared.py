"""The daily budget shared through the database: it holds for every process on one database, on both
backends, reserves in blocks, gives back what it did not spend, rolls over at midnight UTC and starts
from the ledger."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect, select

from cowrieprocessor.enrichment.cascade import build_sources
from cowrieprocessor.enrichment.guard import Attempt, Guard
from cowrieprocessor.enrichment.ledger import CallRecord, DatabaseLedger, MemoryLedger, Outcome
from cowrieprocessor.enrichment.ratelimit import Clock, DailyBudget, SharedDailyBudget
from cowrieprocessor.enrichment.settings import ProvidersSettings, SourceSettings
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import ProviderBudgetUsage
from tests.enrichment.conftest import FakeClock

SOURCE = "greynoise"
DAY = dt.date(2024, 5, 2)  # FakeClock's day
NOON = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.UTC)


def usage(engine: Engine, source: str = SOURCE) -> dict[dt.date, int]:
    """The shared counter's rows of ``source``: UTC day -> calls reserved."""
    t = ProviderBudgetUsage
    with engine.connect() as conn:
        rows = conn.execute(select(t.day, t.used).where(t.source == source)).all()
    return {day: used for day, used in rows}


@pytest.fixture
def other_engine(db_url: str) -> Iterator[Engine]:
    """A second engine on the same database: what another process would have."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def test_limit_holds_across_two_processes_on_one_database(
    engine: Engine, other_engine: Engine, clock: FakeClock
) -> None:
    first = SharedDailyBudget(50, engine, clock, source=SOURCE, block_size=7)
    second = SharedDailyBudget(50, other_engine, clock, source=SOURCE, block_size=7)
    spent = [0, 0]
    for _ in range(200):  # interleaved, as two processes would
        for i, budget in enumerate((first, second)):
            spent[i] += budget.try_spend()
    assert sum(spent) == 50
    assert spent[0] > 0 and spent[1] > 0
    assert first.remaining() == 0 and second.remaining() == 0
    # In-process budgets let each of them spend the whole 50: that was the bug.
    per_process = [DailyBudget(50, clock), DailyBudget(50, clock)]
    assert sum(b.try_spend() for _ in range(200) for b in per_process) == 100
    first.release()
    second.release()
    assert usage(engine) == {DAY: 50}


def test_guard_in_this_process_sees_what_another_process_spent(
    engine: Engine, other_engine: Engine, clock: FakeClock
) -> None:
    ledger = DatabaseLedger(engine)
    guard = Guard.for_source(
        SOURCE, SourceSettings(rate_per_second=1000, daily_budget=10, max_attempts=1), ledger, clock
    )
    assert isinstance(guard.budget, SharedDailyBudget)
    elsewhere = SharedDailyBudget(10, other_engine, clock, source=SOURCE, block_size=1)
    assert sum(elsewhere.try_spend() for _ in range(8)) == 8
    outcomes = [guard.call(f"10.0.0.{i}", lambda: Attempt[str](Outcome.FOUND, "x")).outcome for i in range(5)]
    assert outcomes == [Outcome.FOUND] * 2 + [Outcome.SKIPPED_BUDGET] * 3
    guard.close()
    ledger.flush()
    assert usage(engine) == {DAY: 10}


def _spend_until_exhausted(url: str, limit: int, block: int, release_every: int, barrier: Any, results: Any) -> None:
    """One "process" of the concurrency test: spend until the shared budget says no, giving its block back
    now and then (a source closed and opened again)."""
    engine = make_engine(url)
    budget = SharedDailyBudget(limit, engine, Clock(now=lambda: NOON), source=SOURCE, block_size=block)
    barrier.wait()
    spent = 0
    while spent <= limit and budget.try_spend():  # bounded: a broken budget must fail the test, not hang it
        spent += 1
        if spent % release_every == 0:
            budget.release()
    budget.release()
    engine.dispose()
    results.put(spent)


@pytest.mark.slow
def test_concurrent_processes_never_exceed_and_together_use_the_whole_budget(engine: Engine, db_url: str) -> None:
    limit, workers = 1500, 3
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_spend_until_exhausted, args=(db_url, limit, 5, 13 + i, barrier, results))
        for i in range(workers)
    ]
    try:
        for p in procs:
            p.start()
        spent = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
    assert sum(spent) == limit  # never more, and nothing left unspent once every process gave back
    assert sum(1 for s in spent if s > 0) >= 2  # they really shared it
    assert usage(engine) == {DAY: limit}


def test_unused_reservation_is_returned_on_close(engine: Engine, clock: FakeClock) -> None:
    budget = SharedDailyBudget(100, engine, clock, source=SOURCE, block_size=10)
    assert all(budget.try_spend() for _ in range(3))
    assert usage(engine) == {DAY: 10}  # one block reserved, not one row update per call
    budget.release()
    assert usage(engine) == {DAY: 3}
    assert budget.try_spend()
    assert usage(engine) == {DAY: 13}

    # Through the guard and through a source built by the cascade: closing gives the block back.
    guard = Guard.for_source("spur", SourceSettings(daily_budget=1000), DatabaseLedger(engine), clock)
    assert guard.budget.try_spend()
    assert usage(engine, "spur") == {DAY: 25}  # the default block: min(25, limit // 20)
    guard.close()
    assert usage(engine, "spur") == {DAY: 1}

    settings = ProvidersSettings.model_validate({"cymru": {"enabled": True}, "embedded": {"enabled": False}})
    sources = build_sources(settings, DatabaseLedger(engine), only=["cymru"], clock=clock)
    cymru = next(s for s in sources if s.name == "cymru")
    assert all(cymru.guard.budget.try_spend() for _ in range(2))  # type: ignore[attr-defined]
    assert usage(engine, "cymru") == {DAY: 25}
    for source in sources:
        source.close()
    assert usage(engine, "cymru") == {DAY: 2}


def test_day_rollover_returns_yesterdays_block_and_starts_afresh(engine: Engine, clock: FakeClock) -> None:
    budget = SharedDailyBudget(5, engine, clock, source=SOURCE, block_size=3)
    assert [budget.try_spend() for _ in range(7)] == [True] * 5 + [False] * 2
    clock.advance(3600)  # still the same day: still spent (and not asked again: the answer is cached)
    assert budget.try_spend() is False
    clock.advance(12 * 3600)  # past midnight UTC
    assert budget.try_spend() is True
    assert usage(engine) == {DAY: 5, DAY + dt.timedelta(days=1): 3}

    assert budget.try_spend() is True
    clock.advance(24 * 3600)
    assert budget.try_spend() is True
    # The second day's unspent block went back to that day when the third began.
    assert usage(engine) == {DAY: 5, DAY + dt.timedelta(days=1): 2, DAY + dt.timedelta(days=2): 3}


def test_new_day_row_starts_from_the_ledger(engine: Engine, other_engine: Engine, clock: FakeClock) -> None:
    ledger = DatabaseLedger(engine)
    for outcome in (Outcome.FOUND, Outcome.NOT_FOUND, Outcome.ERROR, Outcome.RATE_LIMITED, Outcome.SKIPPED_BUDGET):
        ledger.record(CallRecord(SOURCE, "1.2.3.4", clock.now(), outcome))
    ledger.record(CallRecord(SOURCE, "1.2.3.4", clock.now() - dt.timedelta(days=1), Outcome.FOUND))  # yesterday
    ledger.record(CallRecord("spur", "1.2.3.4", clock.now(), Outcome.FOUND))  # another source
    ledger.flush()

    def already(day: dt.date) -> int:
        return ledger.calls_on(SOURCE, day)

    budget = SharedDailyBudget(6, engine, clock, already, source=SOURCE, block_size=1)
    assert [budget.try_spend() for _ in range(4)] == [True, True, False, False]  # 4 real calls already made
    assert usage(engine) == {DAY: 6}
    # The row exists now: a second process does not seed it again (that would count the history twice).
    budget.release()
    other = SharedDailyBudget(8, other_engine, clock, already, source=SOURCE, block_size=1)
    assert [other.try_spend() for _ in range(3)] == [True, True, False]
    assert usage(engine) == {DAY: 8}


def test_unlimited_budget_never_touches_the_database(engine: Engine, clock: FakeClock) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        guard = Guard.for_source(SOURCE, SourceSettings(daily_budget=None), DatabaseLedger(engine), clock)
        assert isinstance(guard.budget, SharedDailyBudget)
        assert all(guard.budget.try_spend() for _ in range(1000))
        assert guard.budget.remaining() is None
        guard.close()
        zero = SharedDailyBudget(0, engine, clock, source=SOURCE)
        assert zero.try_spend() is False
        assert statements == []
        limited = SharedDailyBudget(3, engine, clock, source=SOURCE)  # the counter is what a limit costs
        assert limited.try_spend()
        assert statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_registry_keeps_one_budget_per_source_per_process(engine: Engine, clock: FakeClock) -> None:
    ledger = DatabaseLedger(engine)
    g1 = Guard.for_source(SOURCE, SourceSettings(daily_budget=40), ledger, clock)
    g2 = Guard.for_source(SOURCE, SourceSettings(daily_budget=40), DatabaseLedger(engine), clock)
    assert g1.budget is g2.budget and isinstance(g1.budget, SharedDailyBudget)
    assert Guard.for_source(SOURCE, SourceSettings(daily_budget=40), MemoryLedger(), clock).budget is not g1.budget
    memory = Guard.for_source("spur", SourceSettings(daily_budget=40), MemoryLedger(), clock)
    assert isinstance(memory.budget, DailyBudget)


def test_database_without_the_table_counts_per_process(empty_db_url: str, clock: FakeClock) -> None:
    """``lookup`` may run on a v16 database: budgets then hold per process instead of failing every call."""
    engine = make_engine(empty_db_url)
    assert schema.upgrade(engine, "v16") == "v16"
    budget = SharedDailyBudget(2, engine, clock, source=SOURCE)
    assert [budget.try_spend() for _ in range(3)] == [True, True, False]
    engine.dispose()


def test_migration_adds_and_removes_the_counter(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    assert schema.upgrade(engine, "v17") == "v17"
    assert "provider_budget_usage" in inspect(engine).get_table_names()
    assert schema.downgrade(engine, "v16") == "v16"
    assert "provider_budget_usage" not in inspect(engine).get_table_names()
    assert "provider_calls" in inspect(engine).get_table_names()  # the ledger stays
    assert schema.upgrade(engine, "v17") == "v17"
    engine.dispose()
