"""The provider-call ledger on both backends: bulk insert, every outcome, budget seeding, no keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select

from cowrieprocessor.enrichment.guard import Attempt, Guard
from cowrieprocessor.enrichment.ledger import CallRecord, DatabaseLedger, Outcome
from cowrieprocessor.enrichment.settings import SourceSettings
from cowrieprocessor.storage.models import ProviderCall
from tests.enrichment.conftest import FakeClock


def test_records_are_buffered_then_bulk_inserted(engine: Engine) -> None:
    ledger = DatabaseLedger(engine, flush_every=1000)
    when = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.UTC)
    for i, outcome in enumerate(list(Outcome) * 50):
        ledger.record(CallRecord("greynoise", f"45.83.66.{i % 250}", when, outcome, 12.5, 200, None))
    ledger.record(CallRecord("cymru", "bulk:23.0.0.7+499", when, Outcome.FOUND, 900.0, None, None, 500))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ProviderCall)).scalar_one() == 0
    ledger.flush()
    with engine.connect() as conn:
        rows = conn.execute(select(ProviderCall.outcome, func.count()).group_by(ProviderCall.outcome)).all()
        bulk = conn.execute(select(ProviderCall.batch_size).where(ProviderCall.source == "cymru")).scalar_one()
        stored_when = conn.execute(select(ProviderCall.called_at).limit(1)).scalar_one()
    assert dict(rows) == {o.value: 50 + (1 if o is Outcome.FOUND else 0) for o in Outcome}
    assert bulk == 500
    assert stored_when == when
    # Calls made today: real requests only (not the skipped ones), stored plus still buffered.
    ledger.record(CallRecord("greynoise", "1.2.3.4", when, Outcome.ERROR))
    assert ledger.calls_on("greynoise", when.date()) == 4 * 50 + 1
    assert ledger.calls_on("greynoise", when.date() + dt.timedelta(days=1)) == 0


def test_guard_writes_every_outcome_and_no_key(engine: Engine) -> None:
    clock = FakeClock()
    ledger = DatabaseLedger(engine)
    guard = Guard.for_source(
        "abuseipdb", SourceSettings(rate_per_second=1000, daily_budget=3, max_attempts=1), ledger, clock
    )
    guard.call("45.83.66.18", lambda: Attempt[str](Outcome.FOUND, "x", http_status=200))
    guard.call("81.2.69.160", lambda: Attempt[str](Outcome.ERROR, http_status=500, error_class="ServerError"))
    guard.call("91.7.8.9", lambda: Attempt[str](Outcome.RATE_LIMITED, http_status=429, retry_after=5))
    guard.call("5.6.7.8", lambda: Attempt[str](Outcome.FOUND, "x"))
    ledger.flush()
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                ProviderCall.lookup_key,
                ProviderCall.outcome,
                ProviderCall.http_status,
                ProviderCall.error_class,
                ProviderCall.duration_ms,
            ).order_by(ProviderCall.id)
        ).all()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("45.83.66.18", "found", 200, None),
        ("81.2.69.160", "error", 500, "ServerError"),
        ("91.7.8.9", "rate_limited", 429, None),
        ("5.6.7.8", "skipped_budget", None, None),
    ]
    assert all(r[4] is not None for r in rows[:3]) and rows[3][4] is None
