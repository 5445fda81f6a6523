"""Build a populated schema-v15 database directly (bulk load, not through logs), for migration benchmarks.

Defaults follow the seed's production figures: 1,680,000 sessions, ~300,000 source IPs, ~15,000 ASNs.
Distributions are Zipf-like (a few ASNs and IPs hold most sessions), the enrichment JSON comes in every
legacy shape (top level, nested under ``session.<ip>``, SPUR as a list, unwrapped DShield, raw MaxMind
records, empty placeholders), ~7% of sessions have none, ~5% of IPs move to another ASN halfway, and SSH
keys, password hashes and command signatures repeat in campaigns.

    python bench/generate_v15.py --url postgresql+psycopg://postgres@127.0.0.1:5432/cp_bench_v15 --recreate
    python bench/generate_v15.py --url sqlite:////tmp/cp_bench_v15.sqlite --recreate --sessions 200000

PostgreSQL is loaded with COPY, SQLite with executemany in one transaction.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import ipaddress
import itertools
import json
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine, normalise_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cp_bench_v15"
START = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
SPAN_S = 2 * 365 * 86400
COUNTRIES = ["US", "CN", "RU", "DE", "NL", "BR", "IN", "VN", "KR", "FR", "GB", "SG", "HK", "ID", "UA", "IR", "TW"]
REGISTRIES = ["arin", "ripencc", "apnic", "lacnic", "afrinic"]
TYPES = [["DESKTOP"], ["MOBILE"], ["DESKTOP", "MOBILE"], ["IOT"], []]
SESSION_COLUMNS = (
    "session_id", "sensor", "protocol", "source_ip", "source_port", "destination_ip", "destination_port",
    "first_event_at", "last_event_at", "duration_ms", "event_count", "client_version", "hassh",
    "login_attempts", "login_failures", "login_success", "login_username", "password_hash", "command_count",
    "command_signature", "file_downloads", "file_uploads", "ssh_key_fingerprint", "enrichment", "created_at",
    "updated_at",
)  # fmt: skip


def zipf_weights(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (k**s) for k in range(1, n + 1)))


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class World:
    """ASNs, IPs and campaigns; every session is drawn from these."""

    def __init__(self, rng: random.Random, n_asns: int, n_ips: int) -> None:
        self.rng = rng
        self.asns = [rng.randint(1000, 400_000) * 10 + k % 10 for k in range(n_asns)]
        self.asn_meta = {a: (f"AS-ORG-{a}", rng.choice(COUNTRIES), rng.choice(REGISTRIES)) for a in self.asns}
        asn_cum = zipf_weights(n_asns, 1.1)
        self.ips: list[str] = []
        seen: set[str] = set()
        while len(self.ips) < n_ips:
            ip = (
                str(ipaddress.IPv6Address(rng.getrandbits(128)))
                if rng.random() < 0.03
                else str(ipaddress.IPv4Address(rng.randint(0x01000000, 0xDF000000)))
            )
            if ip not in seen:
                seen.add(ip)
                self.ips.append(ip)
        self.ip_asn = rng.choices(self.asns, cum_weights=asn_cum, k=n_ips)
        self.ip_moves = {i: rng.choice(self.asns) for i in range(n_ips) if rng.random() < 0.05}
        self.ip_shape = rng.choices(
            ["top", "nested", "spur_list", "canonical", "unwrapped", "placeholder", "none"],
            weights=[35, 20, 15, 12, 5, 6, 7], k=n_ips,
        )  # fmt: skip
        self.ip_cum = zipf_weights(n_ips, 0.8)
        self.passwords = [sha(f"pw{k}") for k in range(3000)]
        self.pw_cum = zipf_weights(len(self.passwords), 1.2)
        self.commands = [sha(f"campaign-{k}") for k in range(400)]
        self.cmd_cum = zipf_weights(len(self.commands), 1.3)
        self.keys = [f"SHA256:{sha(f'key{k}')[:43]}" for k in range(80)]

    def enrichment(self, i: int, asn: int, enriched_at: str | None) -> str | None:
        shape = self.ip_shape[i]
        if shape == "none":
            return None
        ip = self.ips[i]
        org, cc, reg = self.asn_meta[asn]
        dshield = {
            "ip": {
                "number": ip,
                "count": str(self.rng.randint(1, 900)),
                "attacks": "4",
                "as": str(asn),
                "asname": org,
                "ascountry": cc,
                "network": None,
            }
        }
        if shape == "placeholder":
            doc: dict[str, Any] = {"dshield": {"ip": {"asname": "", "ascountry": ""}}, "urlhaus": "", "spur": [""] * 18}
        elif shape == "spur_list":
            doc = {
                "dshield": dshield,
                "urlhaus": "",
                "spur": [
                    f"AS{asn}",
                    org,
                    org,
                    "DATACENTER",
                    "",
                    "",
                    ", ".join(self.rng.choice(TYPES)),
                    "2",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
            }
        elif shape == "canonical":
            doc = {
                "cymru": {"asn": asn, "prefix": f"{ip}/24", "country": cc, "registry": reg, "as_name": org},
                "maxmind": {"country": cc, "asn": asn, "as_org": org, "database": "GeoLite2-City"},
                "greynoise": {"ip": ip, "noise": self.rng.random() < 0.5, "riot": False},
            }
        elif shape == "unwrapped":
            doc = {"dshield": dshield["ip"], "maxmind": {"country": {"iso_code": cc}, "autonomous_system_number": asn}}
        else:
            doc = {
                "dshield": dshield,
                "urlhaus": "mirai, elf" if self.rng.random() < 0.1 else "",
                "spur": {
                    "ip": ip,
                    "as": {"number": asn, "organization": org},
                    "client": {"types": self.rng.choice(TYPES)},
                },
            }
        if shape == "nested":
            doc = {"session": {ip: doc}}
        if enriched_at is not None:
            doc["enriched_at"] = enriched_at
        return json.dumps(doc, separators=(",", ":"))

    def sessions(self, n: int) -> Iterator[tuple[Any, ...]]:
        rng = self.rng
        picks = rng.choices(range(len(self.ips)), cum_weights=self.ip_cum, k=n)
        for k, i in enumerate(picks):
            offset = rng.random()
            first = START + dt.timedelta(seconds=offset * SPAN_S)
            duration = rng.randint(200, 600_000)
            last = first + dt.timedelta(milliseconds=duration)
            asn = self.ip_moves[i] if i in self.ip_moves and offset > 0.5 else self.ip_asn[i]
            enriched_at = (
                (first + dt.timedelta(minutes=rng.randint(1, 600))).isoformat() if rng.random() < 0.7 else None
            )
            logged_in = rng.random() < 0.3
            commands = rng.randint(1, 30) if logged_in and rng.random() < 0.8 else 0
            yield (
                f"{k:08x}{rng.getrandbits(16):04x}",
                f"sensor-{k % 7}",
                "ssh" if rng.random() < 0.9 else "telnet",
                self.ips[i],
                rng.randint(1024, 65535),
                "10.0.0.5",
                22,
                first,
                last,
                duration,
                rng.randint(3, 80),
                "SSH-2.0-Go",
                sha(f"hassh{i % 40}")[:32],
                rng.randint(1, 6),
                rng.randint(0, 5),
                logged_in,
                "root",
                rng.choices(self.passwords, cum_weights=self.pw_cum)[0],
                commands,
                rng.choices(self.commands, cum_weights=self.cmd_cum)[0] if commands else None,
                rng.randint(0, 2) if commands else 0,
                0,
                rng.choice(self.keys) if rng.random() < 0.02 else None,
                self.enrichment(i, asn, enriched_at),
                last + dt.timedelta(minutes=5),
                last + dt.timedelta(minutes=5),
            )


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def load(url: str, world: World, n_sessions: int, batch: int = 50_000) -> None:
    engine = make_engine(url)
    schema.upgrade(engine, "v15")
    rows = world.sessions(n_sessions)
    commands_sample: list[tuple[str, dt.datetime]] = []
    started = time.monotonic()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY session_summaries ({', '.join(SESSION_COLUMNS)}) FROM STDIN") as copy:
                buffer: list[str] = []
                for k, row in enumerate(rows, 1):
                    if row[18] and len(commands_sample) < 200_000:
                        commands_sample.append((row[0], row[7]))
                    buffer.append("\t".join(map(_copy_value, row)))
                    if k % batch == 0:
                        copy.write("\n".join(buffer) + "\n")
                        buffer.clear()
                        _tick(k, n_sessions, started)
                if buffer:
                    copy.write("\n".join(buffer) + "\n")
            with cursor.copy(
                "COPY commands (event_uid, session_id, event_time, sequence, input, known) FROM STDIN"
            ) as copy:
                copy.write(
                    "".join(
                        f"c{k}\t{sid}\t{at.isoformat()}\t0\tcat /proc/cpuinfo\tt\n"
                        for k, (sid, at) in enumerate(commands_sample)
                    )
                )
        else:
            raw = conn.connection.driver_connection  # type: ignore[union-attr]
            placeholders = ", ".join("?" * len(SESSION_COLUMNS))
            statement = f"INSERT INTO session_summaries ({', '.join(SESSION_COLUMNS)}) VALUES ({placeholders})"
            chunk: list[tuple[Any, ...]] = []
            for k, row in enumerate(rows, 1):
                if row[18] and len(commands_sample) < 200_000:
                    commands_sample.append((row[0], row[7]))
                chunk.append(tuple(_sqlite_value(v) for v in row))
                if k % batch == 0:
                    raw.executemany(statement, chunk)
                    chunk.clear()
                    _tick(k, n_sessions, started)
            if chunk:
                raw.executemany(statement, chunk)
            raw.executemany(
                "INSERT INTO commands (event_uid, session_id, event_time, sequence, input, known) "
                "VALUES (?, ?, ?, 0, 'cat /proc/cpuinfo', 1)",
                [(f"c{k}", sid, _sqlite_value(at)) for k, (sid, at) in enumerate(commands_sample)],
            )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    print(f"loaded {n_sessions:,} sessions in {time.monotonic() - started:.0f}s", file=sys.stderr)


def _tick(done: int, total: int, started: float) -> None:
    rate = done / max(time.monotonic() - started, 1e-6)
    print(f"  {done:>9,}/{total:,} sessions  {rate:,.0f}/s", file=sys.stderr)


def recreate(url: str) -> None:
    """Drop and create the target: a PostgreSQL database on the same server, or an SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--sessions", type=int, default=1_680_000)
    parser.add_argument("--ips", type=int, default=300_000)
    parser.add_argument("--asns", type=int, default=15_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--recreate", action="store_true", help="drop and create the database first")
    args = parser.parse_args()
    url = normalise_url(args.url)
    if args.recreate:
        recreate(url)
    world = World(random.Random(args.seed), args.asns, args.ips)
    load(url, world, args.sessions)


if __name__ == "__main__":
    main()
