"""Payload host names through a real DNS exchange with a local server: answers, NXDOMAIN, silence."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from cowrieprocessor.enrichment.artifacts.resolve import HostResolver
from cowrieprocessor.enrichment.ledger import MemoryLedger, Outcome
from cowrieprocessor.enrichment.settings import SourceSettings
from tests.enrichment.artifacts.conftest import AddressDNS
from tests.enrichment.conftest import FakeClock

SECTION = SourceSettings(enabled=True, rate_per_second=1000.0, timeout_seconds=0.5, max_attempts=1)


@pytest.fixture
def dns() -> Iterator[AddressDNS]:
    server = AddressDNS({"cdn.payload.example": ["192.0.2.10", "198.51.100.20", "2001:db8::1"]})
    yield server
    server.close()


def test_a_and_aaaa_answers_with_their_ttl(dns: AddressDNS, clock: FakeClock, ledger: MemoryLedger) -> None:
    resolver = HostResolver(SECTION, ledger, server=dns.address, clock=clock)
    answer = resolver.resolve("cdn.payload.example")
    resolver.close()
    assert answer.outcome is Outcome.FOUND
    assert answer.addresses == ["192.0.2.10", "198.51.100.20", "2001:db8::1"]
    assert (answer.rcode, answer.ttl) == ("NOERROR", 300)
    assert {q for q in dns.zone.questions} == {("cdn.payload.example", "A"), ("cdn.payload.example", "AAAA")}
    assert [(c.source, c.lookup_key, c.outcome) for c in ledger.calls] == [
        ("dns", "cdn.payload.example", Outcome.FOUND)
    ]


def test_nxdomain_is_an_answer(dns: AddressDNS, clock: FakeClock, ledger: MemoryLedger) -> None:
    resolver = HostResolver(SECTION, ledger, server=dns.address, clock=clock)
    answer = resolver.resolve("gone.example")
    resolver.close()
    assert (answer.outcome, answer.addresses, answer.rcode) == (Outcome.NOT_FOUND, [], "NXDOMAIN")


def test_a_silent_server_is_an_error_to_retry(clock: FakeClock, ledger: MemoryLedger) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # receives, never answers
    try:
        resolver = HostResolver(SECTION, ledger, server=f"127.0.0.1:{silent.getsockname()[1]}", clock=clock)
        answer = resolver.resolve("cdn.payload.example")
        resolver.close()
    finally:
        silent.close()
    assert answer.outcome is Outcome.ERROR and answer.addresses == []
    assert ledger.calls[0].outcome is Outcome.ERROR and ledger.calls[0].error_class in ("LifetimeTimeout", "Timeout")
