"""Hostile providers (#15): a 429 never stalls a run, an answer never bloats one, a slow drip never holds one.

Every server here listens on 127.0.0.1 and speaks the provider's wire format (HTTP/1.1 JSON, Cymru bulk
whois on TCP); the hostile part is only in what it sends and how slowly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cowrieprocessor.enrichment.base import LookupStatus
from cowrieprocessor.enrichment.cymru import CymruSource
from cowrieprocessor.enrichment.dshield import DShieldSource
from cowrieprocessor.enrichment.fields import MAX_ITEMS, MAX_TEXT
from cowrieprocessor.enrichment.greynoise import GreyNoiseSource
from cowrieprocessor.enrichment.ledger import MemoryLedger, Outcome
from cowrieprocessor.enrichment.settings import SourceSettings
from cowrieprocessor.enrichment.spur import SpurSource
from tests.enrichment.conftest import FakeAPI, FakeClock, FakeWhois, RawHTTP, Reply
from tests.enrichment.test_http_sources import DSHIELD, GREYNOISE_FOUND, KEY, SPUR

IPS = [f"45.83.66.{i}" for i in range(10, 21)]  # 11 IPs, as in the report


def _section(url: str, **extra: object) -> SourceSettings:
    values: dict[str, object] = {"base_url": url, "rate_per_second": 1000.0, "timeout_seconds": 2.0}
    values.update(extra)
    return SourceSettings(**values)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ 429 ---


@pytest.mark.parametrize("retry_after", ["86400", "Thu, 01 Jan 2099 00:00:00 GMT"])
def test_long_retry_after_pauses_only_that_source_and_the_run_finishes(
    api: FakeAPI, clock: FakeClock, ledger: MemoryLedger, retry_after: str
) -> None:
    api.on("/v3/community/", Reply(429, {"message": "rate limit"}, {"Retry-After": retry_after}))
    api.on("/v2/context/", Reply(200, SPUR))
    greynoise = GreyNoiseSource(_section(api.url, daily_budget=100), ledger, key=KEY, clock=clock)
    spur = SpurSource(_section(api.url), ledger, key=KEY, clock=clock)
    answers = greynoise.lookup_many(IPS)
    spurs = spur.lookup_many(IPS)
    # one request, one budget unit; nobody slept on the provider's day; every IP got an answer
    assert sum(1 for r in api.requests if r.path.startswith("/v3/")) == 1
    assert sum(clock.sleeps) < 60.0
    assert answers[IPS[0]].status is LookupStatus.ERROR and "rate limited" in (answers[IPS[0]].error or "")
    assert all(answers[ip].status is LookupStatus.SKIPPED and "paused" in (answers[ip].error or "") for ip in IPS[1:])
    assert greynoise.guard.budget.remaining() == 99
    # the other source is not paused
    assert all(a.status is LookupStatus.FOUND for a in spurs.values())


def test_repeated_429_without_retry_after_counts_towards_the_breaker(
    api: FakeAPI, clock: FakeClock, ledger: MemoryLedger
) -> None:
    api.on("/v3/community/", Reply(429, {"message": "rate limit"}))
    source = GreyNoiseSource(_section(api.url, breaker_failures=5), ledger, key=KEY, clock=clock)
    answers = source.lookup_many(IPS)
    made = [c for c in ledger.calls if c.outcome is Outcome.RATE_LIMITED]
    assert len(made) == len(api.requests) == 5 * 3  # 5 calls of 3 attempts, then the breaker is open
    assert {answers[ip].status for ip in IPS[5:]} == {LookupStatus.SKIPPED}


# ------------------------------------------------------------------------------ size and fields ---


@pytest.fixture
def raw_http() -> Iterator[Callable[[Callable[[Any], None]], RawHTTP]]:
    servers: list[RawHTTP] = []

    def make(respond: Callable[[Any], None]) -> RawHTTP:
        servers.append(RawHTTP(lambda _path, wfile: respond(wfile)))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def _endless_json(wfile: Any) -> None:
    """200 OK, no Content-Length, a JSON object whose unknown field never ends (up to 200 MB)."""
    wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    wfile.write(b'{"ip": "45.83.66.10", "noise": true, "riot": false, "junk": "')
    block = b"A" * (1 << 20)
    for _ in range(200):
        wfile.write(block)
    wfile.write(b'"}')


def test_an_endless_body_is_refused_past_the_limit_not_buffered(
    raw_http: Callable[[Callable[[Any], None]], RawHTTP], clock: FakeClock, ledger: MemoryLedger
) -> None:
    server = raw_http(_endless_json)
    source = GreyNoiseSource(_section(server.url, max_attempts=1), ledger, key=KEY, clock=clock)
    started = time.monotonic()
    answer = source.lookup_many([IPS[0]])[IPS[0]]
    assert answer.status is LookupStatus.ERROR and answer.data is None
    assert ledger.calls[0].error_class == "ResponseTooLarge"
    assert time.monotonic() - started < 5.0


def test_a_declared_huge_body_is_refused_before_it_is_read(
    raw_http: Callable[[Callable[[Any], None]], RawHTTP], clock: FakeClock, ledger: MemoryLedger
) -> None:
    def declared(wfile: Any) -> None:
        wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 209715200\r\n\r\n{")

    server = raw_http(declared)
    source = GreyNoiseSource(_section(server.url, max_attempts=1), ledger, key=KEY, clock=clock)
    answer = source.lookup_many([IPS[0]])[IPS[0]]
    assert answer.status is LookupStatus.ERROR and ledger.calls[0].error_class == "ResponseTooLarge"


def test_only_documented_fields_are_kept_with_bounded_sizes(
    api: FakeAPI, clock: FakeClock, ledger: MemoryLedger
) -> None:
    bloated = {**GREYNOISE_FOUND, "name": "N" * 20_000, "junk": "J" * 500_000, "nested": {"a": [1] * 10_000}}
    api.on("/v3/community/", Reply(200, bloated))
    spur = {**SPUR, "risks": ["R"] * 5_000, "surprise": {"x": "y" * 100_000}}
    api.on("/v2/context/", Reply(200, spur))
    dshield = {"ip": {**DSHIELD["ip"], "threatfeeds": {f"feed{i}": {"firstseen": "x"} for i in range(1000)}}}
    api.on("/api/ip/", Reply(200, dshield))
    grey = GreyNoiseSource(_section(api.url), ledger, key=KEY, clock=clock).lookup_many([IPS[0]])[IPS[0]]
    assert grey.data is not None and set(grey.data) <= set(GREYNOISE_FOUND) and len(grey.data["name"]) == MAX_TEXT
    assert grey.data["noise"] is True and grey.data["classification"] == "malicious"
    sp = SpurSource(_section(api.url), ledger, key=KEY, clock=clock).lookup_many([IPS[0]])[IPS[0]]
    assert sp.data is not None and "surprise" not in sp.data and len(sp.data["risks"]) == MAX_ITEMS
    assert sp.data["client"] == SPUR["client"] and sp.data["tunnels"] == SPUR["tunnels"]
    ds = DShieldSource(_section(api.url), ledger, key="soc@example.org", clock=clock).lookup_many([IPS[0]])[IPS[0]]
    assert ds.data is not None and len(ds.data["ip"]["threatfeeds"]) == MAX_ITEMS
    assert ds.data["ip"]["asname"] == "ALPHASTRIKE-RESEARCH"
    for answer in (grey, sp, ds):
        assert len(json.dumps(answer.data)) < 64_000


def test_a_malformed_body_is_named_once(api: FakeAPI, clock: FakeClock, ledger: MemoryLedger) -> None:
    api.on("/v3/community/", Reply(200, "[" * 100_000 + "]" * 100_000))
    api.on("/v2/context/", Reply(200, {"no": "ip"}))
    GreyNoiseSource(_section(api.url), ledger, key=KEY, clock=clock).lookup_many([IPS[0]])
    SpurSource(_section(api.url), ledger, key=KEY, clock=clock).lookup_many([IPS[0]])
    assert [c.error_class for c in ledger.calls] == ["MalformedResponse", "MalformedResponse"]


# ------------------------------------------------------------------------------------ slow drip ---


def _drip(headers_first: bool) -> Callable[[Any], None]:
    body = json.dumps(GREYNOISE_FOUND).encode()

    def respond(wfile: Any) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        if headers_first:
            wfile.write(head)
            wfile.flush()
            data = body
        else:
            data = head + body
        for byte in data:  # one byte every 0.2 s: each read is quick, the whole takes a minute
            wfile.write(bytes([byte]))
            wfile.flush()
            time.sleep(0.2)

    return respond


@pytest.mark.parametrize("headers_first", [True, False], ids=["body-drip", "header-drip"])
def test_slow_drip_http_is_bounded_in_total(
    raw_http: Callable[[Callable[[Any], None]], RawHTTP], clock: FakeClock, ledger: MemoryLedger, headers_first: bool
) -> None:
    server = raw_http(_drip(headers_first))
    section = _section(server.url, timeout_seconds=1.0, total_timeout_seconds=1.5, max_attempts=1)
    source = GreyNoiseSource(section, ledger, key=KEY, clock=clock)
    started = time.monotonic()
    answer = source.lookup_many([IPS[0]])[IPS[0]]
    assert time.monotonic() - started < 4.0
    assert answer.status is LookupStatus.ERROR and ledger.calls[0].error_class == "TotalTimeout"


# ---------------------------------------------------------------------------------------- whois ---


@pytest.fixture
def raw_whois() -> Iterator[Callable[[Callable[[list[str], Any], None]], FakeWhois]]:
    servers: list[FakeWhois] = []

    def make(respond: Callable[[list[str], Any], None]) -> FakeWhois:
        servers.append(FakeWhois(lambda _ips: "", stream=respond))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def _cymru(ledger: MemoryLedger, clock: FakeClock, address: str, **extra: object) -> CymruSource:
    values: dict[str, object] = {"whois_server": address, "rate_per_second": 1000.0, "timeout_seconds": 1.0}
    values.update(extra)
    return CymruSource(SourceSettings(**values), ledger, clock=clock)  # type: ignore[arg-type]


def test_whois_slow_drip_is_bounded_in_total(
    raw_whois: Callable[[Callable[[list[str], Any], None]], FakeWhois], clock: FakeClock, ledger: MemoryLedger
) -> None:
    def drip(ips: list[str], wfile: Any) -> None:
        for ip in ips:
            for byte in f"3561 | {ip} | 216.88.0.0/14 | US | arin | 1998-09-25 | SAVVIS, US\n".encode():
                wfile.write(bytes([byte]))
                wfile.flush()
                time.sleep(0.2)

    server = raw_whois(drip)
    source = _cymru(ledger, clock, server.address, total_timeout_seconds=1.5, max_attempts=1)
    started = time.monotonic()
    answers = source.lookup_many(["216.90.108.31", "216.90.108.32"])
    assert time.monotonic() - started < 4.0
    assert {a.status for a in answers.values()} == {LookupStatus.ERROR}
    assert ledger.calls[0].error_class == "TotalTimeout"


def test_whois_huge_reply_is_refused_past_the_limit(
    raw_whois: Callable[[Callable[[list[str], Any], None]], FakeWhois], clock: FakeClock, ledger: MemoryLedger
) -> None:
    def huge(ips: list[str], wfile: Any) -> None:
        line = f"3561 | {ips[0]} | 216.88.0.0/14 | US | arin | 1998-09-25 | {'X' * 4000}\n".encode()
        for _ in range(300 * 256):  # ~300 MB
            wfile.write(line)

    server = raw_whois(huge)
    source = _cymru(ledger, clock, server.address, max_response_bytes=4 << 20, max_attempts=1)
    answers = source.lookup_many(["216.90.108.31", "216.90.108.32"])
    assert {a.status for a in answers.values()} == {LookupStatus.ERROR}
    assert ledger.calls[0].error_class == "ResponseTooLarge"


GARBAGE = {
    "1.1.1.1": "13335 | 1.1.1.1 | \x1b[2J | US | arin | 2010-07-14 | CLOUDFLARENET, US",
    "1.1.1.2": "0 | 1.1.1.2 | 1.1.1.0/24 | US | arin | 2010-07-14 | ZERO",
    "1.1.1.3": "99999999999 | 1.1.1.3 | 1.1.1.0/24 | US | arin | 2010-07-14 | TOO-BIG",
    "1.1.1.4": "13335 | 1.1.1.4 | 1.1.1.0/24 | USA-EVIL | arin | 2010-07-14 | BAD-COUNTRY",
    "1.1.1.5": "13335 | 1.1.1.5 | 9.9.9.0/24 | US | arin | 2010-07-14 | OTHER-PREFIX",
    "1.1.1.6": "13335 | 1.1.1.6 | 1.1.1.0/24 | US | arin | 2010-07-14 | \x1b]0;owned\x07NAME",
    "1.1.1.7": "1\u00b3 | 1.1.1.7 | 1.1.1.0/24 | US | arin | 2010-07-14 | SUPERSCRIPT",
    "1.1.1.8": "13335 | 1.1.1.8 | 1.1.1.0/24 | US | arin | yesterday | BAD-DATE",
}


def test_garbage_whois_answers_are_malformed_not_found(
    raw_whois: Callable[[Callable[[list[str], Any], None]], FakeWhois], clock: FakeClock, ledger: MemoryLedger
) -> None:
    good = "1.0.0.9"

    def reply(ips: list[str], wfile: Any) -> None:
        lines = [
            GARBAGE.get(ip, f"13335 | {ip} | 1.0.0.0/24 | AU | apnic | 2011-08-11 | CLOUDFLARENET, US") for ip in ips
        ]
        wfile.write(("\n".join(lines) + "\n").encode())

    server = raw_whois(reply)
    answers = _cymru(ledger, clock, server.address).lookup_many([*GARBAGE, good])
    for ip in GARBAGE:
        assert answers[ip].status is LookupStatus.ERROR, ip
        assert (answers[ip].error or "").startswith("malformed answer"), ip
    assert answers[good].status is LookupStatus.FOUND and answers[good].data is not None
    assert answers[good].data["asn"] == 13335


def test_garbage_dns_answer_is_malformed(clock: FakeClock, ledger: MemoryLedger) -> None:
    from tests.enrichment.conftest import FakeDNS

    dns = FakeDNS({"5.1.1.1.origin.asn.cymru.com": ["0 | \x1b[2J | US | arin | 2010-07-14"]})
    try:
        source = _cymru(ledger, clock, "127.0.0.1:1", dns_server=dns.address)
        answer = source.lookup_many(["1.1.1.5"])["1.1.1.5"]
    finally:
        dns.close()
    assert answer.status is LookupStatus.ERROR and (answer.error or "").startswith("malformed answer")


def test_ingest_with_a_day_long_retry_after_finishes_and_says_so(api: FakeAPI, tmp_path: Path) -> None:
    """End to end: ``ingest`` (and the enrichment after it) against a GreyNoise that says "come back tomorrow"."""
    from tests.ingestion.builders import Session, lines, write

    api.on("/v3/community/", Reply(429, {"message": "rate limit"}, {"Retry-After": "86400"}))
    events = []
    for n, ip in enumerate(IPS):
        events += Session(f"{n:012x}", src_ip=ip, start=n * 10.0).connect().close().events
    log = write(tmp_path / "cowrie.json", lines(events))
    env = {
        **os.environ,
        "GREYNOISE_API_KEY": KEY,
        "COWRIEPROCESSOR_PROVIDERS__GREYNOISE__BASE_URL": api.url,
        "COWRIEPROCESSOR_PROVIDERS__GREYNOISE__RATE_PER_SECOND": "1000",
    }
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    run = subprocess.run(
        [sys.executable, "-m", "cowrieprocessor.cli.main", "--db", db, "ingest", str(log), "--format", "json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["events_new"] == len(events)
    assert data["enrichment"]["outcomes"]["greynoise"] == {"error": 1, "skipped": len(IPS) - 1}
    assert len(api.requests) == 1
