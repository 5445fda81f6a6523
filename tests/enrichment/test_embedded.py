"""The embedded default (ip-location-db data shipped in the package): AS numbers offline, no key, no download."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from importlib import resources

import pytest

from cowrieprocessor.enrichment import embedded
from cowrieprocessor.enrichment.base import LookupStatus
from cowrieprocessor.enrichment.embedded import EmbeddedSource, RangeTable, network


def test_answers_asn_org_country_and_network_with_its_dataset_date() -> None:
    source = EmbeddedSource()
    answers = source.lookup_many(["1.1.1.1", "2001:4860:4860::8888", "8.8.8.8", "10.0.0.1", "garbage"])
    cloudflare = answers["1.1.1.1"]
    assert cloudflare.status is LookupStatus.FOUND and cloudflare.data is not None
    assert cloudflare.data["asn"] == 13335 and cloudflare.data["as_org"] == "Cloudflare, Inc."
    assert cloudflare.data["network"] == "1.1.1.0/24"
    assert cloudflare.data["dataset"] == "ip-location-db (data of 2026-06-17)"
    assert cloudflare.provenance.version == cloudflare.data["dataset"]
    google6 = answers["2001:4860:4860::8888"].data
    assert google6 is not None and google6["asn"] == 15169 and google6["country"] == "US"
    assert answers["8.8.8.8"].data == {
        "asn": 15169,
        "as_org": "Google LLC",
        "network": "8.8.8.0/24",
        "country": "US",
        "dataset": "ip-location-db (data of 2026-06-17)",
    }
    assert answers["10.0.0.1"].status is LookupStatus.NOT_FOUND and answers["10.0.0.1"].data is None
    assert answers["garbage"].status is LookupStatus.ERROR


def test_ipv4_mapped_ipv6_is_looked_up_as_ipv4() -> None:
    data = EmbeddedSource().lookup_many(["::ffff:1.1.1.1"])["::ffff:1.1.1.1"].data
    assert data is not None and data["asn"] == 13335


def test_a_range_that_is_not_one_cidr_block_gives_the_block_holding_the_address() -> None:
    # 10.0.0.0 - 10.0.2.255 is a /23 and a /24: each address gets the block it is in
    first, last = 0x0A000000, 0x0A0002FF
    assert network(0x0A000105, first, last, 32) == "10.0.0.0/23"
    assert network(0x0A000205, first, last, 32) == "10.0.2.0/24"
    assert network(1 << 100, 1 << 100, (1 << 100) + 2, 128) == "0:10::/127"


def test_the_manifest_matches_the_shipped_files_and_names_the_licences() -> None:
    record = embedded.manifest()
    assert dt.date.fromisoformat(record["data_date"]) >= dt.date(2026, 1, 1)
    data = resources.files(embedded.PACKAGE)
    for name, facts in record["files"].items():
        payload = data.joinpath(name).read_bytes()
        assert hashlib.sha256(payload).hexdigest() == facts["sha256"], name
    for licence in ("LICENSE-ROUTEVIEWS.txt", "LICENSE-DBIP.txt", "LICENSE-NRO.txt"):
        assert "Creative Commons Attribution 4.0" in data.joinpath(licence).read_text()
    assert record["rows"]["ipv4_ranges"] > 100_000 and record["rows"]["ipv6_ranges"] > 50_000


def test_a_damaged_table_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    payload = gzip.compress((3).to_bytes(4, "big") + bytes(7))
    monkeypatch.setattr(embedded, "_read", lambda name: payload)
    with pytest.raises(ValueError, match="damaged"):
        RangeTable.load("asn-v4.bin.gz", 4)


def test_every_public_address_of_the_sample_has_an_asn() -> None:
    from cowrieprocessor import samples
    from cowrieprocessor.enrichment.validation import ValidationSource

    ips = set()
    for path in samples.sample_paths():
        payload = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for line in payload.splitlines():
            ips.add(json.loads(line)["src_ip"])
    checks = ValidationSource().lookup_many(sorted(ips))
    public = [ip for ip, res in checks.items() if res.data is not None and res.data["is_bogon"] is False]
    answers = EmbeddedSource().lookup_many(public)
    missing = [ip for ip in public if "asn" not in (answers[ip].data or {})]
    assert len(public) == len(ips) > 300 and missing == []


def test_a_ranges_own_country_is_the_country_of_each_of_its_addresses() -> None:
    """The build stores a country per AS range when one covers the whole range: the shortcut must give what
    the country table gives for every address, in ranges of one country and of several."""
    import random
    from bisect import bisect_right

    data = embedded.shared()
    rng = random.Random(22)
    checked = 0
    for table, countries, bits in ((data.v4, data.countries_v4, 32), (data.v6, data.countries_v6, 128)):
        for _ in range(5000):
            i = rng.randrange(len(table.starts) - 1)
            value = table.starts[i] + rng.randrange(table.starts[i + 1] - table.starts[i])
            text = network(value, value, value, bits).split("/")[0]
            expected = countries.asns[bisect_right(countries.starts, value) - 1]
            answer = data.answer(text)
            assert answer is not None
            assert answer.get("country") == data.codes.get(expected), text
            checked += 1
    assert checked == 10_000
