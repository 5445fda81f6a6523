"""MaxMind-format databases (``.mmdb``): GeoLite2 City/Country/ASN, DB-IP Lite, IPinfo Lite.

The three vendors use the same file format with different record layouts; the layout is chosen from the
file's ``metadata.database_type`` (``GeoLite2-*``/``GeoIP2-*`` and ``DBIP-*`` share MaxMind's layout,
``ipinfo ...`` has flat ``country_code``/``asn``). Several files are merged per IP in the configured
order (the first file that has a field wins), and the answer says which databases contributed.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb

from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, result, utcnow
from cowrieprocessor.enrichment.validation import ipv4_value
from cowrieprocessor.storage.tables import json_path

NAME = "maxmind"


@dataclass
class Database:
    path: Path
    reader: Any
    database_type: str
    build_date: dt.date
    layout: str  # "maxmind" or "ipinfo"

    @functools.cached_property
    def version(self) -> str:
        return f"{self.database_type} {self.build_date.isoformat()}"


def layout_of(database_type: str) -> str:
    """``ipinfo`` for IPinfo files, ``maxmind`` for MaxMind and DB-IP (which copies MaxMind's layout)."""
    return "ipinfo" if "ipinfo" in database_type.lower() else "maxmind"


def open_database(path: Path) -> Database:
    """Open one .mmdb; ``ValueError`` (a clear reason, the source reported unavailable) if it is not one."""
    try:
        reader = maxminddb.open_database(str(path))
    except maxminddb.InvalidDatabaseError:
        raise ValueError(f"{path}: not a valid MaxMind DB (.mmdb) file") from None
    meta = reader.metadata()
    return Database(
        path=path,
        reader=reader,
        database_type=str(meta.database_type),
        build_date=dt.datetime.fromtimestamp(int(meta.build_epoch), dt.UTC).date(),
        layout=layout_of(str(meta.database_type)),
    )


def _code(value: Any) -> Any:
    """Country codes in upper case, whatever case the database spells them in."""
    return value.upper() if isinstance(value, str) else value


def _maxmind_fields(record: dict[str, Any]) -> dict[str, Any]:
    fields = {
        "country": _code(json_path(record, ("country", "iso_code"))),
        "registered_country": _code(json_path(record, ("registered_country", "iso_code"))),
        "continent": json_path(record, ("continent", "code")),
        "city": json_path(record, ("city", "names", "en")),
        "latitude": json_path(record, ("location", "latitude")),
        "longitude": json_path(record, ("location", "longitude")),
        "accuracy_radius": json_path(record, ("location", "accuracy_radius")),
        "time_zone": json_path(record, ("location", "time_zone")),
        "asn": record.get("autonomous_system_number"),
        "as_org": record.get("autonomous_system_organization"),
    }
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def _asn_number(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        digits = value.strip().upper().removeprefix("AS")
        return int(digits) if digits.isdigit() else None
    return None


def _ipinfo_fields(record: dict[str, Any]) -> dict[str, Any]:
    fields = {
        "country": _code(record.get("country_code")),
        "continent": record.get("continent_code"),
        "asn": _asn_number(record.get("asn")),
        "as_org": record.get("as_name"),
        "as_domain": record.get("as_domain"),
    }
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def read_record(db: Database, ip: str) -> tuple[dict[str, Any], str | None]:
    """Fields in the canonical shape and the matching network, from one database."""
    record, prefix_len = db.reader.get_with_prefix_len(ip)
    if not isinstance(record, dict):
        return {}, None
    fields = _ipinfo_fields(record) if db.layout == "ipinfo" else _maxmind_fields(record)
    return fields, network_of(ip, prefix_len)


def network_of(ip: str, prefix_len: int) -> str:
    """``ip/prefix_len`` as its network, with integer arithmetic for plain IPv4 (the hot path)."""
    value = ipv4_value(ip)
    if value is not None and 0 <= prefix_len <= 32:
        net = value & (0xFFFFFFFF << (32 - prefix_len)) & 0xFFFFFFFF
        return f"{net >> 24}.{net >> 16 & 255}.{net >> 8 & 255}.{net & 255}/{prefix_len}"
    return str(ipaddress.ip_network(f"{ip}/{prefix_len}", strict=False))


class MaxMindSource:
    name = NAME
    online = False

    def __init__(self, paths: Sequence[Path]) -> None:
        if not paths:
            raise ValueError("maxmind: no .mmdb paths configured")
        self.databases = [open_database(Path(p)) for p in paths]
        self._label_cache: dict[tuple[int, ...], tuple[str, str]] = {}

    @property
    def version(self) -> str:
        return "; ".join(db.version for db in self.databases)

    def _labels(self, used: list[Database]) -> tuple[str, str]:
        """The answer's ``database`` field and provenance version for this combination of files (few
        combinations, many IPs: joined once each)."""
        key = tuple(id(db) for db in used)
        labels = self._label_cache.get(key)
        if labels is None:
            labels = ("+".join(db.database_type for db in used), "; ".join(db.version for db in used))
            self._label_cache[key] = labels
        return labels

    def lookup_one(self, ip: str) -> tuple[dict[str, Any], list[Database]]:
        merged: dict[str, Any] = {}
        used: list[Database] = []
        for db in self.databases:
            fields, network = read_record(db, ip)
            if not fields:
                continue
            used.append(db)
            for key, value in fields.items():
                merged.setdefault(key, value)
            if network is not None:
                merged.setdefault("network", network)
        return merged, used

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
        now = utcnow()
        out: dict[str, LookupResult] = {}
        for ip in ips:
            try:
                merged, used = self.lookup_one(ip)
            except ValueError as exc:  # not an address; the cascade normally filters these
                out[ip] = result(
                    NAME, ip, LookupStatus.ERROR, version=self.version, fetched_at=now, error=exc.__class__.__name__
                )
                continue
            if not used:
                out[ip] = result(NAME, ip, LookupStatus.NOT_FOUND, version=self.version, fetched_at=now)
                continue
            merged["database"], version = self._labels(used)
            out[ip] = result(NAME, ip, LookupStatus.FOUND, merged, version=version, fetched_at=now)
        return out

    def close(self) -> None:
        for db in self.databases:
            db.reader.close()
