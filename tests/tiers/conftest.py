"""Tier tests use real offline sources: the bogon check and MaxMind-format databases written here."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cowrieprocessor.config import EnrichSettings, FreshnessSettings
from cowrieprocessor.enrichment.base import LookupResult, Source
from cowrieprocessor.enrichment.mmdb import MaxMindSource
from cowrieprocessor.enrichment.validation import ValidationSource
from cowrieprocessor.storage.models import IPInventory, SessionSummary
from cowrieprocessor.tiers.enrichment_pass import EnrichmentPass
from cowrieprocessor.tiers.freshness import FreshnessPolicy

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def write_mmdb(path: Path, networks: dict[str, tuple[int, str, str]]) -> Path:
    """A GeoLite2-City+ASN-like database: network -> (ASN, AS organisation, country)."""
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-City", ipv4_compatible=True)
    for network, (asn, org, country) in networks.items():
        writer.insert_network(
            IPSet([network]),
            {
                "autonomous_system_number": asn,
                "autonomous_system_organization": org,
                "country": {"iso_code": country},
                "registered_country": {"iso_code": country},
            },
        )
    writer.to_db_file(str(path))
    return path


class Spy:
    """Counts the IPs each real source is asked about (a spy around the real object, not a mock)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.name = source.name
        self.online = source.online
        self.asked: Counter[str] = Counter()

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
        self.asked.update(ips)
        return self.source.lookup_many(ips, at=at)

    def close(self) -> None:
        self.source.close()


def add_session(engine: Engine, session_id: str, ip: str, when: dt.datetime, **values: Any) -> None:
    with Session(engine) as session:
        if session.get(IPInventory, ip) is None:
            session.add(IPInventory(ip_address=ip))
            session.flush()
        session.add(
            SessionSummary(
                session_id=session_id,
                source_ip=ip,
                first_event_at=when,
                last_event_at=when + dt.timedelta(seconds=30),
                **values,
            )
        )
        session.commit()


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += dt.timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def mmdb_path(tmp_path: Path) -> Path:
    return write_mmdb(
        tmp_path / "geo.mmdb",
        {
            "45.133.10.0/24": (64500, "EXAMPLE-HOSTING LLC", "NL"),
            "91.240.118.0/24": (64501, "Example Broadband Telecom", "BR"),
            "2a0e:1c80:1::/48": (64502, "Example Cloud Six", "DE"),
        },
    )


def make_pass(engine: Engine, sources: Sequence[Source], clock: Clock, **freshness: Any) -> EnrichmentPass:
    policy = FreshnessPolicy(FreshnessSettings(**freshness))
    return EnrichmentPass(engine, sources, policy, EnrichSettings(batch_size=50), worker="test", clock=clock)


def offline_sources(mmdb: Path) -> list[Spy]:
    return [Spy(ValidationSource()), Spy(MaxMindSource([mmdb]))]
