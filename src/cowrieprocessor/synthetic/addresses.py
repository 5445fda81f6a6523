"""Attacker source addresses: public space only, realistic reuse (a heavy tail of busy IPs), ~3% IPv6.

Reuse follows a Yule-Simon process: a session comes from a new address with probability ``1/target``,
otherwise from an earlier session's address (so busy addresses get busier: heavy tail). Half of the reuse
draws look at recent sessions only, which keeps an address's sessions bunched in time like real bursts.
New IPv4 addresses come mostly from a few hundred /16 "hosting networks" so that networks repeat too.
"""

from __future__ import annotations

import ipaddress
import random
from bisect import bisect_right

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
# First 16 bits of allocated, routed IPv6 blocks (RIPE, APNIC, ARIN, LACNIC); 2001::/16 and 2002::/16 avoided.
_V6_TOP = (*range(0x2400, 0x2410), *range(0x2600, 0x2610), *range(0x2A00, 0x2A10), 0x2800, 0x2801, 0x2803, 0x2C0F)


def is_public_v4(value: int) -> bool:
    i = bisect_right(_V4_STARTS, value) - 1
    return not (i >= 0 and _V4_RESERVED[i][0] <= value <= _V4_RESERVED[i][1])


class AddressPool:
    """Hands out the source address of each new session."""

    def __init__(self, rng: random.Random, sessions_per_ip: float = 5.6, ipv6_share: float = 0.03) -> None:
        self.rng = rng
        self.new_probability = 1.0 / sessions_per_ip
        self.ipv6_share = ipv6_share
        self.history: list[str] = []  # one entry per session: the reuse draws pick from it
        self.seen: set[str] = set()
        self.networks = [self._public_v4() & 0xFFFF0000 for _ in range(300)]

    def _public_v4(self) -> int:
        while True:
            value = self.rng.getrandbits(32)
            if is_public_v4(value):
                return value

    def _new_address(self) -> str:
        rng = self.rng
        while True:
            if rng.random() < self.ipv6_share:
                value = (rng.choice(_V6_TOP) << 112) | rng.getrandbits(96) << 16 | rng.getrandbits(16)
                text = ipaddress.IPv6Address(value).compressed
            else:
                if rng.random() < 0.6:
                    value = rng.choice(self.networks) | rng.getrandbits(16)
                    if not is_public_v4(value):
                        continue
                else:
                    value = self._public_v4()
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
