"""v18: country codes stored in lower case become upper case - generated column, inventories, snapshots."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert, select, text

from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import ASNInventory, IPInventory, SessionSummary

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _at_v17(url: str) -> Engine:
    engine = make_engine(url)
    assert schema.upgrade(engine, "v17") == "v17"
    with engine.begin() as conn:
        conn.execute(insert(ASNInventory.__table__), [{"asn_number": 1221, "organization_country": "au"}])
        conn.execute(
            insert(IPInventory.__table__),
            [{"ip_address": "1.128.0.1", "current_asn": 1221, "enrichment": {"maxmind": {"country": "au"}}}],
        )
        conn.execute(
            insert(SessionSummary.__table__),
            [
                {
                    "session_id": "s1",
                    "source_ip": "1.128.0.1",
                    "first_event_at": T0,
                    "last_event_at": T0,
                    "snapshot_asn": 1221,
                    "snapshot_country": "au",
                    "snapshot_source": "migration",
                    "enrichment_at": T0,
                }
            ],
        )
        assert conn.execute(text("SELECT geo_country FROM ip_inventory")).scalar_one() == "au"  # v16's expression
    return engine


def test_upgrade_upper_cases_every_stored_country_and_downgrade_keeps_the_data(empty_db_url: str) -> None:
    engine = _at_v17(empty_db_url)
    try:
        assert schema.upgrade(engine, "v18") == "v18"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT geo_country FROM ip_inventory")).scalar_one() == "AU"
            assert conn.execute(select(SessionSummary.snapshot_country)).scalar_one() == "AU"
            assert conn.execute(select(ASNInventory.organization_country)).scalar_one() == "AU"
            # the index on the recreated column is there, and a new lower-case answer is upper-cased too
            indexes = conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'ip_inventory'")
                if conn.dialect.name == "postgresql"
                else text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ip_inventory'")
            ).scalars()
            assert {"ix_ip_inventory_geo_country", "ix_ip_inventory_active_span"} <= set(indexes)
        with engine.begin() as conn:
            conn.execute(
                insert(IPInventory.__table__), [{"ip_address": "8.8.8.8", "enrichment": {"cymru": {"country": "us"}}}]
            )
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT ip_address, geo_country FROM ip_inventory")).tuples().all())
        assert {str(k): v for k, v in rows.items()} == {"1.128.0.1": "AU", "8.8.8.8": "US"}
        assert schema.downgrade(engine, "v17") == "v17"
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT ip_address, geo_country FROM ip_inventory")).tuples().all())
            assert {str(k): v for k, v in rows.items()} == {"1.128.0.1": "au", "8.8.8.8": "us"}
            assert conn.execute(select(SessionSummary.snapshot_country)).scalar_one() == "AU"
        assert schema.upgrade(engine) == schema.HEAD
    finally:
        engine.dispose()
