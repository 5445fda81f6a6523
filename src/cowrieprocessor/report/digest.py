"""A short digest of what is new since the last digest of a name, for cron mail and chat.

Items (each first seen, by event time, in ``[since, until)`` - never before, on any sensor): campaign keys
of every kind, ASNs at attack time, download hashes, payload hosts; plus IPs whose ASN history opened a new
window in it, and successful logins of sessions that planted an SSH key.

The watermark (``report_digests``, schema v22): a run of a name starts where its last run ended, so windows
never overlap and no item is reported twice; each run keeps the digest it produced, and ``replay`` gives a
past run's answer again unchanged. ``until`` defaults to just after the newest session stored (the data's
time, not the clock). Logs ingested later for a time before the watermark are in the HTML report of their
period, not in a later digest.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, bindparam, distinct, func, insert, select
from sqlalchemy.exc import IntegrityError

from cowrieprocessor.analysis.sql import ASNS, HISTORY, PAYLOAD_HOSTS, SESSIONS, dialect_of, fetch, per_dialect
from cowrieprocessor.report.campaigns import KINDS, _source, labels, new_keys
from cowrieprocessor.report.period import newest_session
from cowrieprocessor.report.sql import DIGESTS, FILES, KEYS, in_period, never_before

LIMIT = 10
SESSION_KINDS = tuple(k for k in KINDS if k != "download")
FIRST_SPAN = dt.timedelta(days=1)


class DigestError(Exception):
    """A digest that cannot be produced as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class Window:
    name: str
    run: int
    since: dt.datetime
    until: dt.datetime


@per_dialect
def _new_keys_statement(dialect: str, kind: str) -> Select[Any]:
    s = SESSIONS.c
    rows, key = _source(kind)
    if kind == "download":
        f = FILES.c
        window = [f.event_time >= bindparam("since"), f.event_time < bindparam("until")]
        sessions = func.count(distinct(s.session_id))
    else:
        window = in_period(False)
        sessions = func.count()
    return (
        select(
            key.label("key"),
            sessions.label("sessions"),
            func.count(distinct(s.source_ip)).label("ips"),
            func.min(s.first_event_at).label("first_seen"),
        )
        .select_from(rows)
        .where(*window, key.in_(new_keys(kind, False)))
        .group_by(key)
        .order_by(sessions.desc(), key)
    )


@per_dialect
def _new_asns_statement(dialect: str) -> Select[Any]:
    s, a = SESSIONS.c, ASNS.c
    candidates = select(s.snapshot_asn).where(*in_period(False), s.snapshot_asn.is_not(None))
    new = never_before(candidates, SESSIONS, "snapshot_asn", "first_event_at", indexed=True)
    return (
        select(
            s.snapshot_asn.label("asn"),
            a.organization_name,
            a.asn_type,
            func.count().label("sessions"),
            func.count(distinct(s.source_ip)).label("ips"),
            func.min(s.first_event_at).label("first_seen"),
        )
        .select_from(SESSIONS.outerjoin(ASNS, a.asn_number == s.snapshot_asn))
        .where(*in_period(False), s.snapshot_asn.in_(new))
        .group_by(s.snapshot_asn, a.organization_name, a.asn_type)
        .order_by(func.count().desc(), s.snapshot_asn)
    )


@per_dialect
def _moved_statement(dialect: str) -> Select[Any]:
    """ASN history windows opened in the digest's window that follow an earlier window of the same IP."""
    h = HISTORY.c
    before = HISTORY.alias("before")
    previous = (
        select(before.c.asn_number)
        .where(before.c.ip_address == h.ip_address, before.c.valid_from < h.valid_from)
        .order_by(before.c.valid_from.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            h.ip_address.label("ip"),
            previous.label("asn_from"),
            h.asn_number.label("asn_to"),
            h.valid_from.label("moved_at"),
            h.observed_by,
        )
        .where(h.valid_from >= bindparam("since"), h.valid_from < bindparam("until"), previous.is_not(None))
        .order_by(h.valid_from, h.ip_address)
    )


@per_dialect
def _planted_logins_statement(dialect: str) -> Select[Any]:
    """Per planted key: the successful logins of sessions that planted it."""
    s, k = SESSIONS.c, KEYS.c
    return (
        select(
            k.fingerprint_sha256.label("fingerprint"),
            func.count(distinct(s.session_id)).label("sessions"),
            func.count(distinct(s.source_ip)).label("ips"),
            func.count(distinct(s.sensor)).label("sensors"),
            func.min(s.source_ip).label("example_ip"),
            func.min(s.first_event_at).label("first_seen"),
        )
        .select_from(SESSIONS.join(KEYS, k.session_id == s.session_id))
        .where(*in_period(False), s.login_success, k.how_seen == "planted")
        .group_by(k.fingerprint_sha256)
        .order_by(func.count(distinct(s.session_id)).desc(), k.fingerprint_sha256)
    )


