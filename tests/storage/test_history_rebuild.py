"""v15 -> v16 on a database where IPs change ASN (back and forth too): the rebuilt IP->ASN history holds a
window per change in time order and ``query movements`` lists exactly the moves in the v15 data; the
migrated ASNs carry the type the enrichment pass's rule gives them; the database is vacuumed and analysed.
Both backends."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text

from cowrieprocessor import analysis
from cowrieprocessor.storage import asn_types, backfill, maintenance, schema
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import ASNInventory, IPASNHistory, IPInventory, SessionSummary
from cowrieprocessor.tiers.classify import classify_asn

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
ORGS = {64500: "DigitalOcean, LLC", 64501: "Example Broadband Telecom", 64502: "AS-ORG-64502", 64503: None}
Observation = tuple[dt.datetime, int]


def _document(rng: random.Random, ip: str, asn: int) -> dict[str, Any]:
    """The ASN in one of the legacy shapes; SPUR's DATACENTER on some IPs of 64502 only."""
    org = ORGS[asn]
    shape = rng.choice(["cymru", "dshield", "spur"] if asn == 64502 else ["cymru", "dshield"])
    if shape == "cymru":
        return {"cymru": {"asn": asn, "country": "NL", **({"as_name": org} if org else {})}}
    if shape == "dshield":
        return {"dshield": {"ip": {"number": ip, "as": str(asn), "asname": org or "", "ascountry": "DE"}}}
    return {"spur": {"ip": ip, "as": {"number": asn}, "infrastructure": "DATACENTER"}}


