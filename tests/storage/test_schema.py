"""The migrations are the one source of schema truth; the models must mirror them on both backends."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import Base

SEED_TABLES = {"asn_inventory", "ip_inventory", "session_summaries", "ip_asn_history"}
SNAPSHOT_COLUMNS = {"snapshot_asn", "snapshot_country", "snapshot_ip_types", "enrichment_at", "enrichment"}


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_fresh_database_reaches_v16_with_seed_tables(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    assert schema.current_revision(engine) is None
    assert schema.upgrade(engine) == schema.HEAD
    tables = set(inspect(engine).get_table_names())
    assert SEED_TABLES <= tables
    session_columns = {c["name"] for c in inspect(engine).get_columns("session_summaries")}
    assert SNAPSHOT_COLUMNS <= session_columns
    engine.dispose()


def test_downgrade_to_v15_and_back(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    schema.upgrade(engine)
    assert schema.downgrade(engine, "v15") == "v15"
    tables = set(inspect(engine).get_table_names())
    assert not ({"asn_inventory", "ip_inventory", "ip_asn_history", "provider_calls"} & tables)
    columns = {c["name"] for c in inspect(engine).get_columns("session_summaries")}
    assert not (SNAPSHOT_COLUMNS - {"enrichment"}) & columns
    assert "enrichment" in columns  # the v15 per-session enrichment stays
    assert schema.upgrade(engine) == schema.HEAD
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    engine.dispose()


def test_raw_events_keep_their_json_through_a_downgrade(empty_db_url: str, tmp_path: Path) -> None:
    """At v16 only escaped lines store a payload; v15 requires one for every event, rebuilt from the line."""
    from cowrieprocessor.ingestion import ingest

    engine = make_engine(empty_db_url)
    schema.upgrade(engine)
    log = tmp_path / "cowrie.json"
    log.write_bytes(
        b'{"eventid":"cowrie.session.connect","session":"aa11bb22cc33","timestamp":"2025-02-25T00:00:00.000001Z",'
        b'"src_ip":"198.51.100.7","src_port":4242,"dst_ip":"10.0.0.1","dst_port":22,"protocol":"ssh"}\n'
        b'{"eventid":"cowrie.command.input","session":"aa11bb22cc33","timestamp":"2025-02-25T00:00:01.000001Z",'
        b'"src_ip":"198.51.100.7","input":"echo \\u0000 x"}\n'
    )
    ingest(engine, [str(log)])
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT payload IS NULL FROM raw_events ORDER BY source_offset")).scalars().all()
    assert stored == [True, False]  # the plain line is its own JSON; the NUL line keeps its escaped copy
    assert schema.downgrade(engine, "v15") == "v15"
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT payload FROM raw_events ORDER BY source_offset")).scalars().all()
    docs = [json.loads(r) if isinstance(r, str) else r for r in rows]
    assert docs[0]["src_port"] == 4242 and docs[0]["session"] == "aa11bb22cc33"
    assert docs[1]["input"] == "echo \u24000 x"  # the escaped form (U+2400 then "0"), as v15 stored it
    assert schema.upgrade(engine) == schema.HEAD
    engine.dispose()


def test_downgrade_rejects_unknown_revision(engine: Engine) -> None:
    try:
        schema.downgrade(engine, "v99")
    except ValueError as exc:
        assert "v99" in str(exc)
    else:
        raise AssertionError("an unknown revision must be refused")
    assert schema.current_revision(engine) == schema.HEAD


def test_foreign_key_columns_have_identical_types(engine: Engine) -> None:
    inspector = inspect(engine)
    checked = 0
    for table in inspector.get_table_names():
        columns = {c["name"]: c for c in inspector.get_columns(table)}
        for fk in inspector.get_foreign_keys(table):
            referred = {c["name"]: c for c in inspector.get_columns(fk["referred_table"])}
            for local, remote in zip(fk["constrained_columns"], fk["referred_columns"], strict=True):
                local_type = str(columns[local]["type"].compile(engine.dialect))
                remote_type = str(referred[remote]["type"].compile(engine.dialect))
                assert local_type == remote_type, f"{table}.{local} {local_type} -> {remote_type}"
                checked += 1
    assert checked >= 8


def _pg_columns(engine: Engine, field: str) -> list[tuple[str, str, str | None]]:
    """(table, column, ``field``) of every column in the public schema, from information_schema."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT table_name, column_name, {field} FROM information_schema.columns WHERE table_schema = 'public'"
            )
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_postgresql_uses_native_types(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        columns = {c["name"]: c for c in inspect(engine).get_columns("ip_inventory")}
        assert columns["ip_address"]["type"].__class__.__name__ in {"VARCHAR", "String"}
        return
    types = {f"{t}.{c}": data_type for t, c, data_type in _pg_columns(engine, "data_type")}
    assert types["ip_inventory.ip_address"] == "inet"
    assert types["session_summaries.source_ip"] == "inet"
    assert types["ip_inventory.enrichment"] == "jsonb"
    assert types["session_summaries.enrichment"] == "jsonb"
    assert types["raw_events.payload"] == "jsonb"
    assert types["session_summaries.first_event_at"] == "timestamp with time zone"
    assert types["session_summaries.snapshot_ip_types"] == "ARRAY"
    assert types["ip_inventory.ip_types"] == "ARRAY"
    assert all(t != "json" for t in types.values()), "JSON columns must be jsonb on PostgreSQL"


def test_column_collations_match_the_models(engine: Engine) -> None:
    """Autogenerate's compare ignores collations: identifiers are byte-ordered ("C") on PostgreSQL by both."""
    if engine.dialect.name != "postgresql":  # SQLite compares bytes already, and knows no collation named "C"
        with engine.connect() as conn:
            ddl = conn.execute(text("SELECT group_concat(sql, ';') FROM sqlite_master")).scalar_one()
        assert "COLLATE" not in ddl.upper() and "event_uid" in ddl
        return
    actual = {(t, c): coll for t, c, coll in _pg_columns(engine, "collation_name") if t in Base.metadata.tables}
    expected = {
        (table.name, column.name): getattr(column.type.dialect_impl(engine.dialect), "collation", None)
        for table in Base.metadata.tables.values()
        for column in table.columns
    }
    assert actual == expected
    assert expected[("raw_events", "event_uid")] == "C" and expected[("auth_attempts", "session_id")] == "C"