def _section(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"total": len(rows), "items": [plain(r) for r in rows[:LIMIT]]}


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON-ready data (digest items, alert details): times as ISO text, keys as plain ``str`` (a Core
    column's name is a ``quoted_name``, a subclass the JSON encoder refuses as a key)."""
    return {str(k): v.astimezone(dt.UTC).isoformat() if isinstance(v, dt.datetime) else v for k, v in row.items()}


#: Each section's statement, by name (``alerts`` evaluates them one at a time, every row).
SECTIONS = {
    "new_asns": _new_asns_statement,
    "moved_ips": _moved_statement,
    "planted_key_logins": _planted_logins_statement,
}


def first_seen_keys(engine: Engine, kind: str, since: dt.datetime, until: dt.datetime) -> list[dict[str, Any]]:
    """Every key of ``kind`` (a campaign kind or ``download``) first seen in ``[since, until)``, busiest first."""
    return fetch(engine, _new_keys_statement(dialect_of(engine), kind), {"since": since, "until": until})


def section(engine: Engine, name: str, since: dt.datetime, until: dt.datetime) -> list[dict[str, Any]]:
    """Every row of a section of ``SECTIONS`` for ``[since, until)``."""
    return fetch(engine, SECTIONS[name](dialect_of(engine)), {"since": since, "until": until})


def compute(engine: Engine, since: dt.datetime, until: dt.datetime) -> dict[str, Any]:
    """What first appeared in ``[since, until)``: a pure function of the stored (event-time) data."""
    campaigns = {kind: _section(first_seen_keys(engine, kind, since, until)) for kind in SESSION_KINDS}
    passwords = campaigns["password"]["items"]
    text = labels(engine, "password", [p["key"] for p in passwords], {})
    for item in passwords:
        item["text"] = text.get(item["key"])
    downloads = _section(first_seen_keys(engine, "download", since, until))
    if downloads["items"]:  # #19: the artifact sources' verdict of each new file, when `enrich` asked them
        from cowrieprocessor.analysis.artifacts import verdict_lines

        known = verdict_lines(engine, [i["key"] for i in downloads["items"]])
        for item in downloads["items"]:
            if item["key"] in known:
                item["verdict"] = known[item["key"]]
    return {
        "new_campaigns": campaigns,
        "new_asns": _section(section(engine, "new_asns", since, until)),
        "moved_ips": _section(section(engine, "moved_ips", since, until)),
        "new_downloads": downloads,
        "new_payload_hosts": new_payload_hosts(engine, since, until),
        "planted_key_logins": _section(section(engine, "planted_key_logins", since, until)),
    }


def new_payload_hosts(engine: Engine, since: dt.datetime, until: dt.datetime) -> dict[str, Any]:
    """Hosts whose first payload fetch (on any sensor) is in ``[since, until)``, as the last ``enrich`` counted
    them, with the networks their addresses are in now and URLhaus's word when it was asked."""
    h = PAYLOAD_HOSTS.c
    stmt = (
        select(h.host, h.first_seen, h.session_count.label("sessions"), h.url_count.label("urls"))
        .where(h.first_seen >= bindparam("since"), h.first_seen < bindparam("until"))
        .order_by(h.session_count.desc(), h.host)
    )
    found = _section(fetch(engine, stmt, {"since": since, "until": until}))
    if found["items"]:
        from cowrieprocessor.analysis.artifacts import payload_hosts

        served: dict[str, list[str]] = {}
        listed: dict[str, str | None] = {}
        for row in payload_hosts(engine, hosts=[i["host"] for i in found["items"]], limit=10 * LIMIT):
            listed[row.host] = row.urlhaus
            if row.ip is not None:
                served.setdefault(row.host, []).append(f"{row.ip} AS{row.asn_now}" if row.asn_now else row.ip)
        for item in found["items"]:
            item["addresses"] = served.get(item["host"], [])
            item["urlhaus"] = listed.get(item["host"])
    return found


def runs(engine: Engine, name: str) -> list[dict[str, Any]]:
    d = DIGESTS.c
    stmt = select(d.run, d.since, d.until, d.created_at).where(d.name == name).order_by(d.run)
    return fetch(engine, stmt, {})


def replay(engine: Engine, name: str, run: int) -> dict[str, Any]:
    """A past run's digest exactly as it was produced."""
    d = DIGESTS.c
    rows = fetch(engine, select(d.body).where(d.name == name, d.run == run), {})
    if not rows:
        known = ", ".join(str(r["run"]) for r in runs(engine, name)) or "none"
        raise DigestError(f"digest {name!r} has no run {run} (runs: {known})")
    return canonical(rows[0]["body"])


def canonical(body: dict[str, Any]) -> dict[str, Any]:
    """JSON types, keys sorted at every level: the same text from either backend (jsonb reorders keys)."""
    return dict(json.loads(json.dumps(body, default=str, sort_keys=True)))


def next_digest(
    engine: Engine, name: str, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict[str, Any]:
    """The next run of ``name``: from the last run's end (or ``since``, else a day before ``until``) to
    ``until``; recorded with what it reported so that it is never reported again."""
    if not name or len(name) > 64:
        raise DigestError("a digest name is 1 to 64 characters")
    previous = runs(engine, name)
    if until is None:
        newest = newest_session(engine)
        until = (newest + dt.timedelta(microseconds=1)) if newest else dt.datetime.now(dt.UTC)
    if previous:
        last = previous[-1]
        start = last["until"]
        if since is not None and since != start:
            raise DigestError(
                f"digest {name!r} continues from its last run's end ({start.isoformat()}); drop --since, "
                "or use another name"
            )
        since = start
    elif since is None:
        since = until - FIRST_SPAN
    if until < since:
        raise DigestError(f"digest {name!r} has reported up to {since.isoformat()} already; --until is before it")
    run = previous[-1]["run"] + 1 if previous else 1
    body = {
        "name": name,
        "run": run,
        "since": since.astimezone(dt.UTC).isoformat(),
        "until": until.astimezone(dt.UTC).isoformat(),
        **compute(engine, since, until),
    }
    body = canonical(body)
    try:
        with engine.begin() as conn:
            conn.execute(insert(DIGESTS), {"name": name, "run": run, "since": since, "until": until, "body": body})
    except IntegrityError as exc:
        raise DigestError(f"another run of digest {name!r} was recorded at the same time; run it again") from exc
    return body
