"""Malware and the infrastructure that serves it (#19): files with their verdicts, one file in full, payload
hosts then and now, and novelty - a file first seen here before VirusTotal's first submission, or unknown
to every source that was asked.

Read-only; the inventories are written by ``enrich`` (:mod:`cowrieprocessor.enrichment.artifacts`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, and_, bindparam, func, select

from cowrieprocessor.analysis.sql import (
    ASNS,
    FILE_INVENTORY,
    IPS,
    PAYLOAD_ADDRESSES,
    PAYLOAD_HOSTS,
    RAW,
    SESSIONS,
    TRANSFERS,
    URL_INVENTORY,
    dialect_of,
    fetch,
    per_dialect,
)

FILE_SOURCES = ("virustotal", "malwarebazaar")


@dataclass(frozen=True)
class FileRow:
    sha256: str
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    sessions: int
    ips: int
    asns: int
    downloads: int
    file_type: str | None
    detections: str | None  # VirusTotal malicious / engines, e.g. "41/66"
    label: str | None  # VirusTotal's suggested threat label, else MalwareBazaar's signature
    vt_first_submission: dt.datetime | None
    status: str  # known, unknown (every source asked said so), unasked
    novel: bool


@dataclass(frozen=True)
class FileDetail:
    file: FileRow
    size_bytes: int | None
    sensors: list[str]
    file_names: list[str]
    urls: list[str]
    source_ips: list[dict[str, Any]]
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {status, fetched_at, ..., data}


@dataclass(frozen=True)
class PayloadHostRow:
    host: str
    ip: str | None
    asn_then: int | None
    asn_now: int | None
    organization_now: str | None
    country_now: str | None
    first_resolved: dt.datetime | None
    last_resolved: dt.datetime | None
    files: int
    sessions: int
    urlhaus: str | None  # URLhaus's answer for the host: "listed (N URLs)", "not listed", None = not asked


def _epoch(value: Any) -> dt.datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 1 << 40:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return None


def _status(provenance: dict[str, Any]) -> str:
    asked = [provenance.get(s, {}).get("status") for s in FILE_SOURCES if isinstance(provenance.get(s), dict)]
    answered = [s for s in asked if s in ("found", "not_found")]
    if "found" in answered:
        return "known"
    return "unknown" if answered else "unasked"


def _file_row(row: Any, asns: int) -> FileRow:
    enrichment, provenance = row.enrichment or {}, row.provenance or {}
    vt = enrichment.get("virustotal") or {}
    stats = vt.get("last_analysis_stats") or {}
    detections = None
    if stats:
        total = sum(v for k, v in stats.items() if isinstance(v, int) and k not in ("type-unsupported", "failure"))
        detections = f"{stats.get('malicious', 0)}/{total}"
    label = (vt.get("popular_threat_classification") or {}).get("suggested_threat_label") or (
        enrichment.get("malwarebazaar") or {}
    ).get("signature")
    submitted = _epoch(vt.get("first_submission_date"))
    status = _status(provenance)
    first = row.first_seen
    novel = status == "unknown" or (submitted is not None and first is not None and first < submitted)
    return FileRow(
        sha256=row.sha256, first_seen=first, last_seen=row.last_seen, sessions=row.session_count,
        ips=row.source_ip_count, asns=asns, downloads=row.download_count, file_type=row.file_type,
        detections=detections, label=label, vt_first_submission=submitted, status=status, novel=novel,
    )  # fmt: skip


def _asn_counts(engine: Engine, hashes: list[str]) -> dict[str, int]:
    """Distinct attack-time ASNs of the sessions that transferred each file."""
    if not hashes:
        return {}
    t, s = TRANSFERS.c, SESSIONS.c
    stmt = (
        select(t.shasum, func.count(func.distinct(s.snapshot_asn)))
        .join_from(TRANSFERS, SESSIONS, t.session_id == s.session_id)
        .where(t.shasum.in_(hashes))
        .group_by(t.shasum)
    )
    with engine.connect() as conn:
        return {sha: int(n) for sha, n in conn.execute(stmt)}


def files(engine: Engine, *, novel: bool = False, limit: int = 50) -> list[FileRow]:
    """The most-seen files first (sessions, then downloads); ``novel`` keeps only the novel ones."""
    f = FILE_INVENTORY.c
    stmt = select(FILE_INVENTORY).order_by(f.session_count.desc(), f.download_count.desc(), f.sha256)
    if not novel:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        rows = list(conn.execute(stmt))
    if novel:  # judged from the documents (VirusTotal's date is inside them): few files, read once
        rows = [r for r in rows if _file_row(r, 0).novel][:limit]
    asns = _asn_counts(engine, [r.sha256 for r in rows])
    return [_file_row(r, asns.get(r.sha256, 0)) for r in rows]


def file_detail(engine: Engine, sha256: str, *, ip_limit: int = 20) -> FileDetail | None:
    sha = sha256.strip().lower()
    f, t, s = FILE_INVENTORY.c, TRANSFERS.c, SESSIONS.c
    with engine.connect() as conn:
        row = conn.execute(select(FILE_INVENTORY).where(f.sha256 == sha)).first()
        if row is None:
            return None
        urls = list(
            conn.execute(
                select(t.url).where(t.shasum == sha, t.url.is_not(None)).group_by(t.url).order_by(t.url)
            ).scalars()
        )
        ips = conn.execute(
            select(
                s.source_ip,
                s.snapshot_asn,
                s.snapshot_country,
                func.count(func.distinct(s.session_id)).label("sessions"),
                func.min(t.event_time).label("first"),
            )
            .join_from(TRANSFERS, SESSIONS, t.session_id == s.session_id)
            .where(t.shasum == sha)
            .group_by(s.source_ip, s.snapshot_asn, s.snapshot_country)
            .order_by(func.count(func.distinct(s.session_id)).desc(), s.source_ip)
            .limit(ip_limit)
        )
        source_ips = [
            {"ip": ip, "asn": asn, "country": country, "sessions": n, "first_seen": first}
            for ip, asn, country, n, first in ips
        ]
    asns = _asn_counts(engine, [sha])
    enrichment, provenance = row.enrichment or {}, row.provenance or {}
    sources = {
        name: {**entry, "data": enrichment.get(name)}
        for name, entry in sorted(provenance.items())
        if isinstance(entry, dict)
    }
    return FileDetail(
        file=_file_row(row, asns.get(sha, 0)),
        size_bytes=row.size_bytes,
        sensors=list(row.sensors or []),
        file_names=list(row.file_names or []),
        urls=urls,
        source_ips=source_ips,
        sources=sources,
    )


def _urlhaus(enrichment: dict[str, Any], provenance: dict[str, Any]) -> str | None:
    entry = provenance.get("urlhaus_host")
    if not isinstance(entry, dict):
        return None
    if entry.get("status") == "found":
        count = (enrichment.get("urlhaus_host") or {}).get("url_count")
        return f"listed ({count} URLs)" if count is not None else "listed"
    return "not listed" if entry.get("status") == "not_found" else "error"


def payload_hosts(
    engine: Engine, *, sha256: str | None = None, hosts: Sequence[str] | None = None, limit: int = 100
) -> list[PayloadHostRow]:
    """Each payload host with each address it resolved to: ASN when resolved ("then") and now, most used first.
    ``sha256``: only the hosts of URLs that served this file (the networks serving one campaign's malware);
    ``hosts``: only these hosts (a report's period)."""
    h, a = PAYLOAD_HOSTS.c, PAYLOAD_ADDRESSES.c
    ip, asn = IPS.c, ASNS.c
    u, t = URL_INVENTORY.c, TRANSFERS.c
    stmt = (
        select(
            h.host, h.session_count, h.enrichment, h.provenance, a.ip_address, a.asn_at_resolution,
            a.first_resolved_at, a.last_resolved_at, ip.current_asn, ip.geo_country, asn.organization_name,
        )
        .select_from(PAYLOAD_HOSTS)
        .outerjoin(PAYLOAD_ADDRESSES, a.host == h.host)
        .outerjoin(IPS, ip.ip_address == a.ip_address)
        .outerjoin(ASNS, asn.asn_number == ip.current_asn)
        .order_by(h.session_count.desc(), h.host, a.first_resolved_at, a.ip_address)
        .limit(limit)
    )  # fmt: skip
    if sha256 is not None:
        served = select(u.host).join(URL_INVENTORY, u.url == t.url).where(t.shasum == sha256.strip().lower())
        stmt = stmt.where(h.host.in_(served))
    if hosts is not None:
        stmt = stmt.where(h.host.in_(sorted(set(hosts))))
    files_per_host: dict[str, set[str]] = defaultdict(set)
    with engine.connect() as conn:
        rows = list(conn.execute(stmt))
        hosts = sorted({r.host for r in rows})
        if hosts:
            for host, sha in conn.execute(
                select(u.host, t.shasum)
                .join_from(URL_INVENTORY, TRANSFERS, and_(t.url == u.url, t.shasum.is_not(None)))
                .where(u.host.in_(hosts))
                .distinct()
            ):
                files_per_host[host].add(sha)
    return [
        PayloadHostRow(
            host=r.host, ip=r.ip_address, asn_then=r.asn_at_resolution, asn_now=r.current_asn,
            organization_now=r.organization_name, country_now=r.geo_country, first_resolved=r.first_resolved_at,
            last_resolved=r.last_resolved_at, files=len(files_per_host.get(r.host, ())), sessions=r.session_count,
            urlhaus=_urlhaus(r.enrichment or {}, r.provenance or {}),
        )
        for r in rows
    ]  # fmt: skip


def verdict_text(row: FileRow, *, novel: bool = True) -> str:
    """One short line for a report cell: detections, label, and whether unknown or (``novel``) novel."""
    parts = [p for p in (f"VT {row.detections}" if row.detections else None, row.label) if p]
    if row.status == "unknown":
        parts.append("unknown to every source")
    if novel and row.novel:
        parts.append("novel")
    return " · ".join(parts)


def _inventory_rows(engine: Engine, hashes: Sequence[str]) -> list[Any]:
    wanted = sorted({h for h in hashes if h})
    if not wanted:
        return []
    f = FILE_INVENTORY.c
    with engine.connect() as conn:
        return list(conn.execute(select(FILE_INVENTORY).where(f.sha256.in_(wanted))))


def file_rows(engine: Engine, hashes: Sequence[str]) -> dict[str, FileRow]:
    """The inventory's row of each of these files (without the ASN count): verdict, status, novelty."""
    return {r.sha256: _file_row(r, 0) for r in _inventory_rows(engine, hashes)}


def verdict_lines(engine: Engine, hashes: list[str]) -> dict[str, str]:
    """A verdict line for each of these files that anything judged (digests): the inventory's (detections,
    label, unknown, novel) where ``enrich`` asked a source, else the verdict (``bad``/``clean``) of Cowrie's own
    VirusTotal scan or another ``VERDICT_SOURCES`` entry."""
    lines = {sha: text for sha, row in file_rows(engine, hashes).items() if (text := verdict_text(row))}
    for sha, verdict in verdicts(engine, [h for h in hashes if h not in lines]).items():
        lines[sha] = verdict
    return lines


#: A verdict on a file: ``bad`` (some engine flags it), ``clean`` (known, not flagged).
Verdict = str
#: Where verdicts on download hashes come from besides Cowrie's own VirusTotal events. Each takes the engine
#: and hashes and returns the verdicts it holds; a hash is ``bad`` when any source says so, else ``clean``
#: when one knows it. The file inventory (what ``enrich`` asked VirusTotal and MalwareBazaar) is one.
VERDICT_SOURCES: list[Callable[[Engine, list[str]], dict[str, Verdict]]] = []


def verdicts(engine: Engine, hashes: list[str]) -> dict[str, Verdict]:
    """What the stored data says of each hash (hashes nothing knows are absent; any ``bad`` wins): Cowrie's
    own VirusTotal events, then each of ``VERDICT_SOURCES`` (the alert rules, the digest)."""
    if not hashes:
        return {}
    known: dict[str, Verdict] = {}
    for source in (cowrie_virustotal, *VERDICT_SOURCES):
        for sha, verdict in source(engine, hashes).items():
            if known.get(sha) != "bad":
                known[sha] = verdict
    return known


@per_dialect
def _virustotal_statement(dialect: str) -> Any:
    r, f = RAW.c, TRANSFERS.c
    sessions = select(f.session_id).where(f.shasum.in_(bindparam("hashes", expanding=True)))
    return select(r.payload).where(r.session_id.in_(sessions), r.eventid == "cowrie.virustotal.scanfile")


def cowrie_virustotal(engine: Engine, hashes: list[str]) -> dict[str, Verdict]:
    """Verdicts Cowrie's VirusTotal output plugin logged (``cowrie.virustotal.scanfile``: positives of total)."""
    found: dict[str, Verdict] = {}
    wanted = set(hashes)
    for row in fetch(engine, _virustotal_statement(dialect_of(engine)), {"hashes": hashes}):
        payload = row["payload"] if isinstance(row["payload"], dict) else {}
        sha, positives, total = payload.get("sha256"), payload.get("positives"), payload.get("total")
        if sha not in wanted or not isinstance(positives, int) or not isinstance(total, int) or total <= 0:
            continue
        found[str(sha)] = "bad" if positives > 0 or found.get(str(sha)) == "bad" else "clean"
    return found


def file_inventory(engine: Engine, hashes: list[str]) -> dict[str, Verdict]:
    """Verdicts ``enrich`` stored in the file inventory (``flagged``); files that every source asked called
    unknown are absent, so the alerts' ``unknown`` match still alerts on them."""
    return {sha: "bad" if bad else "clean" for sha, bad in flagged(engine, hashes).items()}


def flagged(engine: Engine, hashes: Sequence[str]) -> dict[str, bool]:
    """Whether a source flags each file it knows: VirusTotal with an engine saying malicious, or MalwareBazaar
    (which lists malware only) knowing it. Files no source knows (unknown, unasked) are absent (alert rules)."""
    found: dict[str, bool] = {}
    for r in _inventory_rows(engine, hashes):
        enrichment, provenance = r.enrichment or {}, r.provenance or {}
        if _status(provenance) != "known":
            continue
        malicious = ((enrichment.get("virustotal") or {}).get("last_analysis_stats") or {}).get("malicious")
        bazaar = provenance.get("malwarebazaar") or {}
        bazaar = isinstance(bazaar, dict) and bazaar.get("status") == "found"
        found[r.sha256] = bazaar or (isinstance(malicious, int) and malicious > 0)
    return found


VERDICT_SOURCES.append(file_inventory)
