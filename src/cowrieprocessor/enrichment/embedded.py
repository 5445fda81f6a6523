"""The embedded offline default: AS number, AS organisation and country with no download and no key.

The data ships inside the package (``enrichment/data/``, built by ``scripts/build_embedded_data.py``):

- ``@ip-location-db/asn`` (CC BY 4.0: RouteViews, DB-IP, NRO) - IP range -> AS number and organisation,
  IPv4 and IPv6 (RouteViews' BGP origins first, then the five RIRs' delegations, then DB-IP Lite);
- ``@ip-location-db/geo-whois-asn-country-mmdb`` (CC0) - IP -> country code, IPv4 and IPv6.

``embedded-data.json`` records the data date, which every answer's provenance names. The AS and the
country tables are sorted arrays of range starts searched with :func:`bisect.bisect_right` (two searches
per IP; docs/embedded-data.md has the measurements and the alternatives). The data ages with the package:
``cowrieprocessor data update`` fetches newer data that the ``maxmind`` and ``routing_history`` sources
read before this one.
"""

from __future__ import annotations

import array
import datetime as dt
import gzip
import json
import sys
import threading
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import Any

from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, result

NAME = "embedded"
PACKAGE = "cowrieprocessor.enrichment.data"
MANIFEST = "embedded-data.json"
_V4_MAPPED = 0xFFFF << 32


def _read(name: str) -> bytes:
    return resources.files(PACKAGE).joinpath(name).read_bytes()


def manifest() -> dict[str, Any]:
    """The build record: data date, package versions, licences, checksums."""
    value: dict[str, Any] = json.loads(_read(MANIFEST))
    return value


def dataset_label(record: dict[str, Any] | None = None) -> str:
    record = record or manifest()
    return f"{record['dataset']} (data of {record['data_date']})"


def data_date() -> dt.date:
    return dt.date.fromisoformat(str(manifest()["data_date"]))


@dataclass(frozen=True)
class RangeTable:
    """Range starts (ascending, gaps included as AS 0) and the AS number of each range."""

    starts: Sequence[int]
    asns: array.array[int]
    bits: int
    #: per range, its country when one covers the whole range (two letters as ``a << 8 | b``), else 0
    countries: array.array[int] | None = None

    @classmethod
    def load(cls, name: str, width: int) -> RangeTable:
        payload = gzip.decompress(_read(name))
        count = int.from_bytes(payload[:4], "big")
        body = memoryview(payload)[4:]
        if len(body) not in (count * (width + 4), count * (width + 6)):
            raise ValueError(f"{name}: {len(body)} bytes for {count} ranges - the file is damaged")
        asns = array.array("I")
        asns.frombytes(body[count * width : count * (width + 4)])
        countries = None
        if len(body) > count * (width + 4):
            countries = array.array("H")
            countries.frombytes(body[count * (width + 4) :])
            if sys.byteorder == "little":
                countries.byteswap()
        starts: Sequence[int]
        if width == 4:
            starts = array.array("I")
            starts.frombytes(body[: count * 4])
            if sys.byteorder == "little":
                starts.byteswap()
        else:
            starts = [int.from_bytes(body[i : i + width], "big") for i in range(0, count * width, width)]
        if sys.byteorder == "little":
            asns.byteswap()
        return cls(starts, asns, width * 8, countries)


def network(value: int, first: int, last: int, bits: int) -> str:
    """The largest CIDR block holding ``value`` inside the range ``first..last`` (usually the range itself)."""
    host = min((last - first + 1).bit_length() - 1, bits)
    while host:
        mask = (1 << host) - 1
        start = value & ~mask
        if start >= first and start | mask <= last:
            break
        host -= 1
    start = value & ~((1 << host) - 1)
    text = inet_ntop(AF_INET, start.to_bytes(4, "big")) if bits == 32 else _ntop6(start)
    return f"{text}/{bits - host}"


def parse(ip: str) -> tuple[int, int] | None:
    """(32 or 128, integer value); IPv4-mapped IPv6 is its IPv4 address; ``None`` for non-addresses."""
    try:
        return 32, int.from_bytes(inet_pton(AF_INET, ip), "big")
    except OSError:
        pass
    try:
        value = int.from_bytes(inet_pton(AF_INET6, ip), "big")
    except OSError:
        return None
    if value >> 32 == 0xFFFF:
        return 32, value & 0xFFFFFFFF
    return 128, value


