"""Attacker source addresses: routed space only, realistic reuse (a heavy tail of busy IPs), ~3% IPv6.

Reuse follows a Yule-Simon process: a session comes from a new address with probability ``1/target``,
otherwise from an earlier session's address (so busy addresses get busier: heavy tail). Half of the reuse
draws look at recent sessions only, which keeps an address's sessions bunched in time like real bursts.

Every new address is in space some AS announces (the embedded AS table says which), as attackers' are:
addresses nobody routes cannot complete a TCP handshake. Half of the new IPv4 addresses come from the
networks that dominate real honeypot logs (:data:`ATTACKER_ASNS`: clouds, hosting, big Asian carriers),
the rest from a few hundred routed /24s and from routed ranges drawn at random, so that networks repeat too.
"""

from __future__ import annotations

import functools
import ipaddress
import random
from bisect import bisect_right

from cowrieprocessor.enrichment.embedded import shared

# Non-global IPv4 blocks (RFC 6890 and friends) as (first, last) integers, sorted by first.
_V4_RESERVED = sorted(
    (int(n.network_address), int(n.broadcast_address))
    for n in map(
        ipaddress.IPv4Network,
        (
            "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
            "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24",
            "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
            "224.0.0.0/3",
        ),
    )
)  # fmt: skip
_V4_STARTS = [first for first, _ in _V4_RESERVED]
#: ASes that source much of the SSH/telnet brute force seen by honeypots, with a weight each: DigitalOcean,
#: Tencent, Alibaba, Chinanet, China Unicom, Akamai/Linode, OVH, Hetzner, Vultr, Google Cloud, Amazon,
#: Microsoft, Contabo, Korea Telecom, VNPT, Telstra, BSNL, Viettel, Chunghwa, Claro, Turk Telekom...
ATTACKER_ASNS = {
    14061: 12, 45090: 8, 132203: 6, 37963: 6, 4134: 8, 4837: 5, 63949: 3, 16276: 3, 24940: 3, 20473: 3,
    396982: 4, 16509: 3, 8075: 2, 51167: 2, 4766: 3, 45899: 2, 1221: 1, 9829: 2, 7552: 2, 3462: 2,
    28573: 2, 9121: 2, 12389: 1, 36352: 1, 202425: 2, 211252: 1, 204428: 1, 135377: 2,
}  # fmt: skip


def is_public_v4(value: int) -> bool:
    i = bisect_right(_V4_STARTS, value) - 1
    return not (i >= 0 and _V4_RESERVED[i][0] <= value <= _V4_RESERVED[i][1])


def is_routed(value: int, bits: int = 32) -> bool:
    """Whether an AS announces the address (by the embedded AS table)."""
    table = shared().v4 if bits == 32 else shared().v6
    return table.asns[bisect_right(table.starts, value) - 1] != 0


@functools.cache
def _ranges(bits: int) -> dict[int, list[tuple[int, int]]]:
    """(first, size) of every routed range, by AS number, and all of them under key 0."""
    table = shared().v4 if bits == 32 else shared().v6
    starts = table.starts
    out: dict[int, list[tuple[int, int]]] = {0: []}
    for i, asn in enumerate(table.asns):
        if asn:
            item = (starts[i], starts[i + 1] - starts[i])
            out[0].append(item)
            out.setdefault(asn, []).append(item)
    return out


class AddressPool:
    """Hands out the source address of each new session."""

    def __init__(self, rng: random.Random, sessions_per_ip: float = 5.6, ipv6_share: float = 0.03) -> None:
        self.rng = rng
        self.new_probability = 1.0 / sessions_per_ip
        self.ipv6_share = ipv6_share
        self.history: list[str] = []  # one entry per session: the reuse draws pick from it
        self.seen: set[str] = set()
        self.v4_ranges = _ranges(32)
        self.v6_ranges = _ranges(128)[0]
        self.networks = [self._public_v4() & 0xFFFFFF00 for _ in range(300)]
        self.attacker_asns = list(ATTACKER_ASNS)
        self.attacker_weights = list(ATTACKER_ASNS.values())

    def _public_v4(self) -> int:
        """An address of a routed range drawn uniformly by range, not by address: by address, the few
        owners of whole /8s (the US DoD...) would send a large part of the traffic, which they do not."""
        while True:
            value = self._in(self.v4_ranges[0])
            if is_public_v4(value):
                return value

    def _in(self, ranges: list[tuple[int, int]]) -> int:
        first, size = self.rng.choice(ranges)
        return first + self.rng.randrange(size)

    def _new_address(self) -> str:
        rng = self.rng
        while True:
            if rng.random() < self.ipv6_share:
                value = self._in(self.v6_ranges)
                if not ipaddress.IPv6Address(value).is_global:
                    continue
                text = ipaddress.IPv6Address(value).compressed
            else:
                draw = rng.random()
                if draw < 0.5:
                    asn = rng.choices(self.attacker_asns, self.attacker_weights)[0]
                    value = self._in(self.v4_ranges[asn])
                elif draw < 0.8:
                    value = rng.choice(self.networks) | rng.getrandbits(8)
                else:
                    value = self._public_v4()
                if not (is_public_v4(value) and is_routed(value)):
                    continue
                if value & 0xFF in (0, 255):  # network/broadcast-looking hosts are rare sources
                    continue
                text = str(ipaddress.IPv4Address(value))
            if text not in self.seen:
                self.seen.add(text)
                return text

    def next_address(self) -> tuple[str, bool]:
        """The next session's source address and whether it is new."""
        rng = self.rng
        if not self.history or rng.random() < self.new_probability:
            address, new = self._new_address(), True
        else:
            n = len(self.history)
            index = n - 1 - rng.randrange(min(n, 400)) if rng.random() < 0.5 else rng.randrange(n)
            address, new = self.history[index], False
        self.history.append(address)
        return address, new

    @property
    def unique(self) -> int:
        return len(self.seen)
