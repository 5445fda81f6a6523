"""ip_asn_history: an IP's ASN windows never overlap, enforced by the database on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cowrieprocessor.storage.models import ASNInventory, IPASNHistory, IPInventory

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _setup(session: Session) -> None:
    session.add_all([ASNInventory(asn_number=64500), ASNInventory(asn_number=64501)])
    session.add(IPInventory(ip_address="198.51.100.77", current_asn=64501))
    session.flush()


def _first_ten_days() -> IPASNHistory:
    """The IP's first window: AS64500 for [T0, T0 + 10 days)."""
    return IPASNHistory(
        ip_address="198.51.100.77", asn_number=64500, valid_from=T0, valid_until=T0 + dt.timedelta(days=10)
    )


def test_consecutive_windows_are_accepted(engine: Engine) -> None:
    with Session(engine) as session:
        _setup(session)
        session.add(_first_ten_days())
        session.add(IPASNHistory(ip_address="198.51.100.77", asn_number=64501, valid_from=T0 + dt.timedelta(days=10)))
        session.commit()


@pytest.mark.parametrize(
    ("start_days", "end_days"),
    [(5, None), (0, 3), (-5, 1), (9, 20)],
)
def test_overlapping_windows_are_rejected(engine: Engine, start_days: int, end_days: int | None) -> None:
    with Session(engine) as session:
        _setup(session)
        session.add(_first_ten_days())
        session.commit()
        until = None if end_days is None else T0 + dt.timedelta(days=end_days)
        session.add(
            IPASNHistory(
                ip_address="198.51.100.77",
                asn_number=64501,
                valid_from=T0 + dt.timedelta(days=start_days),
                valid_until=until,
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_two_open_windows_are_rejected(engine: Engine) -> None:
    with Session(engine) as session:
        _setup(session)
        session.add(IPASNHistory(ip_address="198.51.100.77", asn_number=64500, valid_from=T0))
        session.commit()
        session.add(IPASNHistory(ip_address="198.51.100.77", asn_number=64501, valid_from=T0 + dt.timedelta(days=30)))
        with pytest.raises(IntegrityError):
            session.commit()


def test_window_must_end_after_it_starts(engine: Engine) -> None:
    with Session(engine) as session:
        _setup(session)
        session.add(IPASNHistory(ip_address="198.51.100.77", asn_number=64500, valid_from=T0, valid_until=T0))
        with pytest.raises(IntegrityError):
            session.commit()


def test_session_ip_must_exist_in_inventory(engine: Engine) -> None:
    from cowrieprocessor.storage.models import SessionSummary

    with Session(engine) as session:
        session.add(SessionSummary(session_id="orphan000000", source_ip="198.51.100.250"))
        with pytest.raises(IntegrityError):
            session.commit()