class EmbeddedData:
    """The loaded tables (about 0.3-0.5 s CPU and 60-70 MB, once per process; see :func:`shared`)."""

    def __init__(self) -> None:
        self.manifest = manifest()
        self.label = dataset_label(self.manifest)
        self.v4 = RangeTable.load("asn-v4.bin.gz", 4)
        self.v6 = RangeTable.load("asn-v6.bin.gz", 16)
        self.countries_v4 = RangeTable.load("country-v4.bin.gz", 4)
        self.countries_v6 = RangeTable.load("country-v6.bin.gz", 16)
        codes = {v for table in (self.countries_v4, self.countries_v6) for v in set(table.asns)}
        self.codes = {v: chr(v >> 8) + chr(v & 0xFF) for v in codes if v}
        self.orgs = {int(k): v for k, v in json.loads(gzip.decompress(_read("asn-orgs.json.gz"))).items()}
        # per range, one (AS number, organisation) tuple shared by all ranges of the AS: a list index per IP
        # instead of reading the AS number and hashing it into the organisations (a third faster)
        shared_info: dict[int, tuple[int, str | None]] = {}
        self.info_v4 = [shared_info.setdefault(a, (a, self.orgs.get(a))) if a else None for a in self.v4.asns]
        self.info_v6 = [shared_info.setdefault(a, (a, self.orgs.get(a))) if a else None for a in self.v6.asns]
        self.cc_v4 = self.v4.countries or array.array("H", bytes(2 * len(self.v4.asns)))
        self.cc_v6 = self.v6.countries or array.array("H", bytes(2 * len(self.v6.asns)))

    def answer(self, ip: str) -> dict[str, Any] | None:
        """The data for one address (``None``: not an address); empty when the data has nothing for it.

        Written out in one function on purpose: it runs once per IP, and the calls it saves are a third
        of its time (bench/bench_embedded.py)."""
        try:
            bits, value = 32, int.from_bytes(inet_pton(AF_INET, ip), "big")
        except OSError:
            parsed = parse(ip)
            if parsed is None:
                return None
            bits, value = parsed
        if bits == 32:
            starts, info, known, countries = self.v4.starts, self.info_v4, self.cc_v4, self.countries_v4
        else:
            starts, info, known, countries = self.v6.starts, self.info_v6, self.cc_v6, self.countries_v6
        index = bisect_right(starts, value) - 1
        data: dict[str, Any]
        as_info = info[index]
        if as_info is None:
            data = {}
        else:
            data = {"asn": as_info[0], "as_org": as_info[1]} if as_info[1] else {"asn": as_info[0]}
            first = starts[index]
            size = starts[index + 1] - first  # the last range is always a gap (AS 0): index + 1 exists
            if size & (size - 1) == 0 and first & (size - 1) == 0:  # the range is one CIDR block
                host = size.bit_length() - 1
                text = inet_ntop(AF_INET, first.to_bytes(4, "big")) if bits == 32 else _ntop6(first)
                data["network"] = f"{text}/{bits - host}"
            else:
                data["network"] = network(value, first, first + size - 1, bits)
        code = known[index]  # the range's one country, or 0: this address's own
        if not code:
            code = countries.asns[bisect_right(countries.starts, value) - 1]
        if code:
            data["country"] = self.codes[code]
        return data


def _ntop6(value: int) -> str:
    return inet_ntop(AF_INET6, value.to_bytes(16, "big"))


_lock = threading.Lock()
_shared: EmbeddedData | None = None


def shared() -> EmbeddedData:
    """One copy per process: every source and command reads the same tables."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = EmbeddedData()
        return _shared


class EmbeddedSource:
    name = NAME
    online = False

    def __init__(self) -> None:
        self.data = shared()
        self.dataset = self.data.label

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
        # one provenance for the batch, results built directly: half the per-IP cost otherwise
        provenance = result(NAME, "", LookupStatus.FOUND, version=self.dataset).provenance
        answer = self.data.answer
        found, not_found = LookupStatus.FOUND, LookupStatus.NOT_FOUND
        dataset = self.dataset
        out: dict[str, LookupResult] = {}
        for ip in ips:
            data = answer(ip.strip())
            if data:
                data["dataset"] = dataset
                out[ip] = LookupResult(NAME, ip, found, data, provenance)
            elif data is None:
                out[ip] = LookupResult(NAME, ip, LookupStatus.ERROR, None, provenance, "not an IP address")
            else:
                out[ip] = LookupResult(NAME, ip, not_found, None, provenance)
        return out

    def close(self) -> None:
        return None
