"""Snapshots and stored session enrichment cannot be changed once written, by anyone."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from cowrieprocessor.storage.models import IPInventory, SessionSummary

T = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def _session(engine: Engine, **values: object) -> None:
    with Session(engine) as session:
        session.add(IPInventory(ip_address="198.51.100.5"))
        session.add(SessionSummary(session_id="a1b2c3d4e5f6", source_ip="198.51.100.5", **values))
        session.commit()


def test_first_snapshot_is_written_and_other_columns_stay_writable(engine: Engine) -> None:
    _session(engine)
    with engine.begin() as conn:
        conn.execute(
            update(SessionSummary).values(
                snapshot_asn=64500, snapshot_country="NL", enrichment={"x": 1}, enrichment_at=T
            )
        )
        conn.execute(update(SessionSummary).values(command_count=3))
    with Session(engine) as session:
        row = session.get(SessionSummary, "a1b2c3d4e5f6")
        assert row is not None
        assert (row.snapshot_asn, row.command_count) == (64500, 3)


@pytest.mark.parametrize(
    "change",
    [
        {"snapshot_asn": 64501},
        {"snapshot_country": "DE"},
        {"enrichment_at": T + dt.timedelta(days=1)},
        {"snapshot_ip_types": ["VPN"]},
        {"enrichment": {"x": 2}},
    ],
)
def test_snapshot_cannot_change(engine: Engine, change: dict[str, object]) -> None:
    _session(engine, snapshot_asn=64500, snapshot_country="NL", enrichment={"x": 1}, enrichment_at=T)
    with pytest.raises(DatabaseError, match="immutable"), engine.begin() as conn:
        conn.execute(update(SessionSummary).values(**change))


def test_legacy_enrichment_is_never_rewritten(engine: Engine) -> None:
    _session(engine, enrichment={"dshield": {"ip": {"ascountry": "US"}}})
    with pytest.raises(DatabaseError, match="immutable"), engine.begin() as conn:
        conn.execute(update(SessionSummary).values(enrichment={"rewritten": True}))
