"""A small three-tier dataset whose right answers are known by construction (see ``Dataset``).

Campaign K1 (an SSH key) runs from five IPs over four ASNs and four countries:
A on AS64500/US (3 sessions), B moved AS64501/DE -> AS64502/NL mid-campaign (2 + 1 sessions),
C on AS64503 whose country changed SG -> MY since (2 sessions, two IP types), D an IPv6 address on
AS64500 with no IP type (1 session), G never enriched (1 session, no snapshot at all).
Neighbours: E (AS64500, key K2, password "admin", command sigE, 2 sessions), H (AS64501, sigE,
password "hunter2" like the campaign, 1 session; moved AS64504 -> AS64501 before), F (AS64504 only, K3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from cowrieprocessor.analysis.keys import hash_password
from cowrieprocessor.analysis.sql import ASNS, AUTH, HISTORY, IPS, SESSIONS

T0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

K1, K2, K3 = "SHA256:campaignKEY1", "SHA256:otherKEY2", "SHA256:farAwayKEY3"
A, B, C, D, E, F, G, H = (
    "198.51.100.1",
    "198.51.100.2",
    "203.0.113.3",
    "2001:db8::4",
    "192.0.2.5",
    "192.0.2.6",
    "192.0.2.7",
    "192.0.2.8",
)
AS_OF = T0 + 100 * DAY


@dataclass(frozen=True)
class Dataset:
    engine: Engine
    k1: str = K1
    k2: str = K2
    k3: str = K3


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def _asn(number: int, org: str, country: str, kind: str | None, sessions: int, ips: int, **kw: Any) -> dict[str, Any]:
    return {
        "asn_number": number,
        "organization_name": org,
        "organization_country": country,
        "asn_type": kind,
        "is_known_hosting": kw.get("hosting", False),
        "is_known_vpn": kw.get("vpn", False),
        "total_session_count": sessions,
        "unique_ip_count": ips,
        "first_seen": T0,
        "last_seen": T0 + 40 * DAY,
        "enrichment_updated_at": kw.get("updated", T0),
    }


ASN_ROWS = [
    _asn(64500, "AlphaHost", "US", "hosting", 500, 50, hosting=True),
    _asn(64501, "BetaNet ISP", "DE", "isp", 300, 30),
    _asn(64502, "GammaCloud", "NL", "hosting", 200, 20, hosting=True),
    _asn(64503, "DeltaVPN", "SG", "vpn", 100, 10, vpn=True),
    _asn(64504, "Unrelated", "BR", "isp", 50, 5, updated=None),
    _asn(64505, "Unclassified", "FR", None, 10, 1, updated=None),
]


def _ip(
    ip: str,
    asn: int | None,
    country: str | None,
    types: list[str] | None,
    first: int,
    last: int,
    sessions: int,
    provenance: dict[str, Any],
    updated: dt.datetime | None = T0,
) -> dict[str, Any]:
    enrichment: dict[str, Any] = {"validation": {"is_bogon": False, "reason": None, "network": None}}
    if country:
        enrichment["maxmind"] = {"country": country, "asn": asn}
    if types is not None:
        enrichment["spur"] = {"client": {"types": types}}
    return {
        "ip_address": ip,
        "current_asn": asn,
        "enrichment": enrichment,
        "provenance": provenance,
        "enrichment_updated_at": updated,
        "first_seen": T0 + first * DAY,
        "last_seen": T0 + last * DAY,
        "session_count": sessions,
    }


def _prov(**expiry_days: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source, days in expiry_days.items():
        entry: dict[str, Any] = {"status": "ok", "fetched_at": _iso(T0), "version": "1"}
        if days is not None:
            entry["expires_at"] = _iso(T0 + days * DAY)
        out[source] = entry
    return out


FRESH = _prov(maxmind=300)
IP_ROWS = [
    _ip(A, 64500, "US", ["DATACENTER"], 0, 40, 4, _prov(maxmind=200, spur=50)),
    _ip(B, 64502, "NL", ["DATACENTER"], 0, 12, 3, _prov(maxmind=50, spur=150)),
    _ip(C, 64503, "MY", ["VPN", "DATACENTER"], 3, 5, 2, _prov(greynoise=None)),
    _ip(D, 64500, "US", [], 2, 2, 1, {"maxmind": {"status": "ok", "expires_at": "2025-03-21T00:00:00Z"}}),
    _ip(E, 64500, "US", None, 5, 6, 2, FRESH),
    _ip(F, 64504, "BR", None, 7, 7, 1, FRESH),
    _ip(G, None, None, None, 8, 8, 1, {}, updated=None),
    _ip(H, 64501, "DE", None, 9, 9, 1, FRESH),
]

HISTORY_ROWS = [
    {"ip_address": A, "asn_number": 64500, "valid_from": T0, "valid_until": None, "observed_by": "cymru"},
    {"ip_address": B, "asn_number": 64501, "valid_from": T0, "valid_until": T0 + 10 * DAY, "observed_by": "cymru"},
    {"ip_address": B, "asn_number": 64502, "valid_from": T0 + 10 * DAY, "valid_until": None, "observed_by": "cymru"},
    {"ip_address": C, "asn_number": 64503, "valid_from": T0, "valid_until": None, "observed_by": "cymru"},
    {
        "ip_address": H,
        "asn_number": 64504,
        "valid_from": T0 - 30 * DAY,
        "valid_until": T0 - 5 * DAY,
        "observed_by": "routing_history",
    },
    {"ip_address": H, "asn_number": 64501, "valid_from": T0 - 5 * DAY, "valid_until": None, "observed_by": "cymru"},
]

HUNTER2, ADMIN = hash_password("hunter2"), hash_password("admin")


def _session(
    sid: str,
    ip: str,
    day: float,
    snap: tuple[int | None, str | None, list[str] | None],
    *,
    key: str | None = K1,
    pw: str | None = HUNTER2,
    sig: str | None = "sigC",
    sensor: str = "honeypot-us",
    user: str = "root",
) -> dict[str, Any]:
    asn, country, types = snap
    start = T0 + dt.timedelta(days=day)
    return {
        "session_id": sid,
        "sensor": sensor,
        "source_ip": ip,
        "first_event_at": start,
        "last_event_at": start + dt.timedelta(minutes=5),
        "login_username": user,
        "password_hash": pw,
        "ssh_key_fingerprint": key,
        "command_signature": sig,
        "command_count": 1,
        "snapshot_asn": asn,
        "snapshot_country": country,
        "snapshot_ip_types": types,
        "snapshot_source": None if asn is None else "cymru",
        "enrichment_at": None if asn is None else start,
    }


SESSION_ROWS = [
    _session("a1", A, 0, (64500, "US", ["DATACENTER"])),
    _session("a2", A, 1, (64500, "US", ["DATACENTER"])),
    _session("a3", A, 2, (64500, "US", ["DATACENTER"])),
    _session("b1", B, 1.5, (64501, "DE", ["RESIDENTIAL"]), sensor="honeypot-eu"),
    _session("b2", B, 2.5, (64501, "DE", ["RESIDENTIAL"]), sensor="honeypot-eu"),
    _session("b3", B, 12, (64502, "NL", ["DATACENTER"]), sensor="honeypot-eu"),
    _session("c1", C, 3, (64503, "SG", ["VPN", "DATACENTER"])),
    _session("c2", C, 5, (64503, "SG", ["VPN", "DATACENTER"])),
    _session("d1", D, 2, (64500, "US", [])),
    _session("g1", G, 8, (None, None, None)),
    _session("e1", E, 5, (64500, "US", None), key=K2, pw=ADMIN, sig="sigE"),
    _session("e2", E, 6, (64500, "US", None), key=K2, pw=ADMIN, sig="sigE"),
    _session("h1", H, 9, (64501, "DE", None), key=None, pw=HUNTER2, sig="sigE"),
    _session("f1", F, 7, (64504, "BR", None), key=K3, pw=ADMIN, sig="sigF"),
]

CAMPAIGN_SESSIONS = {"a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "d1", "g1"}


def load(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(ASNS), ASN_ROWS)
        conn.execute(insert(IPS), IP_ROWS)
        conn.execute(insert(HISTORY), HISTORY_ROWS)
        conn.execute(insert(SESSIONS), SESSION_ROWS)
        conn.execute(insert(AUTH), attempts_of(SESSION_ROWS))


def attempts_of(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One successful login attempt per session with a password, as ingestion writes it: a session's password is
    one it tried."""
    return [
        {
            "event_uid": f"auth-{s['session_id']}",
            "session_id": s["session_id"],
            "event_time": s["first_event_at"],
            "username": s.get("login_username"),
            "password_hash": s["password_hash"],
            "success": True,
        }
        for s in sessions
        if s.get("password_hash") is not None
    ]


@pytest.fixture
def dataset(engine: Engine) -> Dataset:
    load(engine)
    return Dataset(engine)
