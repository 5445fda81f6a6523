"""The embedded offline default: country and AS organisation with no download and no key.

It reads the data files shipped inside the ``geoip2fast`` wheel (a runtime dependency, pinned to
``>=1.2.2,<1.3``). Coverage of geoip2fast 1.2.2's ``geoip2fast-asn-ipv6.dat.gz``: IPv4 and IPv6, country
(ISO code) and AS *name* plus the AS's announced network, derived from MaxMind GeoLite2 Country + ASN of
2024-06-18 (``source_info`` ``MAXMIND:GeoLite2-CountryASN-IPv4IPv6-en-20240618``): about 494k IPv4 and 295k
IPv6 country networks, 509k IPv4 and 135k IPv6 AS networks. It carries no AS *number* and no city, and it
ages with the package: treat it as a fallback behind the sources you keep current.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, result, utcnow

NAME = "embedded"
DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"

_lock = threading.Lock()
_engine: Any = None


def _load() -> Any:
    """geoip2fast keeps its tables in module globals: load once per process (about 0.3 s)."""
    global _engine
    with _lock:
        if _engine is None:
            from geoip2fast import GeoIP2Fast

            _engine = GeoIP2Fast(geoip2fast_data_file=DATA_FILE, verbose=False)
        return _engine


def dataset_label(engine: Any) -> str:
    info = engine.get_database_info()
    source = str(info.get("source_info", ""))
    match = re.search(r"(\d{4})(\d{2})(\d{2})\s*$", source)
    date = f"{match[1]}-{match[2]}-{match[3]}" if match else "unknown date"
    try:
        version = metadata.version("geoip2fast")
    except metadata.PackageNotFoundError:
        version = "?"
    return f"geoip2fast {version} (data of {date})"


class EmbeddedSource:
    name = NAME
    online = False

    def __init__(self) -> None:
        self.engine = _load()
        self.dataset = dataset_label(self.engine)

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
        now = utcnow()
        out: dict[str, LookupResult] = {}
        for ip in ips:
            answer = self.engine.lookup(ip.strip())
            if answer.country_name == "<invalid ip address>":
                out[ip] = result(
                    NAME, ip, LookupStatus.ERROR, version=self.dataset, fetched_at=now, error="not an IP address"
                )
                continue
            data: dict[str, Any] = {}
            country = answer.country_code
            if country and country != "--" and not answer.is_private:
                data["country"] = country
            if answer.asn_name and not answer.is_private:
                data["as_org"] = answer.asn_name
            network = answer.asn_cidr or answer.cidr
            if data and network:
                data["network"] = network
            if not data:
                out[ip] = result(NAME, ip, LookupStatus.NOT_FOUND, version=self.dataset, fetched_at=now)
                continue
            data["dataset"] = self.dataset
            out[ip] = result(NAME, ip, LookupStatus.FOUND, data, version=self.dataset, fetched_at=now)
        return out

    def close(self) -> None:
        return None
