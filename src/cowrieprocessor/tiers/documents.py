"""Pure functions over the canonical enrichment document (docs/enrichment-shape.md)."""

from __future__ import annotations

from typing import Any

# json_path is the models' own, so the pipeline and the hybrid properties read documents the same way
from cowrieprocessor.storage.tables import COUNTRY_FALLBACK, json_path

#: Where the ASN is read, most authoritative first (BGP origin, then databases, then third parties).
ASN_PRECEDENCE: tuple[tuple[str, ...], ...] = (
    ("cymru", "asn"),
    ("maxmind", "asn"),
    ("routing_history", "asn"),
    ("embedded", "asn"),
    ("spur", "as", "number"),
    ("dshield", "ip", "as"),
)

#: Where an AS organisation name is read, in order.
ORG_PRECEDENCE: tuple[tuple[str, ...], ...] = (
    ("cymru", "as_name"),
    ("maxmind", "as_org"),
    ("embedded", "as_org"),
    ("spur", "as", "organization"),
    ("dshield", "ip", "asname"),
)


def as_asn(value: Any) -> int | None:
    """An ASN from an int, ``"15169"`` or ``"AS15169"``; anything else (0, NA, garbage) is no ASN."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**32 else None
    text = str(value).strip().upper().removeprefix("AS")
    return int(text) if text.isdigit() and 0 < int(text) < 2**32 else None


def pick_asn(document: dict[str, Any]) -> tuple[int | None, str | None]:
    """The ASN and the source it came from."""
    for path in ASN_PRECEDENCE:
        asn = as_asn(json_path(document, path))
        if asn is not None:
            return asn, path[0]
    return None, None


def pick_country(document: dict[str, Any]) -> str | None:
    for path in COUNTRY_FALLBACK:
        value = json_path(document, path)
        if isinstance(value, str) and value.strip():
            return value.strip().upper()[:2]
    return None


def pick_org(document: dict[str, Any]) -> str | None:
    for path in ORG_PRECEDENCE:
        value = json_path(document, path)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def org_country(document: dict[str, Any]) -> str | None:
    """The AS's registration country (Cymru's CC is the registry's, not the address's location)."""
    for path in (("cymru", "country"), ("maxmind", "registered_country"), ("dshield", "ip", "ascountry")):
        value = json_path(document, path)
        if isinstance(value, str) and len(value.strip()) == 2:
            return value.strip().upper()
    return None


def registry(document: dict[str, Any]) -> str | None:
    value = json_path(document, ("cymru", "registry"))
    return value.strip().lower()[:16] if isinstance(value, str) and value.strip() else None


def ip_types(document: dict[str, Any]) -> list[str]:
    value = json_path(document, ("spur", "client", "types"))
    return [str(v) for v in value] if isinstance(value, list) else []


def is_bogon(document: dict[str, Any]) -> bool:
    return json_path(document, ("validation", "is_bogon")) is True
