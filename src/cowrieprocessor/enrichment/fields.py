"""What an HTTP source's answer may hold: the fields its documentation names, each with a bounded size.

A provider is not trusted to answer small: one 200 MB body with an unknown field once went verbatim into
every IP document and session snapshot. Each source declares a :data:`Spec` of the documented fields
(``docs/enrichment-shape.md``, ``providers.md``); :func:`keep` copies only those, of the right type,
with strings cut to :data:`MAX_TEXT` characters and lists and maps to :data:`MAX_ITEMS` entries. A value of
the wrong type is dropped (its key is left out); a documented ``null`` stays ``null``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 256
MAX_ITEMS = 64
_INT_RANGE = 1 << 63


@dataclass(frozen=True)
class Text:
    limit: int = MAX_TEXT


@dataclass(frozen=True)
class Number:
    """An integer or a finite float (JSON ``NaN``/``Infinity`` cannot be stored in PostgreSQL's jsonb)."""

    integer: bool = False


@dataclass(frozen=True)
class Flag:
    pass


@dataclass(frozen=True)
class Scalar:
    """Text, number or flag: for fields a provider sends as any of them (DShield's counts as strings)."""


@dataclass(frozen=True)
class Items:
    of: Spec
    limit: int = MAX_ITEMS


@dataclass(frozen=True)
class Map:
    """An object with free keys (bounded in number and length), each value of ``of``."""

    of: Spec
    limit: int = MAX_ITEMS


Spec = Text | Number | Flag | Scalar | Items | Map | dict[str, "Spec"]

TEXT, INT, NUM, FLAG, SCALAR = Text(), Number(integer=True), Number(), Flag(), Scalar()
_DROP = object()


def keep(value: Any, spec: Spec) -> Any:
    """``value`` reduced to ``spec``; :data:`_DROP` internally for a value of the wrong type."""
    out = _keep(value, spec)
    return None if out is _DROP else out


def _keep(value: Any, spec: Spec) -> Any:
    if value is None:
        return None
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return _DROP
        fields = {}
        for key, sub in spec.items():
            if key in value:
                kept = _keep(value[key], sub)
                if kept is not _DROP:
                    fields[key] = kept
        return fields
    if isinstance(spec, Text):
        return value[: spec.limit] if isinstance(value, str) else _DROP
    if isinstance(spec, Flag):
        return value if isinstance(value, bool) else _DROP
    if isinstance(spec, Number):
        return _number(value, spec.integer)
    if isinstance(spec, Scalar):
        if isinstance(value, str):
            return value[:MAX_TEXT]
        return value if isinstance(value, bool) else _number(value, False)
    if isinstance(spec, Items):
        if not isinstance(value, list):
            return _DROP
        items = (_keep(item, spec.of) for item in value[: spec.limit])
        return [item for item in items if item is not _DROP]
    if not isinstance(value, dict):  # Map
        return _DROP
    entries = {}
    for key, item in list(value.items())[: spec.limit]:
        kept = _keep(item, spec.of)
        if kept is not _DROP:
            entries[str(key)[:MAX_TEXT]] = kept
    return entries


def _number(value: Any, integer: bool) -> Any:
    if isinstance(value, bool):
        return _DROP
    if isinstance(value, int):
        return value if -_INT_RANGE <= value < _INT_RANGE else _DROP
    if isinstance(value, float) and not integer:
        return value if math.isfinite(value) else _DROP
    return _DROP


GREYNOISE: Spec = {
    "ip": Text(64),
    "noise": FLAG,
    "riot": FLAG,
    "observed": FLAG,
    "classification": TEXT,
    "name": TEXT,
    "link": Text(512),
    "last_seen": Text(64),
    "message": TEXT,
}
SPUR: Spec = {
    "ip": Text(64),
    "as": {"number": INT, "organization": TEXT},
    "organization": TEXT,
    "infrastructure": TEXT,
    "location": {"city": TEXT, "state": TEXT, "country": Text(8)},
    "risks": Items(TEXT),
    "services": Items(TEXT),
    "client": {
        "behaviors": Items(TEXT),
        "types": Items(TEXT),
        "proxies": Items(TEXT),
        "count": INT,
        "countries": INT,
        "spread": NUM,
        "concentration": {
            "city": TEXT,
            "state": TEXT,
            "country": Text(8),
            "density": NUM,
            "geohash": Text(32),
            "skew": NUM,
        },
    },
    "tunnels": Items(
        {"anonymous": FLAG, "entries": Items(Text(64)), "exits": Items(Text(64)), "operator": TEXT, "type": TEXT}
    ),
}
DSHIELD: Spec = {
    "ip": {
        **dict.fromkeys(("number", "count", "attacks", "mindate", "maxdate", "updated", "comment", "maxrisk"), SCALAR),
        **dict.fromkeys(("asabusecontact", "as", "asname", "ascountry", "assize", "network"), SCALAR),
        "threatfeeds": Map({"firstseen": Text(64), "lastseen": Text(64)}),
    }
}
ABUSEIPDB: Spec = {
    "ipAddress": Text(64),
    "isPublic": FLAG,
    "ipVersion": INT,
    "isWhitelisted": FLAG,
    "abuseConfidenceScore": INT,
    "countryCode": Text(8),
    "countryName": TEXT,
    "usageType": TEXT,
    "isp": TEXT,
    "domain": TEXT,
    "hostnames": Items(TEXT),
    "isTor": FLAG,
    "totalReports": INT,
    "numDistinctUsers": INT,
    "lastReportedAt": Text(64),
}
