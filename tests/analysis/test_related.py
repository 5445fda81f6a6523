"""``related`` against a brute-force answer on generated data, and the plans that make it fast at scale.

The statement ranks groups in one pass and details only the top ``limit`` in a second, removing the
campaign's own sessions by subtraction (PostgreSQL) or by rowid (SQLite): a seeded random dataset with keys
shared between campaigns, IPs that run several campaigns and NULL keys checks every way that could go wrong
against a plain Python computation of the definition.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from cowrieprocessor.analysis import CampaignKey, KeyKind, persistent_ips, related
from cowrieprocessor.analysis.inventory import _persistent_statement
from cowrieprocessor.analysis.keys import KEY_COLUMNS, LISTED_KINDS
from cowrieprocessor.analysis.related import _rowid_statement, _subtracting_statement
from cowrieprocessor.analysis.sql import ASNS, AUTH, IPS, SESSIONS
from tests.analysis.conftest import DAY, HUNTER2, K1, T0, B, Dataset, H, attempts_of

ASN_NUMBERS = [64600 + n for n in range(6)]


def _generate(engine: Engine, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    ips = [f"198.18.{n // 250}.{n % 250 + 1}" for n in range(40)]
    pools = {"ssh_key_fingerprint": 5, "password_hash": 4, "command_signature": 3, "credential_list_hash": 3}
    sessions = []
    for n in range(400):
        ip = rng.choice(ips)
        start = T0 + dt.timedelta(minutes=rng.randrange(60 * 24 * 30))
        row: dict[str, Any] = {
            "session_id": f"r{n:04d}",
            "source_ip": ip,
            "first_event_at": start,
            # a few sessions never closed: last_seen falls back to first_event_at
            "last_event_at": None if n % 37 == 0 else start + dt.timedelta(seconds=rng.randrange(1, 900)),
            "snapshot_asn": None if n % 41 == 0 else ASN_NUMBERS[(ips.index(ip) + (n % 3 == 0)) % 6],
        }
        for column, size in pools.items():  # skewed pools, about a third NULL
            row[column] = None if rng.random() < 0.3 else f"{column[:3]}{min(rng.randrange(size), rng.randrange(size))}"
        sessions.append(row)
    with engine.begin() as conn:
        conn.execute(insert(ASNS), [{"asn_number": a, "organization_name": f"Org{a}"} for a in ASN_NUMBERS])
        conn.execute(insert(IPS), [{"ip_address": ip, "enrichment": {}, "provenance": {}} for ip in ips])
        conn.execute(insert(SESSIONS), sessions)
        conn.execute(insert(AUTH), attempts_of(sessions))
    return sessions


def _brute_force(sessions: list[dict[str, Any]], key: CampaignKey, kinds: tuple[KeyKind, ...]) -> list[tuple[Any, ...]]:
    own = KEY_COLUMNS[key.kind]
    campaign = [s for s in sessions if s[own] == key.value]
    asns = {s["snapshot_asn"] for s in campaign} - {None}
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    for s in sessions:
        if s[own] == key.value or s["snapshot_asn"] not in asns:
            continue
        for kind in kinds:
            if s[KEY_COLUMNS[kind]] is not None:
                groups[(kind.value, s[KEY_COLUMNS[kind]], s["snapshot_asn"])].append(s)
    rows = [
        (
            kind,
            value,
            asn,
            f"Org{asn}",
            len(members),
            len({m["source_ip"] for m in members}),
            min(m["first_event_at"] for m in members),
            max(m["last_event_at"] or m["first_event_at"] for m in members),
        )
        for (kind, value, asn), members in groups.items()
    ]
    return sorted(rows, key=lambda r: (-r[4], r[0], r[1], r[2]))


@pytest.mark.parametrize("kind", LISTED_KINDS)
def test_related_equals_the_definition_on_random_data(engine: Engine, kind: KeyKind) -> None:
    sessions = _generate(engine)
    column = KEY_COLUMNS[kind]
    values = sorted({s[column] for s in sessions if s[column] is not None})
    checked = 0
    for value in values[:3]:
        key = CampaignKey(kind, value)
        for kinds in (LISTED_KINDS, (kind,), tuple(k for k in LISTED_KINDS if k is not kind)):
            expected = _brute_force(sessions, key, kinds)
            for limit in (1, 7, 1000):
                got = [tuple(vars(r).values()) for r in related(engine, key, kinds=kinds, limit=limit)]
                assert got == expected[:limit], (key, kinds, limit)
                checked += len(got)
    assert checked > 100  # the comparison is not vacuous


def test_shared_key_shows_only_the_other_sessions(dataset: Dataset) -> None:
    # hunter2 on AS64501: the campaign's b1, b2 (days 1.5, 2.5) and H's h1 (day 9). Only h1 counts,
    # and first/last seen are h1's, not the campaign's earlier sessions.
    rows = related(dataset.engine, CampaignKey.ssh_key(K1), kinds=(KeyKind.password,))
    row = next(r for r in rows if r.key == HUNTER2 and r.asn == 64501)
    assert (row.sessions, row.ips, row.first_seen) == (1, 1, T0 + 9 * DAY)
    # B also ran a session without the campaign's key: B then counts among hunter2's IPs on AS64501.
    with dataset.engine.begin() as conn:
        conn.execute(
            insert(SESSIONS),
            [{"session_id": "b9", "source_ip": B, "first_event_at": T0 + 2 * DAY, "password_hash": HUNTER2,
              "snapshot_asn": 64501}],
        )  # fmt: skip
    rows = related(dataset.engine, CampaignKey.ssh_key(K1), kinds=(KeyKind.password,))
    row = next(r for r in rows if r.key == HUNTER2 and r.asn == 64501)
    assert (row.sessions, row.ips, row.first_seen, row.last_seen) == (
        2,
        2,
        T0 + 2 * DAY,
        T0 + 9 * DAY + 5 * dt.timedelta(minutes=1),
    )
    assert H  # the other IP of the group


def _plan(engine: Engine, stmt: Any, values: dict[str, Any]) -> str:
    """The plan of a statement with these parameter values (EXPLAIN / EXPLAIN QUERY PLAN)."""
    compiled = stmt.compile(dialect=engine.dialect)
    params = {**compiled.params, **values}
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # Tiny tables: forbid the other access paths so the plan shows whether the index *can* serve.
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
            lines = conn.exec_driver_sql("EXPLAIN " + str(compiled), params).scalars().all()
        else:
            positional = tuple(params[name] for name in compiled.positiontup or ())
            lines = [r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), positional)]
    return "\n".join(str(line) for line in lines)


def test_related_reads_the_covering_indexes(dataset: Dataset) -> None:
    engine = dataset.engine
    pg = engine.dialect.name == "postgresql"
    stmt = (_subtracting_statement if pg else _rowid_statement)(KeyKind.ssh_key, LISTED_KINDS)
    plan = _plan(engine, stmt, {"key": K1, "limit": 100})
    for kind in LISTED_KINDS:
        index = f"ix_session_summaries_asn_{kind.value}"
        assert (f"Index Only Scan using {index}" if pg else f"COVERING INDEX {index}") in plan, plan


def test_persistent_ips_uses_the_active_span_index(dataset: Dataset) -> None:
    engine = dataset.engine
    values = {"min_span": dt.timedelta(days=30), "min_days": 30.0, "limit": 10}
    plan = _plan(engine, _persistent_statement(engine.dialect.name), values)
    assert "ix_ip_inventory_active_span" in plan, plan
    assert [r.ip for r in persistent_ips(engine, min_days=30)]  # and the answer is still there
