"""Fast bulk loader of three-tier (v16) data at the seed's scale, for ``bench_queries.py --generate``.

Deterministic (seeded). Shapes: ASNs and IPs follow heavy-tailed popularity (a few networks host much of
the traffic); ~5 % of IPs moved ASN once (two history windows, their sessions' snapshots follow); behaviour
keys are heavy-tailed too. Two planted campaigns give the benchmark a known size: ``BENCH_KEY`` (an SSH key,
``campaign_sessions`` sessions over ~300 IPs) and ``BENCH_SIG`` (a command signature). PostgreSQL is loaded
with COPY; SQLite with executemany inside one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import random
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, insert, text

from cowrieprocessor.analysis.sql import ASNS, HISTORY, IPS, SESSIONS
from cowrieprocessor.storage import schema

BENCH_KEY = "SHA256:benchCampaignKey000000000000000000000000000"
BENCH_SIG = "b" * 64
START = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
SPAN_DAYS = 700
TYPES: tuple[list[str], ...] = (["DATACENTER"], ["RESIDENTIAL"], ["VPN", "DATACENTER"], ["MOBILE"], [])
ASN_TYPES = ("hosting", "isp", "cloud", "vpn", "education", None)
COUNTRIES = ("US", "CN", "DE", "NL", "RU", "BR", "IN", "SG", "FR", "GB", "KR", "VN", "ID", "HK", "JP")

ASN_COLS = [
    "asn_number", "organization_name", "organization_country", "asn_type", "is_known_hosting",
    "is_known_vpn", "first_seen", "last_seen", "unique_ip_count", "total_session_count", "enrichment_updated_at",
]  # fmt: skip
IP_COLS = [
    "ip_address", "current_asn", "enrichment", "provenance", "enrichment_updated_at", "first_seen",
    "last_seen", "session_count",
]  # fmt: skip
HIST_COLS = ["ip_address", "asn_number", "valid_from", "valid_until", "observed_by"]
SESSION_COLS = [
    "session_id", "sensor", "source_ip", "first_event_at", "last_event_at", "login_username",
    "password_hash", "ssh_key_fingerprint", "command_signature", "command_count", "snapshot_asn",
    "snapshot_country", "snapshot_ip_types", "snapshot_source", "enrichment_at",
]  # fmt: skip


def _zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return list(itertools.accumulate(1.0 / (k**s) for k in range(1, n + 1)))


class Universe:
    """Every row, generated in memory once (sessions are streamed)."""

    def __init__(self, sessions: int, ips: int, asns: int, campaign_sessions: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.n_sessions, self.n_ips, self.n_asns = sessions, ips, asns
        self.campaign_sessions = campaign_sessions
        self.asns = [64512 + i for i in range(asns)]
        weights = _zipf_weights(asns, 1.05)
        self.ip_asn = self.rng.choices(self.asns, cum_weights=weights, k=ips)
        self.ip_addr = [self._address(i) for i in range(ips)]
        self.ip_country = [COUNTRIES[a % len(COUNTRIES)] for a in self.ip_asn]
        self.ip_types = [TYPES[self.rng.randrange(len(TYPES))] for _ in range(ips)]
        # ~5 % of IPs moved: before the move they were on another ASN.
        self.moved_at: dict[int, tuple[int, dt.datetime]] = {}
        for i in self.rng.sample(range(ips), ips // 20):
            day = self.rng.randrange(30, SPAN_DAYS - 30)
            self.moved_at[i] = (self.rng.choice(self.asns), START + dt.timedelta(days=day))
        self.ip_weights = _zipf_weights(ips, 0.6)

    @staticmethod
    def _address(i: int) -> str:
        if i % 50 == 0:
            return f"2001:db8:{i >> 16:x}:{i & 0xFFFF:x}::1"
        n = 0x0B000000 + i * 7  # 11.0.0.0 upwards, spread
        return f"{n >> 24 & 255}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"

    def snapshot(self, ip: int, when: dt.datetime) -> tuple[int, str]:
        moved = self.moved_at.get(ip)
        if moved and when < moved[1]:
            return moved[0], COUNTRIES[moved[0] % len(COUNTRIES)]
        return self.ip_asn[ip], self.ip_country[ip]

    def sessions(self) -> Iterator[tuple[Any, ...]]:
        rng = self.rng
        passwords = [hashlib.sha256(f"pw{i}".encode()).hexdigest() for i in range(50_000)]
        pw_weights = _zipf_weights(len(passwords), 1.2)
        keys = [f"SHA256:k{i:042d}" for i in range(20_000)]
        key_weights = _zipf_weights(len(keys), 1.3)
        sigs = [hashlib.sha256(f"sig{i}".encode()).hexdigest() for i in range(10_000)]
        sig_weights = _zipf_weights(len(sigs), 1.3)
        campaign_ips = rng.sample(range(self.n_ips), 300)
        sig_ips = rng.sample(range(self.n_ips), 150)
        batch = 100_000
        for start in range(0, self.n_sessions, batch):
            count = min(batch, self.n_sessions - start)
            ips = rng.choices(range(self.n_ips), cum_weights=self.ip_weights, k=count)
            for offset, ip in enumerate(ips):
                n = start + offset
                key = rng.choices(keys, cum_weights=key_weights)[0] if rng.random() < 0.3 else None
                sig = rng.choices(sigs, cum_weights=sig_weights)[0] if rng.random() < 0.4 else None
                if n < self.campaign_sessions:
                    ip, key = rng.choice(campaign_ips), BENCH_KEY
                elif n < self.campaign_sessions + 800:
                    ip, sig = rng.choice(sig_ips), BENCH_SIG
                when = START + dt.timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
                asn, country = self.snapshot(ip, when)
                yield (
                    f"s{n:011x}",
                    f"sensor-{n % 7}",
                    self.ip_addr[ip],
                    when,
                    when + dt.timedelta(seconds=rng.randrange(1, 600)),
                    "root",
                    rng.choices(passwords, cum_weights=pw_weights)[0] if rng.random() < 0.9 else None,
                    key,
                    sig,
                    0 if sig is None else rng.randrange(1, 30),
                    asn,
                    country,
                    self.ip_types[ip],
                    "cymru",
                    when,
                )

    def ip_rows(self, seen: dict[int, list[Any]]) -> Iterator[tuple[Any, ...]]:
        for i, address in enumerate(self.ip_addr):
            first, last, count = seen.get(i, (START, START, 0))
            fetched = START + dt.timedelta(days=SPAN_DAYS)
            enrichment = {
                "validation": {"is_bogon": False, "reason": None, "network": None},
                "cymru": {"asn": self.ip_asn[i], "country": self.ip_country[i], "prefix": f"{address}/32"},
                "maxmind": {"country": self.ip_country[i], "asn": self.ip_asn[i]},
                "spur": {"client": {"types": self.ip_types[i]}},
                "greynoise": {"noise": i % 3 == 0},
            }
            provenance = {
                src: {
                    "status": "ok",
                    "fetched_at": fetched.isoformat(),
                    "version": "1",
                    "expires_at": (fetched + dt.timedelta(days=ttl + i % 60)).isoformat(),
                }
                for src, ttl in (("cymru", 30), ("maxmind", 60), ("spur", 7), ("greynoise", 14))
            }
            updated = None if i % 97 == 0 else fetched
            yield (address, self.ip_asn[i], json.dumps(enrichment), json.dumps(provenance), updated,
                   first, last, count)  # fmt: skip

    def history_rows(self) -> Iterator[tuple[Any, ...]]:
        for i, address in enumerate(self.ip_addr):
            moved = self.moved_at.get(i)
            if moved:
                old_asn, when = moved
                yield (address, old_asn, START - dt.timedelta(days=30), when, "cymru")
                yield (address, self.ip_asn[i], when, None, "cymru")
            elif i % 10 == 0:
                yield (address, self.ip_asn[i], START - dt.timedelta(days=30), None, "cymru")

    def asn_rows(self, stats: dict[int, list[Any]]) -> Iterator[tuple[Any, ...]]:
        for n, asn in enumerate(self.asns):
            first, last, ips, count = stats.get(asn, (START, START, 0, 0))
            kind = ASN_TYPES[n % len(ASN_TYPES)]
            yield (asn, f"Org {asn} Networks", COUNTRIES[asn % len(COUNTRIES)], kind, kind in ("hosting", "cloud"),
                   kind == "vpn", first, last, ips, count, None if n % 11 == 0 else START)  # fmt: skip


def load(engine: Engine, *, sessions: int, ips: int, asns: int, campaign_sessions: int) -> dict[str, float]:
    """Create the schema if needed and fill the three tiers. Returns seconds per phase."""
    if schema.current_revision(engine) is None:
        schema.upgrade(engine)
    universe = Universe(sessions, ips, asns, campaign_sessions)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    # Ingestion appends sessions in time order: the heap follows first_event_at, as on a real sensor.
    session_rows = sorted(universe.sessions(), key=lambda row: row[3])
    timings["generate"] = time.perf_counter() - t
    index = {a: i for i, a in enumerate(universe.ip_addr)}
    seen: dict[int, list[Any]] = {}
    asn_stats: dict[int, list[Any]] = {}
    asn_ips: dict[int, set[int]] = {}
    for row in session_rows:
        i = index[row[2]]
        s = seen.setdefault(i, [row[3], row[4], 0])
        s[0], s[1], s[2] = min(s[0], row[3]), max(s[1], row[4]), s[2] + 1
        a = asn_stats.setdefault(row[10], [row[3], row[4], 0, 0])
        a[0], a[1], a[3] = min(a[0], row[3]), max(a[1], row[4]), a[3] + 1
        asn_ips.setdefault(row[10], set()).add(i)
    for asn, a in asn_stats.items():
        a[2] = len(asn_ips[asn])
    tables = [
        ("asn_inventory", ASN_COLS, universe.asn_rows(asn_stats)),
        ("ip_inventory", IP_COLS, universe.ip_rows(seen)),
        ("ip_asn_history", HIST_COLS, universe.history_rows()),
        ("session_summaries", SESSION_COLS, iter(session_rows)),
    ]
    for name, cols, rows in tables:
        t = time.perf_counter()
        if engine.dialect.name == "postgresql":
            _copy(engine, name, cols, rows)
        else:
            _insert(engine, name, cols, rows)
        timings[name] = time.perf_counter() - t
    t = time.perf_counter()
    # VACUUM sets PostgreSQL's visibility map, as autovacuum would on a live database: without it the
    # "index-only" scans still visit the heap for every row of a freshly loaded table.
    statement = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(statement))
    timings["analyze"] = time.perf_counter() - t
    return timings


def _copy(engine: Engine, table: str, cols: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


_TABLES = {"asn_inventory": ASNS, "ip_inventory": IPS, "ip_asn_history": HISTORY, "session_summaries": SESSIONS}


def _insert(engine: Engine, table: str, cols: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
    json_cols = {"enrichment", "provenance"}
    with engine.begin() as conn:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            record = dict(zip(cols, row, strict=True))
            for col in json_cols & record.keys():
                record[col] = json.loads(record[col])
            chunk.append(record)
            if len(chunk) == 50_000:
                conn.execute(insert(_TABLES[table]), chunk)
                chunk = []
        if chunk:
            conn.execute(insert(_TABLES[table]), chunk)
