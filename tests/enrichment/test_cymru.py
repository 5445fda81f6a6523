"""Team Cymru against a local DNS server (dnslib) and a local bulk-whois TCP server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from cowrieprocessor.enrichment.base import LookupStatus
from cowrieprocessor.enrichment.cymru import CymruSource, origin_name, parse_bulk
from cowrieprocessor.enrichment.ledger import MemoryLedger, Outcome
from cowrieprocessor.enrichment.settings import SourceSettings
from tests.enrichment.conftest import FakeClock, FakeDNS, FakeWhois

V4 = "216.90.108.31"  # not a palindrome: its reversed name differs from the name as written
V4_NAME = "31.108.90.216.origin.asn.cymru.com"
V6 = "2001:4860:4860::8844"
V6_NAME = "4.4.8.8." + "0." * 16 + "0.6.8.4.0.6.8.4.1.0.0.2.origin6.asn.cymru.com"
MULTI = "185.220.101.47"

ZONE = {
    V4_NAME: ["3561 | 216.88.0.0/14 | US | arin | 1998-09-25"],
    # The trap: the *unreversed* name exists too and answers for another address.
    "216.90.108.31.origin.asn.cymru.com": ["9999 | 31.108.0.0/16 | IT | ripencc | 2001-01-01"],
    V6_NAME: ["15169 | 2001:4860::/32 | US | arin | 2005-03-14"],
    "47.101.220.185.origin.asn.cymru.com": [
        "60729 | 185.220.101.0/24 | DE | ripencc | 2011-01-20",
        "208294 | 185.220.101.0/24 | DE | ripencc | 2011-01-20",
        "60729 | 185.220.100.0/22 | DE | ripencc | 2011-01-20",
    ],
    "9.8.7.91.origin.asn.cymru.com": ["64500 64501 | 91.7.8.0/24 | DE | ripencc | 2003-03-03"],
    "AS3561.asn.cymru.com": ["3561 | US | arin | 1998-09-25 | CENTURYLINK-LEGACY-SAVVIS, US"],
    "AS15169.asn.cymru.com": ["15169 | US | arin | 2000-03-30 | GOOGLE, US"],
    "AS60729.asn.cymru.com": ["60729 | DE | ripencc | 2013-01-18 | ZWIEBELFREUNDE, DE"],
}


@pytest.fixture
def dns_server() -> Iterator[FakeDNS]:
    server = FakeDNS(ZONE)
    yield server
    server.close()


def _source(ledger: MemoryLedger, clock: FakeClock, **extra: object) -> CymruSource:
    values: dict[str, object] = {"rate_per_second": 1000.0, "timeout_seconds": 2.0, "max_attempts": 1}
    values.update(extra)
    return CymruSource(SourceSettings(**values), ledger, clock=clock)  # type: ignore[arg-type]


def test_names_are_reversed() -> None:
    assert origin_name(V4) == V4_NAME
    assert origin_name(V6) == V6_NAME
    assert origin_name("2001:4860:4860:0:0:0:0:8844") == V6_NAME


def test_dns_ipv4_uses_reversed_octets_and_fetches_the_as_name(
    dns_server: FakeDNS, clock: FakeClock, ledger: MemoryLedger
) -> None:
    answer = _source(ledger, clock, dns_server=dns_server.address).lookup_many([V4])[V4]
    assert answer.status is LookupStatus.FOUND
    assert answer.data == {
        "asn": 3561,
        "asns": [3561],
        "prefix": "216.88.0.0/14",
        "country": "US",
        "registry": "arin",
        "allocated": "1998-09-25",
        "as_name": "CENTURYLINK-LEGACY-SAVVIS, US",
    }
    assert [name for name, _type in dns_server.resolver.questions[:2]] == [V4_NAME.lower(), "as3561.asn.cymru.com"]
    assert [c.lookup_key for c in ledger.calls] == [V4, "AS3561"]


def test_dns_ipv6_uses_reversed_nibbles(dns_server: FakeDNS, clock: FakeClock, ledger: MemoryLedger) -> None:
    answer = _source(ledger, clock, dns_server=dns_server.address).lookup_many([V6])[V6]
    assert answer.data is not None
    assert (answer.data["asn"], answer.data["prefix"], answer.data["as_name"]) == (
        15169,
        "2001:4860::/32",
        "GOOGLE, US",
    )


def test_dns_multiple_origins_most_specific_prefix_wins(
    dns_server: FakeDNS, clock: FakeClock, ledger: MemoryLedger
) -> None:
    source = _source(ledger, clock, dns_server=dns_server.address)
    data = source.lookup_many([MULTI])[MULTI].data
    assert data is not None and data["asns"] == [60729, 208294] and data["prefix"] == "185.220.101.0/24"
    data = source.lookup_many(["91.7.8.9"])["91.7.8.9"].data
    assert data is not None and data["asns"] == [64500, 64501] and data["asn"] == 64500
    assert "as_name" not in data  # AS64500 has no name record: the field is omitted, not empty


def test_dns_nxdomain_is_not_found(dns_server: FakeDNS, clock: FakeClock, ledger: MemoryLedger) -> None:
    answer = _source(ledger, clock, dns_server=dns_server.address).lookup_many(["41.79.3.2"])["41.79.3.2"]
    assert answer.status is LookupStatus.NOT_FOUND and answer.data is None
    assert ledger.calls[0].outcome is Outcome.NOT_FOUND


def test_dns_timeout_is_an_error(clock: FakeClock, ledger: MemoryLedger) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        answer = _source(ledger, clock, dns_server=address, timeout_seconds=0.2).lookup_many([V4])[V4]
    finally:
        silent.close()
    assert answer.status is LookupStatus.ERROR
    assert ledger.calls[0].outcome is Outcome.ERROR and ledger.calls[0].error_class


WHOIS_TABLE = {
    V4: [
        "3561    | 216.90.108.31    | 216.88.0.0/14       | US | arin     | 1998-09-25 | CENTURYLINK-LEGACY-SAVVIS, US"
    ],
    MULTI: [
        "60729   | 185.220.101.47   | 185.220.101.0/24    | DE | ripencc  | 2011-01-20 | ZWIEBELFREUNDE, DE",
        "208294  | 185.220.101.47   | 185.220.101.0/24    | DE | ripencc  | 2011-01-20 | CIA-TRIAD-SECURITY, US",
    ],
    V6: ["15169   | 2001:4860:4860::8844 | 2001:4860::/32 | US | arin     | 2005-03-14 | GOOGLE, US"],
    "41.79.3.2": ["NA      | 41.79.3.2        | NA                  |    | other    |            | NA"],
}


def _whois_reply(ips: list[str]) -> str:
    lines: list[str] = []
    for number, ip in enumerate(ips, start=3):
        if ip in WHOIS_TABLE:
            lines += WHOIS_TABLE[ip]
        elif ip.startswith("23."):
            lines.append(f"64496   | {ip:<16} | 23.0.0.0/12         | US | arin     | 2010-01-01 | EXAMPLE-NET, US")
        else:
            lines.append(f"Error: no ASN or IP match on line {number}.")
    return "\n".join(lines) + "\n"


@pytest.fixture
def whois() -> Iterator[FakeWhois]:
    server = FakeWhois(_whois_reply)
    yield server
    server.close()


def test_bulk_whois_parses_origins_na_and_errors(whois: FakeWhois, clock: FakeClock, ledger: MemoryLedger) -> None:
    ips = [V4, MULTI, V6, "41.79.3.2", "97.1.2.3"]
    answers = _source(ledger, clock, whois_server=whois.address).lookup_many(ips)
    assert whois.queries == [ips]
    v4 = answers[V4].data
    assert v4 is not None and v4["asn"] == 3561 and v4["as_name"] == "CENTURYLINK-LEGACY-SAVVIS, US"
    multi = answers[MULTI].data
    assert multi is not None and multi["asns"] == [60729, 208294]
    v6 = answers[V6].data
    assert v6 is not None and v6["prefix"] == "2001:4860::/32"
    assert answers["41.79.3.2"].status is LookupStatus.NOT_FOUND
    assert answers["97.1.2.3"].status is LookupStatus.ERROR  # an Error: line; retried later
    assert len(ledger.calls) == 1 and ledger.calls[0].batch_size == 5


def test_bulk_whois_one_connection_per_batch_of_500(whois: FakeWhois, clock: FakeClock, ledger: MemoryLedger) -> None:
    ips = [f"23.{i // 250}.{i % 250}.7" for i in range(1200)]
    answers = _source(ledger, clock, whois_server=whois.address).lookup_many(ips)
    assert [len(q) for q in whois.queries] == [500, 500, 200]
    assert all(a.status is LookupStatus.FOUND for a in answers.values()) and len(answers) == 1200
    assert [c.batch_size for c in ledger.calls] == [500, 500, 200]


def test_bulk_whois_batch_size_is_configurable(whois: FakeWhois, clock: FakeClock, ledger: MemoryLedger) -> None:
    ips = [f"23.1.{i}.9" for i in range(10)]
    _source(ledger, clock, whois_server=whois.address, batch_size=4).lookup_many(ips)
    assert [len(q) for q in whois.queries] == [4, 4, 2]


def test_bulk_whois_timeout_and_refused_are_errors(whois: FakeWhois, clock: FakeClock, ledger: MemoryLedger) -> None:
    whois.delay = 0.5
    answers = _source(ledger, clock, whois_server=whois.address, timeout_seconds=0.1).lookup_many([V4, MULTI])
    assert {a.status for a in answers.values()} == {LookupStatus.ERROR}
    assert ledger.calls[0].error_class in {"TimeoutError", "timeout"}
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    answers = _source(ledger, clock, whois_server=f"127.0.0.1:{port}").lookup_many([V4, MULTI])
    assert {a.status for a in answers.values()} == {LookupStatus.ERROR}
    assert ledger.calls[-1].error_class == "ConnectionRefusedError"


def test_parse_bulk_header_and_padding() -> None:
    answers, errors = parse_bulk(
        "Bulk mode; whois.cymru.com [2024-05-02 12:00:00 +0000]\n"
        "AS      | IP               | BGP Prefix          | CC | Registry | Allocated  | AS Name\n"
        "23028   | 68.22.187.0      | 68.22.187.0/24      | US | arin     | 2002-03-15 | "
        "TEAM-CYMRU - Team Cymru Inc., US\n"
        "Error: no ASN or IP match on line 4.\n"
    )
    assert list(answers) == ["68.22.187.0"] and errors == ["Error: no ASN or IP match on line 4."]
    origin = answers["68.22.187.0"].origins[0]
    assert origin.asns == [23028] and origin.as_name == "TEAM-CYMRU - Team Cymru Inc., US"


def test_country_codes_come_out_upper_case() -> None:
    from cowrieprocessor.enrichment.cymru import Answer, parse_origin_txt, to_data

    origin = parse_origin_txt("3561 | 216.88.0.0/14 | us | arin | 1998-09-25")
    assert origin is not None
    data = to_data(Answer(origins=[origin]))
    assert data is not None and data["country"] == "US"
