"""Bogon / special-purpose classification from a pinned prefix list (the cascade's gate).

Python's ``ipaddress`` flags change between patch releases (``2002::/16``, parts of ``2001::/23``) and call
``224.0.0.1`` global, so the answer is taken from the table below instead: the IANA IPv4 and IPv6
Special-Purpose Address Registries (RFC 6890 and updates, as of 2025), plus shared address space,
multicast, 240/4 and the documentation ranges. The most specific matching prefix decides. Entries whose
registry row says "globally reachable" are listed with ``bogon=False`` so that their reason is still shown
(Teredo, 6to4, AS112 anycast...). IPv6 outside ``2000::/3`` is not allocated for unicast: reserved.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, result, utcnow

NAME = "validation"
#: Bump when the table changes: stored as the provenance version.
TABLE_VERSION = "iana-special-purpose-2025-01"

# (prefix, reason, bogon)
_PINNED: tuple[tuple[str, str, bool], ...] = (
    # IPv4
    ("0.0.0.0/8", "this-network", True),
    ("10.0.0.0/8", "private", True),
    ("100.64.0.0/10", "shared-address-space", True),  # RFC 6598, carrier-grade NAT
    ("127.0.0.0/8", "loopback", True),
    ("169.254.0.0/16", "link-local", True),
    ("172.16.0.0/12", "private", True),
    ("192.0.0.0/24", "ietf-protocol-assignments", True),
    ("192.0.0.9/32", "pcp-anycast", False),
    ("192.0.0.10/32", "turn-anycast", False),
    ("192.0.2.0/24", "documentation", True),
    ("192.31.196.0/24", "as112", False),
    ("192.52.193.0/24", "amt", False),
    ("192.88.99.0/24", "deprecated-6to4-relay", True),
    ("192.168.0.0/16", "private", True),
    ("192.175.48.0/24", "as112", False),
    ("198.18.0.0/15", "benchmarking", True),
    ("198.51.100.0/24", "documentation", True),
    ("203.0.113.0/24", "documentation", True),
    ("224.0.0.0/4", "multicast", True),
    ("240.0.0.0/4", "reserved", True),
    ("255.255.255.255/32", "limited-broadcast", True),
    # IPv6
    ("::/3", "reserved", True),  # outside 2000::/3: not allocated for global unicast
    ("4000::/2", "reserved", True),
    ("8000::/1", "reserved", True),
    ("::/128", "unspecified", True),
    ("::1/128", "loopback", True),
    ("::ffff:0:0/96", "ipv4-mapped", True),
    ("64:ff9b::/96", "nat64", False),
    ("64:ff9b:1::/48", "local-nat64", True),
    ("100::/64", "discard-only", True),
    ("100:0:0:1::/64", "dummy-prefix", True),
    ("2001::/23", "ietf-protocol-assignments", True),
    ("2001::/32", "teredo", False),
    ("2001:1::1/128", "pcp-anycast", False),
    ("2001:1::2/128", "turn-anycast", False),
    ("2001:1::3/128", "dns-sd-srp-anycast", False),
    ("2001:2::/48", "benchmarking", True),
    ("2001:3::/32", "amt", False),
    ("2001:4:112::/48", "as112", False),
    ("2001:10::/28", "deprecated-orchid", True),
    ("2001:20::/28", "orchid-v2", False),
    ("2001:30::/28", "drone-remote-id", False),
    ("2001:db8::/32", "documentation", True),
    ("2002::/16", "6to4", False),
    ("2620:4f:8000::/48", "as112", False),
    ("3fff::/20", "documentation", True),
    ("5f00::/16", "segment-routing", True),
    ("fc00::/7", "unique-local", True),
    ("fe80::/10", "link-local", True),
    ("ff00::/8", "multicast", True),
)


@dataclass(frozen=True)
class Classification:
    is_bogon: bool
    reason: str | None
    network: str | None

    def as_data(self) -> dict[str, object]:
        return {"is_bogon": self.is_bogon, "reason": self.reason, "network": self.network}


def _compile() -> dict[int, list[tuple[int, int, int, str, bool, str]]]:
    table: dict[int, list[tuple[int, int, int, str, bool, str]]] = {4: [], 6: []}
    for prefix, reason, bogon in _PINNED:
        net = ipaddress.ip_network(prefix)
        first, last = int(net.network_address), int(net.broadcast_address)
        # The pinned spelling, not str(net): its rendering of IPv4-mapped prefixes differs between versions.
        table[net.version].append((net.prefixlen, first, last, reason, bogon, prefix))
    for entries in table.values():
        entries.sort(key=lambda e: -e[0])  # most specific first: the first match wins
    return table


_TABLE = _compile()


def ipv4_value(text: str) -> int | None:
    """The integer of a plain dotted-quad IPv4 address, or ``None`` for anything else (IPv6, garbage).

    The hot path's shortcut around ``ipaddress``: it accepts exactly the spellings ``ipaddress`` accepts
    (four ASCII decimal octets, no leading zeros); anything it declines goes through ``ipaddress``."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not (0 < len(part) <= 3 and part.isascii() and part.isdigit()) or (part[0] == "0" and len(part) > 1):
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = value << 8 | octet
    return value


_UNSPECIAL = Classification(is_bogon=False, reason=None, network=None)


def classify(ip: str) -> Classification:
    """Classify one address; raises ``ValueError`` for something that is not an IP address."""
    text = ip.strip()
    value = ipv4_value(text)
    if value is not None:
        version = 4
    else:
        addr = ipaddress.ip_address(text)
        value, version = int(addr), addr.version
    for _plen, first, last, reason, bogon, network in _TABLE[version]:
        if first <= value <= last:
            return Classification(is_bogon=bogon, reason=reason, network=network)
    return _UNSPECIAL


class ValidationSource:
    """Always on, local: every IP gets a ``validation`` answer; invalid strings get an error."""

    name = NAME
    online = False

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
        now = utcnow()
        out: dict[str, LookupResult] = {}
        for ip in ips:
            try:
                found = classify(ip)
            except ValueError:
                out[ip] = result(
                    NAME,
                    ip,
                    LookupStatus.ERROR,
                    version=TABLE_VERSION,
                    fetched_at=now,
                    error="not an IP address",
                )
                continue
            out[ip] = result(NAME, ip, LookupStatus.FOUND, found.as_data(), version=TABLE_VERSION, fetched_at=now)
        return out

    def close(self) -> None:
        return None
