"""``.mmdb`` reading: databases written by the test in GeoLite2, DB-IP and IPinfo layouts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from cowrieprocessor.enrichment.base import LookupStatus
from cowrieprocessor.enrichment.mmdb import MaxMindSource, layout_of

ORACLE = Path("/work/shared/data/maxmind-test")


def _write(path: Path, database_type: str, records: dict[str, dict[str, object]]) -> Path:
    writer = MMDBWriter(ip_version=6, database_type=database_type, ipv4_compatible=True)
    for network, record in records.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


def _city(iso: str, registered: str, city: str, lat: float, lon: float) -> dict[str, object]:
    return {
        "country": {"iso_code": iso, "names": {"en": iso}},
        "registered_country": {"iso_code": registered},
        "continent": {"code": "EU"},
        "city": {"names": {"en": city, "de": city + "-de"}},
        "location": {"latitude": lat, "longitude": lon, "accuracy_radius": 20, "time_zone": "Europe/Berlin"},
    }


@pytest.fixture
def geolite(tmp_path: Path) -> tuple[Path, Path]:
    city = _write(
        tmp_path / "city.mmdb",
        "GeoLite2-City",
        {
            "81.2.69.0/24": _city("GB", "US", "London", 51.5, -0.09),
            "2a02:8100::/32": _city("DE", "DE", "Berlin", 52.5, 13.4),
        },
    )
    asn = _write(
        tmp_path / "asn.mmdb",
        "GeoLite2-ASN",
        {
            "81.2.64.0/20": {
                "autonomous_system_number": 20712,
                "autonomous_system_organization": "Andrews & Arnold Ltd",
            },
            "45.83.64.0/22": {"autonomous_system_number": 208843},  # organisation missing
        },
    )
    return city, asn


def test_geolite_city_and_asn_are_merged(geolite: tuple[Path, Path]) -> None:
    source = MaxMindSource(list(geolite))
    answers = source.lookup_many(["81.2.69.160", "45.83.66.18", "2a02:8100:1::1", "8.8.8.8"])
    london = answers["81.2.69.160"]
    assert london.status is LookupStatus.FOUND
    assert london.data == {
        "country": "GB",
        "registered_country": "US",
        "continent": "EU",
        "city": "London",
        "latitude": 51.5,
        "longitude": -0.09,
        "accuracy_radius": 20,
        "time_zone": "Europe/Berlin",
        "asn": 20712,
        "as_org": "Andrews & Arnold Ltd",
        "network": "81.2.69.0/24",
        "database": "GeoLite2-City+GeoLite2-ASN",
    }
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert london.provenance.version == f"GeoLite2-City {today}; GeoLite2-ASN {today}"
    only_asn = answers["45.83.66.18"].data
    assert only_asn == {"asn": 208843, "network": "45.83.64.0/22", "database": "GeoLite2-ASN"}
    assert answers["2a02:8100:1::1"].data is not None and answers["2a02:8100:1::1"].data["country"] == "DE"
    assert answers["8.8.8.8"].status is LookupStatus.NOT_FOUND and answers["8.8.8.8"].data is None
    source.close()


def test_dbip_lite_reads_like_maxmind(tmp_path: Path) -> None:
    path = _write(tmp_path / "dbip.mmdb", "DBIP-City-Lite", {"91.7.0.0/16": _city("DE", "DE", "Hamburg", 53.5, 10.0)})
    data = MaxMindSource([path]).lookup_many(["91.7.8.9"])["91.7.8.9"].data
    assert data is not None and data["country"] == "DE" and data["city"] == "Hamburg"
    assert data["database"] == "DBIP-City-Lite" and data["network"] == "91.7.0.0/16"


def test_ipinfo_lite_layout(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "ipinfo.mmdb",
        "ipinfo ipinfo_lite.mmdb",
        {
            "8.8.8.0/24": {
                "asn": "AS15169",
                "as_name": "Google LLC",
                "as_domain": "google.com",
                "country": "United States",
                "country_code": "US",
                "continent": "North America",
                "continent_code": "NA",
            },
        },
    )
    assert layout_of("ipinfo ipinfo_lite.mmdb") == "ipinfo" and layout_of("DBIP-ASN-Lite") == "maxmind"
    data = MaxMindSource([path]).lookup_many(["8.8.8.8"])["8.8.8.8"].data
    assert data == {
        "country": "US",
        "continent": "NA",
        "asn": 15169,
        "as_org": "Google LLC",
        "as_domain": "google.com",
        "network": "8.8.8.0/24",
        "database": "ipinfo ipinfo_lite.mmdb",
    }


def test_first_configured_file_wins_a_conflict(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.mmdb", "GeoLite2-Country", {"5.6.0.0/16": {"country": {"iso_code": "NL"}}})
    b = _write(tmp_path / "b.mmdb", "DBIP-Country-Lite", {"5.6.7.0/24": {"country": {"iso_code": "BE"}}})
    assert MaxMindSource([a, b]).lookup_many(["5.6.7.8"])["5.6.7.8"].data["country"] == "NL"  # type: ignore[index]
    assert MaxMindSource([b, a]).lookup_many(["5.6.7.8"])["5.6.7.8"].data["country"] == "BE"  # type: ignore[index]


@pytest.mark.skipif(not ORACLE.is_dir(), reason=f"MaxMind official test databases not present at {ORACLE}")
def test_official_maxmind_test_databases() -> None:
    source = MaxMindSource([ORACLE / "GeoLite2-City-Test.mmdb", ORACLE / "GeoLite2-ASN-Test.mmdb"])
    answers = source.lookup_many(
        ["81.2.69.142", "89.160.20.112", "216.160.83.56", "1.128.0.1", "12.81.92.1", "2600:7000::1"]
    )
    assert answers["81.2.69.142"].data["country"] == "GB"  # type: ignore[index]
    assert answers["81.2.69.142"].data["city"] == "London"  # type: ignore[index]
    assert answers["89.160.20.112"].data["country"] == "SE"  # type: ignore[index]
    assert answers["216.160.83.56"].data["country"] == "US"  # type: ignore[index]
    assert answers["1.128.0.1"].data["asn"] == 1221  # type: ignore[index]
    assert answers["1.128.0.1"].data["as_org"] == "Telstra Pty Ltd"  # type: ignore[index]
    assert answers["1.128.0.1"].data["network"] == "1.128.0.0/11"  # type: ignore[index]
    assert answers["12.81.92.1"].data["asn"] == 7018  # type: ignore[index]
    assert answers["2600:7000::1"].data["asn"] == 6939  # type: ignore[index]
    assert "GeoLite2-City" in (answers["81.2.69.142"].provenance.version or "")


def test_country_codes_come_out_upper_case_whatever_the_database_says(tmp_path: Path) -> None:
    dbip = _write(tmp_path / "lower.mmdb", "DBIP-City-Lite", {"91.7.0.0/16": _city("de", "at", "Hamburg", 53.5, 10.0)})
    data = MaxMindSource([dbip]).lookup_many(["91.7.8.9"])["91.7.8.9"].data
    assert data is not None and (data["country"], data["registered_country"]) == ("DE", "AT")
    ipinfo = _write(tmp_path / "ipinfo.mmdb", "ipinfo ipinfo_lite.mmdb", {"8.8.8.0/24": {"country_code": "us"}})
    assert MaxMindSource([ipinfo]).lookup_many(["8.8.8.8"])["8.8.8.8"].data["country"] == "US"  # type: ignore[index]
