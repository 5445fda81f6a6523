"""The file, URL and payload-host inventories, recomputed from ``file_transfers`` (never incremented).

One read of the transfers with their sessions' IP and sensor, aggregated per SHA-256, per URL and per host,
then one upsert per table: re-runs give the same rows, and a transfer ingested late is counted at the next
``enrich``. A file is keyed by Cowrie's ``shasum`` (64 hex digits: anything else is not a file's hash); a URL
by the SHA-256 of its text; a host by its lower-case name (or canonical address) from the URL.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, select

from cowrieprocessor.enrichment.artifacts.http import url_key
from cowrieprocessor.storage import dialects
from cowrieprocessor.storage.models import FileInventory, FileTransfer, PayloadHost, SessionSummary, URLInventory

#: Most sensors / file names kept per file (the transfers keep every one).
MAX_LISTED = 32
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Seen:
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    events: int = 0
    sessions: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)
    related: set[str] = field(default_factory=set)  # files: URLs; URLs: hashes; hosts: URLs
    sensors: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def add(self, at: dt.datetime, session: str, ip: str | None) -> None:
        self.first = at if self.first is None or at < self.first else self.first
        self.last = at if self.last is None or at > self.last else self.last
        self.events += 1
        self.sessions.add(session)
        if ip:
            self.ips.add(ip)


def file_key(shasum: str | None) -> str | None:
    """The inventory key of a transfer's hash, or None when it is not a SHA-256 (failed downloads have none)."""
    if not shasum:
        return None
    value = shasum.strip().lower()
    return value if _SHA256.fullmatch(value) else None


def host_of(url: str) -> tuple[str, bool] | None:
    """(host, is an address) named by ``url``; None when it names none (or not one a DNS name can be)."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    try:
        return str(ipaddress.ip_address(host)), True
    except ValueError:
        pass
    host = host.rstrip(".")
    if not host or len(host) > 253 or any(c.isspace() or ord(c) < 33 for c in host):
        return None
    return host, False


@dataclass
class Aggregates:
    files: dict[str, Seen] = field(default_factory=dict)
    urls: dict[str, tuple[str, Seen]] = field(default_factory=dict)  # url_sha256 -> (url, seen)
    hosts: dict[str, tuple[bool, Seen]] = field(default_factory=dict)
    transfers: int = 0


def aggregate(rows: Iterable[Sequence[Any]]) -> Aggregates:
    """Rows of (session, time, url, shasum, filename, destfile, source_ip, sensor)."""
    out = Aggregates()
    for session, at, url, shasum, filename, destfile, ip, sensor in rows:
        out.transfers += 1
        sha = file_key(shasum)
        if sha is not None:
            seen = out.files.setdefault(sha, Seen())
            seen.add(at, session, ip)
            if url:
                seen.related.add(url)
            if sensor and len(seen.sensors) < MAX_LISTED:
                seen.sensors.add(sensor)
            name = filename or destfile
            if name and len(seen.names) < MAX_LISTED:
                seen.names.add(name)
        if not url:
            continue
        key = url_key(url)
        _, useen = out.urls.setdefault(key, (url, Seen()))
        useen.add(at, session, ip)
        if sha is not None:
            useen.related.add(sha)
        named = host_of(url)
        if named is not None:
            _, hseen = out.hosts.setdefault(named[0], (named[1], Seen()))
            hseen.add(at, session, ip)
            hseen.related.add(key)
    return out


def read(conn: Connection) -> Aggregates:
    t, s = FileTransfer.__table__.c, SessionSummary.__table__.c
    stmt = (
        select(t.session_id, t.event_time, t.url, t.shasum, t.filename, t.destfile, s.source_ip, s.sensor)
        .join_from(FileTransfer.__table__, SessionSummary.__table__, t.session_id == s.session_id)
        .execution_options(yield_per=5000)
    )
    return aggregate(conn.execute(stmt))


def _counters(seen: Seen, now: dt.datetime) -> dict[str, Any]:
    return {
        "first_seen": seen.first,
        "last_seen": seen.last,
        "download_count": seen.events,
        "session_count": len(seen.sessions),
        "source_ip_count": len(seen.ips),
        "updated_at": now,
    }


def _upsert(conn: Connection, table: Any, key: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = dialects.of(conn).insert(table)
    update = {c: stmt.excluded[c] for c in rows[0] if c != key}
    for start in range(0, len(rows), 1000):
        conn.execute(stmt.on_conflict_do_update(index_elements=[key], set_=update), rows[start : start + 1000])


def write(conn: Connection, agg: Aggregates, now: dt.datetime) -> None:
    files = [
        {
            "sha256": sha,
            **_counters(seen, now),
            "url_count": len(seen.related),
            "sensors": sorted(seen.sensors),
            "file_names": sorted(seen.names),
        }
        for sha, seen in sorted(agg.files.items())
    ]
    urls = [
        {
            "url_sha256": key,
            "url": url,
            "host": named[0] if (named := host_of(url)) else None,
            **_counters(seen, now),
            "file_count": len(seen.related),
        }
        for key, (url, seen) in sorted(agg.urls.items())
    ]
    hosts = [
        {"host": host, "is_address": is_address, **_counters(seen, now), "url_count": len(seen.related)}
        for host, (is_address, seen) in sorted(agg.hosts.items())
    ]
    _upsert(conn, FileInventory.__table__, "sha256", files)
    _upsert(conn, URLInventory.__table__, "url_sha256", urls)
    _upsert(conn, PayloadHost.__table__, "host", hosts)
