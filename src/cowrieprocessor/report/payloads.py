"""The hosts that served the period's payloads (#19): each with its addresses, their ASN when resolved and now,
and the period's files and sessions fetched from it. Host rows come from ``analysis.artifacts.payload_hosts``;
only the period's share is counted here."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Engine, Select, distinct, func, select

from cowrieprocessor.analysis.sql import SESSIONS, URL_INVENTORY, dialect_of, fetch, per_dialect
from cowrieprocessor.report.period import Period
from cowrieprocessor.report.sql import FILES, in_period

URLS = URL_INVENTORY
HOSTS = 50


@per_dialect
def _period_hosts_statement(dialect: str, sensors: bool) -> Select[Any]:
    """Per host of the period's download URLs (None: URLs not in the inventory yet, or naming no host)."""
    s, f, u = SESSIONS.c, FILES.c, URLS.c
    return (
        select(
            u.host,
            func.count(distinct(f.shasum)).label("files"),
            func.count(distinct(f.session_id)).label("sessions"),
            func.count().label("transfers"),
        )
        .select_from(SESSIONS.join(FILES, f.session_id == s.session_id).outerjoin(URLS, u.url == f.url))
        .where(*in_period(sensors), f.url.is_not(None))
        .group_by(u.host)
    )


def host_id(host: str) -> str:
    """A fragment id for a payload host: a digest (host names are attacker text)."""
    return "host-" + hashlib.sha256(host.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def payload_ip_id(ip: str) -> str:
    """A fragment id for a payload host's address (another id than the attacker IP table's)."""
    return "payload-ip-" + "".join(ch if ch.isalnum() else "-" for ch in ip)


def payload_hosts(engine: Engine, period: Period) -> dict[str, Any]:
    """``transfers``: the period's transfers with a URL (0: no section); ``rows``: one per host and address,
    the first row of each host and of each address carrying its anchor; ``unlisted``: transfers whose URL is
    not in the inventory yet or names no host (``enrich`` builds it)."""
    from cowrieprocessor.analysis.artifacts import payload_hosts as host_rows

    counts = fetch(engine, _period_hosts_statement(dialect_of(engine), bool(period.sensors)), period.params())
    period_of = {str(r["host"]): r for r in counts if r["host"] is not None}
    busiest = sorted(period_of, key=lambda h: (-int(period_of[h]["sessions"]), h))[:HOSTS]
    rows: list[dict[str, Any]] = []
    hosts_seen: set[str] = set()
    ips_seen: set[str] = set()
    found = host_rows(engine, hosts=busiest, limit=HOSTS * 20) if busiest else []
    for row in sorted(found, key=lambda r: (busiest.index(r.host), r.first_resolved is None, r.ip or "")):
        here = period_of[row.host]
        rows.append(
            {
                "host": row.host, "ip": row.ip, "asn_then": row.asn_then, "asn_now": row.asn_now,
                "organization_now": row.organization_now, "country_now": row.country_now,
                "first_resolved": row.first_resolved, "urlhaus": row.urlhaus,
                "files": int(here["files"]), "sessions": int(here["sessions"]),
                "files_ever": row.files, "sessions_ever": row.sessions,
                "host_anchor": None if row.host in hosts_seen else host_id(row.host),
                "ip_anchor": None if row.ip is None or row.ip in ips_seen else payload_ip_id(row.ip),
            }
        )  # fmt: skip
        hosts_seen.add(row.host)
        if row.ip is not None:
            ips_seen.add(row.ip)
    return {
        "transfers": sum(int(r["transfers"]) for r in counts),
        "hosts": len(period_of),
        "rows": rows,
        "unlisted": sum(int(r["transfers"]) for r in counts if r["host"] is None),
    }
