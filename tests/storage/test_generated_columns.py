"""Generated columns of ip_inventory: the database and the hybrid properties agree, fallbacks included."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from cowrieprocessor.storage.models import IPInventory

# (enrichment, geo_country, ip_types, is_scanner, is_bogon), each case an edge of the fallback rules.
CASES: list[tuple[dict[str, Any], str, list[str], bool, bool]] = [
    ({}, "XX", [], False, False),
    ({"maxmind": {"country": "DE"}, "cymru": {"country": "US"}}, "DE", [], False, False),
    ({"maxmind": {"country": ""}, "cymru": {"country": "US"}}, "US", [], False, False),
    ({"maxmind": {}, "dshield": {"ip": {"ascountry": "NL"}}}, "NL", [], False, False),
    ({"dshield": {"ip": {"asname": "", "ascountry": ""}}}, "XX", [], False, False),
    ({"embedded": {"country": "BR"}}, "BR", [], False, False),
    ({"cymru": {"country": "CN"}, "embedded": {"country": "BR"}}, "CN", [], False, False),
    ({"spur": {"client": {"types": ["MOBILE", "DESKTOP"]}}}, "XX", ["MOBILE", "DESKTOP"], False, False),
    ({"spur": {"client": {"types": "MOBILE"}}}, "XX", [], False, False),
    ({"spur": ["8.8.8.8", "AS15169", "GOOGLE"]}, "XX", [], False, False),
    ({"greynoise": {"noise": True, "riot": False}}, "XX", [], True, False),
    ({"greynoise": {"noise": "true"}}, "XX", [], False, False),
    ({"greynoise": {"noise": False}}, "XX", [], False, False),
    ({"validation": {"is_bogon": True, "reason": "private"}}, "XX", [], False, True),
    ({"validation": {"is_bogon": None}}, "XX", [], False, False),
    ({"maxmind": ["not", "an", "object"], "cymru": {"country": "FR"}}, "FR", [], False, False),
    # sources spell countries in lower case too: the column is upper-case whatever they say (v18)
    ({"maxmind": {"country": "us"}}, "US", [], False, False),
    ({"dshield": {"ip": {"ascountry": "nl"}}}, "NL", [], False, False),
    ({"embedded": {"country": "Br"}}, "BR", [], False, False),
]


@pytest.mark.parametrize(("enrichment", "country", "types", "scanner", "bogon"), CASES)
def test_database_and_python_agree(
    engine: Engine, enrichment: dict[str, Any], country: str, types: list[str], scanner: bool, bogon: bool
) -> None:
    with Session(engine) as session:
        session.add(IPInventory(ip_address="192.0.2.10", enrichment=enrichment))
        session.commit()
    with Session(engine) as session:
        row = session.get(IPInventory, "192.0.2.10")
        assert row is not None
        stored = (row.geo_country_stored, row.ip_types_stored, row.is_scanner_stored, row.is_bogon_stored)
        computed = (row.geo_country, row.ip_types, row.is_scanner, row.is_bogon)
    assert stored == (country, types, scanner, bogon)
    assert computed == stored


def test_generated_columns_follow_updates(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(IPInventory(ip_address="198.51.100.1", enrichment={"cymru": {"country": "US"}}))
        session.commit()
        session.execute(
            update(IPInventory)
            .where(IPInventory.ip_address == "198.51.100.1")
            .values(enrichment={"maxmind": {"country": "GB"}, "greynoise": {"noise": True}})
        )
        session.commit()
        session.expire_all()
        row = session.get(IPInventory, "198.51.100.1")
        assert row is not None
        assert (row.geo_country_stored, row.is_scanner_stored) == ("GB", True)


def test_hybrid_expressions_filter_in_sql(engine: Engine) -> None:
    with Session(engine) as session:
        session.add_all(
            [
                IPInventory(ip_address="203.0.113.1", enrichment={"maxmind": {"country": "RU"}}),
                IPInventory(ip_address="203.0.113.2", enrichment={"greynoise": {"noise": True}}),
                IPInventory(ip_address="10.0.0.1", enrichment={"validation": {"is_bogon": True}}),
            ]
        )
        session.commit()
        assert session.scalars(select(IPInventory.ip_address).where(IPInventory.geo_country == "RU")).all() == [
            "203.0.113.1"
        ]
        assert session.scalars(select(IPInventory.ip_address).where(IPInventory.is_scanner)).all() == ["203.0.113.2"]
        assert session.scalars(select(IPInventory.ip_address).where(IPInventory.is_bogon)).all() == ["10.0.0.1"]
        unknown = session.scalars(select(IPInventory.ip_address).where(IPInventory.geo_country == "XX")).all()
        assert sorted(unknown) == ["10.0.0.1", "203.0.113.2"]
