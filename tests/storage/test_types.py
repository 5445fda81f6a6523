"""Type adapters return the same Python values on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from cowrieprocessor.storage.models import IPInventory, SessionSummary


def test_timestamps_come_back_aware_utc(engine: Engine) -> None:
    local = dt.datetime(2025, 2, 25, 23, 59, 59, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with Session(engine) as session:
        session.add(IPInventory(ip_address="203.0.113.7"))
        session.add(SessionSummary(session_id="abc123def456", source_ip="203.0.113.7", first_event_at=local))
        session.commit()
    with Session(engine) as session:
        stored = session.scalars(select(SessionSummary.first_event_at)).one()
    assert stored.tzinfo is not None
    assert stored.utcoffset() == dt.timedelta(0)
    assert stored == local


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(SessionSummary(session_id="naive0000000", first_event_at=dt.datetime(2025, 1, 1)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.commit()


@pytest.mark.parametrize(
    ("given", "stored"),
    [("2001:DB8:0:0:0:0:0:1", "2001:db8::1"), ("198.51.100.9", "198.51.100.9")],
)
def test_ip_addresses_are_canonical(engine: Engine, given: str, stored: str) -> None:
    with Session(engine) as session:
        session.add(IPInventory(ip_address=given))
        session.commit()
    with Session(engine) as session:
        assert session.scalars(select(IPInventory.ip_address)).one() == stored
        assert session.get(IPInventory, stored) is not None


def test_invalid_ip_is_refused(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(IPInventory(ip_address="999.1.2.3"))
        with pytest.raises(StatementError):
            session.commit()


def test_snapshot_ip_types_round_trip(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(SessionSummary(session_id="types0000000", snapshot_ip_types=["VPN", "DATACENTER"]))
        session.commit()
    with Session(engine) as session:
        assert session.scalars(select(SessionSummary.snapshot_ip_types)).one() == ["VPN", "DATACENTER"]
