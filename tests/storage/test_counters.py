"""One rule for "counters from sessions": ingest's recount, the enrichment pass's recount and reconcile agree,
also for sessions without a last event time (an IP is last seen at such a session's first event)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from cowrieprocessor.ingestion.store import open_store
from cowrieprocessor.storage.models import IPInventory, SessionSummary
from cowrieprocessor.tiers import reconcile
from cowrieprocessor.tiers import tier_writes as tiers_store
from tests.tiers.conftest import NOW

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
BOTH = "45.133.10.1"  # one session with a last event time, a later one without
ONLY_FIRST = "45.133.10.2"  # its only session has no last event time
NONE = "45.133.10.3"  # no session at all
IPS = [BOTH, ONLY_FIRST, NONE]


def _populate(engine: Engine) -> None:
    with Session(engine) as session:
        session.add_all(IPInventory(ip_address=ip) for ip in IPS)
        session.flush()
        session.add_all([
            SessionSummary(session_id="a1", source_ip=BOTH, first_event_at=NOW, last_event_at=NOW + MINUTE),
            SessionSummary(session_id="a2", source_ip=BOTH, first_event_at=NOW + HOUR, last_event_at=None),
            SessionSummary(session_id="b1", source_ip=ONLY_FIRST, first_event_at=NOW - HOUR, last_event_at=None),
        ])  # fmt: skip
        session.commit()


def _spoil(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(IPInventory).values(session_count=99, first_seen=NOW - 99 * HOUR, last_seen=NOW))


def _counters(engine: Engine) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(IPInventory.ip_address, IPInventory.session_count, IPInventory.first_seen, IPInventory.last_seen)
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _ingest_recount(engine: Engine) -> dict[str, tuple[Any, ...]]:
    store = open_store(engine)
    try:
        store.begin()
        store.refresh_ip_counters(IPS)
        store.commit()
    finally:
        store.close()
    return _counters(engine)


def _pass_recount(engine: Engine) -> dict[str, tuple[Any, ...]]:
    with engine.begin() as conn:
        tiers_store.refresh_ip_counters(conn, IPS)
    return _counters(engine)


def test_ingest_pass_and_reconcile_agree(engine: Engine) -> None:
    _populate(engine)
    _spoil(engine)
    by_ingest = _ingest_recount(engine)
    _spoil(engine)
    by_pass = _pass_recount(engine)
    assert by_ingest == by_pass
    assert by_pass[BOTH] == (2, NOW, NOW + HOUR)
    assert by_pass[ONLY_FIRST] == (1, NOW - HOUR, NOW - HOUR)
    assert by_pass[NONE] == (0, None, None)
    drifts = {d.counter: d for d in reconcile.measure(engine)}
    for counter in ("session_count", "first_seen", "last_seen"):
        assert drifts[f"ip_inventory.{counter}"].rows_wrong == 0, drifts[f"ip_inventory.{counter}"]


def test_ingest_increment_reads_a_missing_last_as_the_first(engine: Engine) -> None:
    _populate(engine)
    with engine.begin() as conn:
        conn.execute(
            update(IPInventory)
            .where(IPInventory.ip_address == ONLY_FIRST)
            .values(session_count=0, first_seen=None, last_seen=None)
        )
    store = open_store(engine)
    try:
        store.begin()
        store.bump_ip_counters([(ONLY_FIRST, 1, NOW - HOUR, None)])
        store.commit()
    finally:
        store.close()
    bumped = _counters(engine)[ONLY_FIRST]
    assert bumped == _pass_recount(engine)[ONLY_FIRST] == (1, NOW - HOUR, NOW - HOUR)
