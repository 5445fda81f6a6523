"""Legacy enrichment shapes -> canonical document: the Python rules, and the SQL rules agreeing with them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import Engine, text

from cowrieprocessor.storage import v15_enrichment

IP = "203.0.113.57"
SPUR_LIST = [
    "AS14061", "DIGITALOCEAN-ASN", "DigitalOcean, LLC", "DATACENTER", "", "", "DESKTOP, MOBILE", "3", "",
    "", "", "CALLBACK_PROXY", "", "", "", "", "NordVPN", "VPN",
]  # fmt: skip
DSHIELD_FULL = {"ip": {"number": IP, "count": "12", "attacks": "3", "as": "14061", "asname": "DIGITALOCEAN-ASN",
                       "ascountry": "NL", "network": "203.0.113.0/24"}}  # fmt: skip

#: name -> (stored v15 enrichment, expected (asn, country, ip_types), expected canonical source keys)
SHAPES: dict[str, tuple[Any, tuple[int | None, str | None, list[str] | None], set[str]]] = {
    "top_level_providers": (
        {"dshield": DSHIELD_FULL, "urlhaus": "mirai, elf", "spur": SPUR_LIST},
        (14061, "NL", ["DESKTOP", "MOBILE"]),
        {"dshield", "urlhaus", "spur"},
    ),
    "nested_session_ip": (
        {"session": {IP: {"dshield": DSHIELD_FULL, "spur": {"ip": IP, "client": {"types": ["MOBILE"]}}}}},
        (14061, "NL", ["MOBILE"]),
        {"dshield", "spur"},
    ),
    "spur_object_v2": (
        {
            "spur": {
                "ip": IP,
                "as": {"number": 16509, "organization": "AMAZON-02"},
                "infrastructure": "DATACENTER",
                "client": {"types": ["DESKTOP"]},
                "location": {"country": "US"},
            }
        },
        (16509, None, ["DESKTOP"]),
        {"spur"},
    ),
    "placeholders_only": (
        {"dshield": {"ip": {"asname": "", "ascountry": ""}}, "urlhaus": "", "spur": [""] * 18, "greynoise": {"ip": IP}},
        (None, None, None),
        set(),
    ),
    "dshield_unwrapped_and_maxmind_record": (
        {
            "dshield": {"as": 4134, "asname": "CHINANET", "ascountry": "CN"},
            "maxmind": {"country": {"iso_code": "CN"}, "autonomous_system_number": 4134},
        },
        (4134, "CN", None),
        {"dshield", "maxmind"},
    ),
    "cymru_and_greynoise_precedence": (
        {
            "cymru": {
                "asn": "AS3561",
                "prefix": "216.88.0.0/14",
                "country": "US",
                "registry": "arin",
                "as_name": "CENTURYLINK",
            },
            "dshield": {"ip": {"as": "0", "asname": "", "ascountry": "USA", "count": "4"}},
            "greynoise": {"ip": IP, "noise": False, "riot": False, "message": "IP not observed"},
        },
        (3561, "US", None),
        {"cymru", "dshield", "greynoise"},
    ),
    "nested_other_ip_only_entry": (
        {"session": {"198.51.100.9": {"maxmind": {"country": "DE", "asn": 3320, "database": "GeoLite2-City"}}}},
        (3320, "DE", None),
        {"maxmind"},
    ),
    "lower_case_country": (  # v15 kept countries as the source spelled them: normalised to upper case
        {"cymru": {"asn": 1221, "country": "au", "as_name": "ASN-TELSTRA"}, "embedded": {"country": "au"}},
        (1221, "AU", None),
        {"cymru", "embedded"},
    ),
    "not_an_object": ("legacy text", (None, None, None), set()),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_python_normaliser_reads_every_shape(name: str) -> None:
    stored, (asn, country, types), keys = SHAPES[name]
    doc = v15_enrichment.normalise(stored, IP)
    assert set(doc) == keys
    assert v15_enrichment.canonical_asn(doc) == asn
    assert v15_enrichment.canonical_country(doc) == country
    assert v15_enrichment.canonical_ip_types(doc) == types
    assert all(value not in ({}, [], "", None) for value in doc.values())


def test_spur_list_becomes_the_v2_object() -> None:
    doc = v15_enrichment.normalise({"spur": SPUR_LIST}, IP)["spur"]
    assert doc == {
        "as": {"number": 14061, "organization": "DIGITALOCEAN-ASN"},
        "organization": "DigitalOcean, LLC",
        "infrastructure": "DATACENTER",
        "client": {"types": ["DESKTOP", "MOBILE"], "count": "3"},
        "risks": "CALLBACK_PROXY",
        "tunnels": [{"operator": "NordVPN", "type": "VPN"}],
    }


def test_org_only_from_a_source_that_named_the_asn() -> None:
    doc = v15_enrichment.normalise(
        {
            "cymru": {"asn": 3561, "registry": "arin", "as_name": "CENTURYLINK", "country": "US"},
            "dshield": {"ip": {"as": "7018", "asname": "ATT", "ascountry": "US"}},
        },
        IP,
    )
    assert v15_enrichment.canonical_org(doc, 3561) == ("CENTURYLINK", "US", "arin")
    assert v15_enrichment.canonical_org(doc, 7018) == ("ATT", "US", None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (15169, 15169),
        ("15169", 15169),
        ("AS15169", 15169),
        (0, None),
        ("0", None),
        (True, None),
        (15169.0, None),
        ("AS", None),
        ("15169x", None),
        (-5, None),
        (None, None),
    ],
)
def test_coerce_asn(value: Any, expected: int | None) -> None:
    assert v15_enrichment.coerce_asn(value) == expected


def test_enrichment_time_prefers_the_nested_then_top_level_time() -> None:
    stored = {"enriched_at": "2024-02-01T00:00:00Z", "session": {IP: {"fetched_at": "2024-03-01T12:00:00+02:00"}}}
    assert v15_enrichment.enrichment_time(stored, IP) == dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)
    assert v15_enrichment.enrichment_time({"timestamp": "2024-01-05 08:00:00"}, IP) == dt.datetime(
        2024, 1, 5, 8, tzinfo=dt.UTC
    )
    assert v15_enrichment.enrichment_time({"timestamp": "2024-02-30T00:00:00"}, IP) is None
    assert v15_enrichment.enrichment_time({"timestamp": "now"}, IP) is None


def _sql_eval(engine: Engine, stored: Any, ip: str) -> dict[str, Any]:
    sql = v15_enrichment.LegacySQL(engine.dialect.name)
    pg = engine.dialect.name == "postgresql"
    src = "(SELECT CAST(:e AS jsonb) AS e, CAST(:ip AS inet) AS ip) s" if pg else "(SELECT json(:e) AS e, :ip AS ip) s"
    r = "q.r"
    asn = sql.snapshot_asn(r)
    name, country, registry = sql.org(r, asn)
    types = sql.snapshot_ip_types(r)
    query = (
        f"SELECT d.doc, {asn} AS asn, {sql.snapshot_country(r)} AS country, "
        f"{types} AS types, {name} AS org, {country} AS org_cc, {registry} AS reg, "
        f"{sql.enrichment_time('q.e', r)} AS at FROM q, ({sql.document_query('SELECT r FROM q')}) AS d"
    )
    query = f"WITH q AS MATERIALIZED (SELECT s.e, {sql.root('s.e', 's.ip')} AS r FROM {src}) {query}"
    with engine.begin() as conn:
        if pg:
            conn.execute(text(v15_enrichment.PG_TRY_TIMESTAMPTZ))
        row = conn.execute(text(query), {"e": json.dumps(stored), "ip": ip}).mappings().one()
    out = dict(row)
    for key in ("doc", "types"):
        if isinstance(out[key], str):
            out[key] = json.loads(out[key])
    if isinstance(out["at"], str):
        out["at"] = dt.datetime.fromisoformat(out["at"]).replace(tzinfo=dt.UTC)
    return out


@pytest.mark.parametrize("name", list(SHAPES))
def test_sql_normaliser_agrees_with_python(engine: Engine, name: str) -> None:
    stored = SHAPES[name][0]
    if isinstance(stored, dict):
        stored = {**stored, "enriched_at": "2024-04-02T03:04:05+00:00"}
    got = _sql_eval(engine, stored, IP)
    doc = v15_enrichment.normalise(stored, IP)
    asn = v15_enrichment.canonical_asn(doc)
    assert got["doc"] == doc
    assert got["asn"] == asn
    assert got["country"] == v15_enrichment.canonical_country(doc)
    assert got["types"] == v15_enrichment.canonical_ip_types(doc)
    assert (got["org"], got["org_cc"], got["reg"]) == v15_enrichment.canonical_org(doc, asn)
    assert got["at"] == v15_enrichment.enrichment_time(stored, IP)
    assert got["asn"] == SHAPES[name][1][0]


def test_sql_rejects_bad_timestamps_without_aborting(engine: Engine) -> None:
    for bad in ("2024-02-30T00:00:00", "now", "2024-01-01Tgarbage"):
        got = _sql_eval(engine, {"enriched_at": bad}, IP)
        assert got["at"] == v15_enrichment.enrichment_time({"enriched_at": bad}, IP)