def _world(seed: int = 21) -> tuple[list[dict[str, Any]], dict[str, list[Observation]]]:
    """Sessions of 40 IPs over 60 days: most stay in one ASN, some move once, some move back and forth;
    some sessions carry no enrichment or only empty placeholders (no observation of the ASN)."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    observed: dict[str, list[Observation]] = defaultdict(list)
    for n in range(40):
        ip = f"198.51.100.{n + 1}" if n % 5 else f"2001:db8::{n + 1:x}"
        asn = rng.choice(list(ORGS))
        moves = rng.choice([0, 0, 1, 2, 4])  # 2 and 4 go back and forth between two ASNs
        previous = asn
        times = sorted(rng.sample(range(60 * 24), rng.randint(3 + moves, 12)))
        change_at = sorted(rng.sample(times[1:], moves)) if moves else []
        other = rng.choice([a for a in ORGS if a != asn])
        for k, minute in enumerate(times):
            if minute in change_at:
                previous = other if previous == asn else asn
            at = T0 + dt.timedelta(minutes=minute * 60)
            kind = rng.random()
            enrichment: Any
            if kind < 0.1 and minute not in change_at:
                enrichment = None
            elif kind < 0.2 and minute not in change_at:
                enrichment = {"dshield": {"ip": {"asname": "", "ascountry": ""}}, "spur": [""] * 18}
            else:
                enrichment = _document(rng, ip, previous)
                observed[ip].append((at, previous))
            rows.append(
                {
                    "session_id": f"s{n:02d}-{k:02d}",
                    "source_ip": ip,
                    "first_event_at": at,
                    "last_event_at": at + dt.timedelta(minutes=3),
                    "enrichment": enrichment,
                    "created_at": at + dt.timedelta(minutes=5),
                }
            )
    rng.shuffle(rows)  # insertion order must not matter, only time
    return rows, observed


def _windows(observed: list[Observation]) -> list[tuple[int, dt.datetime, dt.datetime | None]]:
    """The expected windows: one per run of equal ASNs in time order, each ending where the next begins."""
    starts: list[Observation] = []
    for at, asn in sorted(observed):
        if not starts or starts[-1][1] != asn:
            starts.append((at, asn))
    ends = [at for at, _ in starts[1:]] + [None]
    return [(asn, at, end) for (at, asn), end in zip(starts, ends, strict=True)]


@pytest.fixture
def moved(empty_db_url: str) -> Iterator[tuple[Engine, dict[str, list[Observation]]]]:
    engine = make_engine(empty_db_url)
    schema.upgrade(engine, "v15")
    rows, observed = _world()
    with engine.begin() as conn:
        conn.execute(insert(SessionSummary.__table__), rows)
    yield engine, observed
    engine.dispose()


def test_movements_after_the_upgrade_equal_the_moves_in_the_v15_data(
    moved: tuple[Engine, dict[str, list[Observation]]],
) -> None:
    engine, observed = moved
    expected = {ip: _windows(obs) for ip, obs in observed.items()}
    moves = {ip: len(w) - 1 for ip, w in expected.items() if len(w) > 1}
    back_and_forth = [ip for ip, w in expected.items() if len({a for a, _, _ in w}) < len(w)]
    assert len(moves) >= 10 and back_and_forth  # the data really exercises both cases

    assert schema.upgrade(engine) == schema.HEAD

    with engine.connect() as conn:
        history = conn.execute(select(IPASNHistory).order_by(IPASNHistory.valid_from)).all()
        current = dict(conn.execute(select(IPInventory.ip_address, IPInventory.current_asn)).tuples().all())
    rebuilt: dict[str, list[tuple[int, dt.datetime, dt.datetime | None]]] = defaultdict(list)
    for h in history:
        rebuilt[h.ip_address].append((h.asn_number, h.valid_from, h.valid_until))
        assert h.observed_by == "v15 session enrichment"
    assert dict(rebuilt) == expected
    assert {ip: w[-1][0] for ip, w in expected.items()} == {ip: a for ip, a in current.items() if a is not None}

    listed: dict[str, list[tuple[int, dt.datetime, dt.datetime | None]]] = defaultdict(list)
    for row in analysis.movements(engine, limit=1000):
        listed[row.ip].append((row.asn, row.valid_from, row.valid_until))
    assert {ip: len(w) - 1 for ip, w in listed.items()} == moves
    assert dict(listed) == {ip: expected[ip] for ip in moves}


def test_migrated_asns_are_typed_by_the_enrichment_rule(
    moved: tuple[Engine, dict[str, list[Observation]]],
) -> None:
    engine, _ = moved
    assert schema.upgrade(engine) == schema.HEAD
    with engine.connect() as conn:
        rows = {a.asn_number: a for a in conn.execute(select(ASNInventory)).all()}
        assert asn_types.unclassified(conn) == (0, 0)
    assert set(rows) == set(ORGS)
    # 64502's IPs include SPUR DATACENTER answers; the others have none
    for asn, row in rows.items():
        rule = classify_asn(row.organization_name, datacenter=asn == 64502, vpn=False, usage_type=None)
        assert (row.asn_type, row.is_known_hosting, row.is_known_vpn) == (
            rule.asn_type,
            rule.is_known_hosting,
            rule.is_known_vpn,
        ), asn
    assert None not in {r.asn_type for r in analysis.asn_types(engine)}


def test_the_upgrade_leaves_statistics_and_a_vacuumed_heap(moved: tuple[Engine, dict[str, list[Observation]]]) -> None:
    engine, _ = moved
    seen: list[backfill.Progress] = []
    with backfill.reporting(seen.append):
        change = schema.migrate(engine, "head")
    statements = [s.statement for s in change.maintenance]
    assert any(p.phase == "vacuum and analyze" and p.finished for p in seen)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            assert "VACUUM (ANALYZE) session_summaries" in statements
            assert "VACUUM (ANALYZE) ip_asn_history" in statements
            # index-only scans need the visibility map; the planner needs the new columns' statistics
            visible = conn.execute(
                text("SELECT relpages, relallvisible FROM pg_class WHERE relname = 'session_summaries'")
            ).one()
            assert visible.relpages > 0 and visible.relallvisible == visible.relpages
            stats = conn.execute(
                text("SELECT COUNT(*) FROM pg_stats WHERE tablename = 'session_summaries' AND attname = 'snapshot_asn'")
            ).scalar_one()
            assert stats == 1
        else:
            assert statements == ["ANALYZE"]
            analysed = set(conn.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1")).scalars())
            assert {"session_summaries", "ip_inventory", "ip_asn_history"} <= analysed
    # a downgrade rewrites raw events' payloads: it is followed by the same care
    back = schema.migrate(engine, "v15", down=True)
    assert back.after == "v15" and back.maintenance


def test_a_failed_vacuum_says_the_schema_change_is_committed(db_url: str, backend: str) -> None:
    """The maintenance runs after the commit: when it fails, the error says so and names what to run."""
    holder = make_engine(db_url)
    if backend == "postgresql":
        engine = make_engine(db_url, connect_args={"options": "-c lock_timeout=200"})
        blocker = holder.connect()
        blocker.execute(text("LOCK TABLE ip_asn_history IN ACCESS EXCLUSIVE MODE"))  # held until closed
    else:
        engine = make_engine(db_url.replace("sqlite:///", "sqlite:///file:") + "?mode=ro&uri=true")
        blocker = None
    try:
        with pytest.raises(maintenance.MaintenanceError) as failed:
            maintenance.prepare(engine, ["ip_asn_history"], revision=schema.HEAD)
    finally:
        if blocker is not None:
            blocker.close()
        engine.dispose()
        holder.dispose()
    message = str(failed.value)
    assert f"the schema is at {schema.HEAD} (committed)" in message
    assert ("VACUUM (ANALYZE) ip_asn_history" if backend == "postgresql" else "ANALYZE") in message
