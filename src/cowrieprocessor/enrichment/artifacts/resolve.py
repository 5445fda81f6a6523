"""Resolve a payload host's name (A and AAAA) once, through the guard: the answer and when it was given.

Names change hands; each answer is recorded with its time (``payload_hosts.resolution``,
``payload_host_addresses``) and the addresses go through the IP tiers. A name that does not exist
(NXDOMAIN) or has no address is an answer too (``not_found``); timeouts and server failures are errors,
asked again later. Calls are on the ledger as source ``dns`` (the name is the key).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.rcode
import dns.resolver

from cowrieprocessor.enrichment.cymru import make_resolver
from cowrieprocessor.enrichment.guard import Attempt, Guard
from cowrieprocessor.enrichment.ledger import Ledger, Outcome
from cowrieprocessor.enrichment.ratelimit import SYSTEM_CLOCK, Clock
from cowrieprocessor.enrichment.settings import SourceSettings
from cowrieprocessor.storage.types import canonical_ip

NAME = "dns"


@dataclass(frozen=True)
class Resolution:
    host: str
    outcome: Outcome
    resolved_at: dt.datetime
    addresses: list[str] = field(default_factory=list)
    rcode: str | None = None
    ttl: int | None = None
    error: str | None = None
    #: the URL named an address: no DNS was asked, the address is the answer
    literal: bool = False

    def as_json(self, server: str | None) -> dict[str, Any]:
        return {
            "addresses": self.addresses,
            "rcode": self.rcode,
            "ttl": self.ttl,
            "server": server,
            "status": self.outcome.value,
            "error": self.error,
        }


class HostResolver:
    def __init__(
        self, section: SourceSettings, ledger: Ledger, *, server: str | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.server = server
        self.clock = clock
        self.guard = Guard.for_source(NAME, section, ledger, clock)
        self.resolver = make_resolver(server, section.timeout_seconds)

    def _query(self, host: str) -> Attempt[tuple[list[str], str, int | None]]:
        addresses: list[str] = []
        ttls: list[int] = []
        rcode = "NOERROR"
        for rdtype in ("A", "AAAA"):
            try:
                answer = self.resolver.resolve(host, rdtype, raise_on_no_answer=False, search=False)
            except dns.resolver.NXDOMAIN:
                return Attempt(Outcome.NOT_FOUND, ([], "NXDOMAIN", None))
            except dns.resolver.NoNameservers as exc:
                return Attempt(Outcome.ERROR, error_class=exc.__class__.__name__, retryable=True)
            except dns.exception.Timeout as exc:
                return Attempt(Outcome.ERROR, error_class=exc.__class__.__name__, retryable=True)
            except dns.exception.DNSException as exc:
                return Attempt(Outcome.ERROR, error_class=exc.__class__.__name__)
            if answer.rrset is not None:
                ttls.append(answer.rrset.ttl)
                addresses.extend(canonical_ip(r.address) for r in answer.rrset)
            rcode = dns.rcode.to_text(answer.response.rcode())
        unique = list(dict.fromkeys(addresses))
        return Attempt(Outcome.FOUND if unique else Outcome.NOT_FOUND, (unique, rcode, min(ttls) if ttls else None))

    def resolve(self, host: str) -> Resolution:
        at = self.clock.now()
        call = self.guard.call(host, lambda: self._query(host))
        if call.outcome in (Outcome.FOUND, Outcome.NOT_FOUND) and call.value is not None:
            addresses, rcode, ttl = call.value
            return Resolution(host, call.outcome, at, addresses, rcode, ttl)
        return Resolution(host, call.outcome, at, error=call.error)

    def close(self) -> None:
        self.guard.close()
