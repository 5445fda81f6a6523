"""Legacy (schema v15) session enrichment -> the canonical document of ``docs/enrichment-shape.md``.

v15 rows hold enrichment in several shapes: one key per provider at the top level, the same nested under
``session.<ip>``, SPUR as an 18-field positional list, DShield without its ``ip`` wrapper, MaxMind as a raw
``.mmdb`` record, and empty placeholders (``{"ip": {"asname": "", "ascountry": ""}}``, ``""``, ``[]``) that
must count as absent, never as facts.

Two implementations of one set of rules: :func:`normalise` in Python (tests, single rows) and
:class:`LegacySQL`, which renders the same rules as SQL for PostgreSQL (jsonb) or SQLite (json1) so the
migration stays set-based. Tests assert that both agree on every shape.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

from cowrieprocessor.storage import dialects
from cowrieprocessor.storage.dialects import Dialect, PostgreSQL
from cowrieprocessor.storage.tables import json_path

#: Positions of the legacy SPUR list (the old ``read_spur_data`` order).
SPUR_LIST_FIELDS = (
    "as.number",
    "as.organization",
    "organization",
    "infrastructure",
    "client.behaviors",
    "client.proxies",
    "client.types",
    "client.count",
    "client.concentration",
    "client.countries",
    "client.spread",
    "risks",
    "services",
    "location",
    "tunnel.anonymous",
    "tunnel.entries",
    "tunnel.operator",
    "tunnel.type",
)
#: Sources whose (already canonical) objects pass through when not empty; ``ip`` echoes are not data.
PASS_THROUGH = ("greynoise", "validation", "embedded", "routing_history", "abuseipdb")
#: Output order of the canonical document.
SOURCES = (
    "validation",
    "maxmind",
    "cymru",
    "dshield",
    "embedded",
    "routing_history",
    "spur",
    "greynoise",
    "abuseipdb",
    "urlhaus",
)
#: Keys where legacy rows kept the time of their enrichment, most specific first.
TIME_KEYS = ("enriched_at", "enrichment_at", "fetched_at", "timestamp")

_ASN_TEXT = re.compile(r"^(?:AS|as)?([0-9]{1,10})$")


# ------------------------------------------------------------------------------------------ Python ---


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _obj(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any] | None:
    out = {k: v for k, v in pairs if not _empty(v)}
    return out or None


def _has_data(value: Any, ignore: tuple[str, ...] = ("ip",)) -> bool:
    return isinstance(value, dict) and any(k not in ignore and not _empty(v) for k, v in value.items())


def coerce_asn(value: Any) -> int | None:
    """An AS number from ``15169``, ``"15169"`` or ``"AS15169"``; 0, floats and junk are absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 10**10 else None
    if isinstance(value, str):
        match = _ASN_TEXT.match(value)
        if match and int(match.group(1)) > 0:
            return int(match.group(1))
    return None


def _cc(value: Any) -> str | None:
    """A two-letter country code, upper-cased (v15 documents hold ``"au"`` as well as ``"AU"``)."""
    return value.upper() if isinstance(value, str) and len(value) == 2 else None


def _str_or_iso(value: Any) -> Any:
    """A country given as ``"US"`` or as an ``.mmdb`` record ``{"iso_code": "US"}``."""
    return value.get("iso_code") if isinstance(value, dict) else value


def root(enrichment: Any, ip: str | None) -> dict[str, Any]:
    """The object that holds the providers: ``session.<ip>`` when nested, else the document itself."""
    if not isinstance(enrichment, dict):
        return {}
    nested = enrichment.get("session")
    if isinstance(nested, dict):
        if ip is not None and isinstance(nested.get(ip), dict):
            return nested[ip]  # type: ignore[no-any-return]
        if len(nested) == 1:
            only = next(iter(nested.values()))
            if isinstance(only, dict):
                return only
    return enrichment


def _spur_from_list(items: list[Any]) -> dict[str, Any] | None:
    vals = dict(zip(SPUR_LIST_FIELDS, items + [None] * (len(SPUR_LIST_FIELDS) - len(items)), strict=False))
    types = vals["client.types"]
    if isinstance(types, str) and types != "":
        types = types.split(", ")
    tunnel = _obj([(k.split(".")[1], vals[k]) for k in SPUR_LIST_FIELDS if k.startswith("tunnel.")])
    return _obj(
        [
            ("as", _obj([("number", coerce_asn(vals["as.number"])), ("organization", vals["as.organization"])])),
            ("organization", vals["organization"]),
            ("infrastructure", vals["infrastructure"]),
            (
                "client",
                _obj(
                    [
                        (k.split(".")[1], types if k == "client.types" else vals[k])
                        for k in SPUR_LIST_FIELDS
                        if k.startswith("client.")
                    ]
                ),
            ),
            ("risks", vals["risks"]),
            ("services", vals["services"]),
            ("location", vals["location"]),
            ("tunnels", [tunnel] if tunnel else None),
        ]
    )


def _source(name: str, raw: Any) -> Any:
    """One provider's canonical value, or None when it is absent or only a placeholder."""
    if name == "dshield":
        if not isinstance(raw, dict):
            return None
        doc = raw if "ip" in raw else {"ip": raw}
        return doc if _has_data(doc["ip"], ignore=("number",)) else None
    if name == "spur":
        if isinstance(raw, list):
            return _spur_from_list(raw)
        return raw if _has_data(raw) else None
    if name == "urlhaus":
        if isinstance(raw, str) and raw != "":
            return {"tags": raw.split(", ")}
        if isinstance(raw, list) and raw:
            return {"tags": raw}
        return raw if _has_data(raw, ignore=()) else None
    if name == "maxmind":
        if not isinstance(raw, dict):
            return None
        location: dict[str, Any] = raw["location"] if isinstance(raw.get("location"), dict) else {}
        city = raw.get("city")
        if isinstance(city, dict):
            city = (city.get("names") or {}).get("en") if isinstance(city.get("names"), dict) else None
        asn = coerce_asn(raw.get("asn"))
        mm = _obj(
            [
                ("country", _str_or_iso(raw.get("country"))),
                ("registered_country", _str_or_iso(raw.get("registered_country"))),
                ("asn", asn if asn is not None else coerce_asn(raw.get("autonomous_system_number"))),
                (
                    "as_org",
                    raw.get("as_org") if not _empty(raw.get("as_org")) else raw.get("autonomous_system_organization"),
                ),
                ("network", raw.get("network")),
                ("database", raw.get("database")),
                ("city", city),
                ("latitude", raw["latitude"] if "latitude" in raw else location.get("latitude")),
                ("longitude", raw["longitude"] if "longitude" in raw else location.get("longitude")),
            ]
        )
        return mm if mm and set(mm) - {"database"} else None
    if name == "cymru":
        if not isinstance(raw, dict):
            return None
        asn = coerce_asn(raw.get("asn"))
        asns = raw.get("asns") if isinstance(raw.get("asns"), list) else ([asn] if asn is not None else None)
        return _obj(
            [
                ("asn", asn),
                ("asns", asns),
                ("prefix", raw.get("prefix")),
                ("country", raw.get("country")),
                ("registry", raw.get("registry")),
                ("allocated", raw.get("allocated")),
                ("as_name", raw.get("as_name") if not _empty(raw.get("as_name")) else raw.get("asname")),
            ]
        )
    return raw if _has_data(raw) else None


def normalise(enrichment: Any, ip: str | None) -> dict[str, Any]:
    """The canonical document for a legacy session enrichment (sources without data have no key)."""
    r = root(enrichment, ip)
    return _obj([(name, _source(name, r.get(name))) for name in SOURCES]) or {}


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def canonical_asn(doc: dict[str, Any]) -> int | None:
    """ASN by the documented precedence: cymru, maxmind, routing_history, embedded, spur, dshield."""
    asn: int | None = _first(
        *(coerce_asn(json_path(doc, (s, "asn"))) for s in ("cymru", "maxmind", "routing_history", "embedded")),
        coerce_asn(json_path(doc, ("spur", "as", "number"))),
        coerce_asn(json_path(doc, ("dshield", "ip", "as"))),
    )
    return asn


def canonical_country(doc: dict[str, Any]) -> str | None:
    """Country by the ``geo_country`` order (two-letter codes only), or None."""
    country: str | None = _first(
        _cc(json_path(doc, ("maxmind", "country"))),
        _cc(json_path(doc, ("cymru", "country"))),
        _cc(json_path(doc, ("dshield", "ip", "ascountry"))),
        _cc(json_path(doc, ("embedded", "country"))),
    )
    return country


def canonical_ip_types(doc: dict[str, Any]) -> list[str] | None:
    """SPUR ``client.types`` when SPUR answered with a list, else None (unknown, not 'none')."""
    types = json_path(doc, ("spur", "client", "types"))
    if not isinstance(types, list):
        return None
    return [t if isinstance(t, str) else json.dumps(t, separators=(",", ":")) for t in types]


def canonical_org(doc: dict[str, Any], asn: int | None) -> tuple[str | None, str | None, str | None]:
    """(organisation name, country, registry) of ``asn``, each only from a source that named that ASN."""
    if asn is None:
        return None, None, None

    def named(value: Any) -> str | None:
        return value if isinstance(value, str) and value != "" else None

    def said(asn_at: tuple[str, ...], value_at: tuple[str, ...]) -> Any:
        """The value at ``value_at`` when the source's ASN (at ``asn_at``) is ``asn``."""
        return json_path(doc, value_at) if coerce_asn(json_path(doc, asn_at)) == asn else None

    cymru, maxmind = ("cymru", "asn"), ("maxmind", "asn")
    spur, dshield = ("spur", "as", "number"), ("dshield", "ip", "as")
    name = _first(
        named(said(cymru, ("cymru", "as_name"))),
        named(said(maxmind, ("maxmind", "as_org"))),
        named(said(spur, ("spur", "as", "organization"))),
        named(said(dshield, ("dshield", "ip", "asname"))),
    )
    country = _first(_cc(said(dshield, ("dshield", "ip", "ascountry"))), _cc(said(cymru, ("cymru", "country"))))
    registry = said(cymru, ("cymru", "registry"))
    registry = registry if isinstance(registry, str) and 0 < len(registry) <= 16 else None
    return name, country, registry


def enrichment_time(enrichment: Any, ip: str | None) -> dt.datetime | None:
    """The enrichment's own timestamp, if the legacy row kept one (ISO-8601; naive means UTC)."""
    r = root(enrichment, ip)
    for holder in (r, enrichment if isinstance(enrichment, dict) else {}):
        for key in TIME_KEYS:
            value = holder.get(key)
            if isinstance(value, str) and re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
                try:
                    parsed = dt.datetime.fromisoformat(value)
                except ValueError:
                    continue
                return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
    return None


# --------------------------------------------------------------------------------------------- SQL ---


class LegacySQL:
    """The same rules as SQL text for one dialect; ``r`` arguments are JSON-valued SQL expressions."""

    def __init__(self, dialect: Any) -> None:
        """``dialect``: a :class:`Dialect`, or what :func:`dialects.of` takes (a connection, a name)."""
        self.d = dialect if isinstance(dialect, Dialect) else dialects.of(dialect)

    # primitives: the backend's JSON fragments -------------------------------------------------------
    def get(self, x: str, *path: str | int) -> str:
        return self.d.json_get(x, *path)

    def typ(self, x: str) -> str:
        """JSON type; compared only with 'object' and 'array', which both dialects name alike."""
        return self.d.json_type(x)

    def txt(self, x: str) -> str:
        """The SQL text of a JSON string (NULL for other types)."""
        return self.d.json_string(x)

    def empty(self, x: str) -> str:
        return self.d.json_empty(x)

    def has_data(self, x: str, ignore: tuple[str, ...] = ("ip",)) -> str:
        skip = " AND ".join(f"e.key <> '{k}'" for k in ignore) or "TRUE"
        return self.d.json_has_entry(x, skip, self.empty)

    def json_int(self, x: str) -> str:
        return self.d.json_number(x)

    def json_text(self, x: str) -> str:
        return self.d.json_quote(x)

    def obj(self, pairs: Sequence[tuple[str, str]]) -> str:
        """An object of the non-empty pairs, or NULL when none is left."""
        return self.d.json_object_of(pairs, self.empty)

    def arr1(self, x: str) -> str:
        return self.d.json_array1(x)

    def split(self, s: str) -> str:
        """``"a, b"`` -> ``["a", "b"]`` (the legacy joined-list form)."""
        return self.d.json_split(s)

    # rules ------------------------------------------------------------------------------------------
    def asn(self, x: str) -> str:
        """``coerce_asn`` in SQL: positive integers, digit strings with an optional AS prefix."""
        return self.d.json_as_number(x)

    def cc(self, x: str) -> str:
        t = self.txt(x)
        return f"(CASE WHEN length({t}) = 2 THEN upper({t}) END)"

    def root(self, e: str, ip: str) -> str:
        """``root()``: the ``session.<ip>`` object when nested, else the document."""
        by_ip = self.d.json_at_ip(e, "session", ip)
        only = self.d.json_only_value(e, "session")
        count = self.d.json_entry_count(e, "session")
        session = self.get(e, "session")
        return (
            f"(CASE WHEN {self.typ(session)} = 'object' THEN COALESCE("
            f"CASE WHEN {self.typ(by_ip)} = 'object' THEN {by_ip} END, "
            f"CASE WHEN {count} = 1 AND {self.typ(only)} = 'object' THEN {only} END, ({e})) "
            f"ELSE ({e}) END)"
        )

    def dshield_ip(self, r: str) -> str:
        """The DShield ``ip`` object, unwrapped legacy form included."""
        ds = self.get(r, "dshield")
        missing = f"{self.get(r, 'dshield', 'ip')} IS NULL"
        return f"(CASE WHEN {missing} THEN {ds} ELSE {self.get(r, 'dshield', 'ip')} END)"

    def maxmind_asn(self, r: str) -> str:
        return self._maxmind_asn(self.get(r, "maxmind"))

    def _maxmind_asn(self, raw: str) -> str:
        return f"COALESCE({self.asn(self.get(raw, 'asn'))}, {self.asn(self.get(raw, 'autonomous_system_number'))})"

    def maxmind_country(self, r: str) -> str:
        return (
            f"COALESCE({self.cc(self.get(r, 'maxmind', 'country'))}, "
            f"{self.cc(self.get(r, 'maxmind', 'country', 'iso_code'))})"
        )

    def spur_asn(self, r: str) -> str:
        return f"COALESCE({self.asn(self.get(r, 'spur', 'as', 'number'))}, {self.asn(self.get(r, 'spur', 0))})"

    def snapshot_asn(self, r: str) -> str:
        """``canonical_asn(normalise(...))`` straight from the legacy root."""
        ds = self.dshield_ip(r)
        return (
            f"COALESCE({self.asn(self.get(r, 'cymru', 'asn'))}, {self.maxmind_asn(r)}, "
            f"{self.asn(self.get(r, 'routing_history', 'asn'))}, {self.asn(self.get(r, 'embedded', 'asn'))}, "
            f"{self.spur_asn(r)}, {self.asn(self.get(ds, 'as'))})"
        )

    def snapshot_country(self, r: str) -> str:
        ds = self.dshield_ip(r)
        return (
            f"COALESCE({self.maxmind_country(r)}, {self.cc(self.get(r, 'cymru', 'country'))}, "
            f"{self.cc(self.get(ds, 'ascountry'))}, {self.cc(self.get(r, 'embedded', 'country'))})"
        )

    def snapshot_ip_types(self, r: str) -> str:
        """SPUR client types: TEXT[] on PostgreSQL, a JSON array on SQLite; NULL when unknown."""
        obj_types = self.get(r, "spur", "client", "types")
        list_types = self.get(r, "spur", 6)
        d = self.d
        return (
            f"(CASE WHEN {d.json_type(obj_types)} = 'array' THEN {d.json_text_list(obj_types)} "
            f"WHEN {d.json_nonempty_array(list_types)} THEN {d.json_text_list(list_types)} "
            f"WHEN {self.txt(list_types)} <> '' THEN {d.text_list_split(self.txt(list_types))} END)"
        )

    def org(self, r: str, asn: str) -> tuple[str, str, str]:
        """SQL for ``canonical_org``: (name, country, registry) from sources that named ``asn``."""
        ds = self.dshield_ip(r)

        def named(x: str) -> str:
            return f"NULLIF({self.txt(x)}, '')"

        cymru_asn = self.asn(self.get(r, "cymru", "asn"))
        ds_asn = self.asn(self.get(ds, "as"))
        name = (
            f"COALESCE(CASE WHEN {cymru_asn} = {asn} THEN COALESCE({named(self.get(r, 'cymru', 'as_name'))}, "
            f"{named(self.get(r, 'cymru', 'asname'))}) END, "
            f"CASE WHEN {self.maxmind_asn(r)} = {asn} THEN COALESCE({named(self.get(r, 'maxmind', 'as_org'))}, "
            f"{named(self.get(r, 'maxmind', 'autonomous_system_organization'))}) END, "
            f"CASE WHEN {self.spur_asn(r)} = {asn} THEN COALESCE({named(self.get(r, 'spur', 'as', 'organization'))}, "
            f"{named(self.get(r, 'spur', 1))}) END, "
            f"CASE WHEN {ds_asn} = {asn} THEN {named(self.get(ds, 'asname'))} END)"
        )
        country = (
            f"COALESCE(CASE WHEN {ds_asn} = {asn} THEN {self.cc(self.get(ds, 'ascountry'))} END, "
            f"CASE WHEN {cymru_asn} = {asn} THEN {self.cc(self.get(r, 'cymru', 'country'))} END)"
        )
        reg = self.txt(self.get(r, "cymru", "registry"))
        registry = f"(CASE WHEN {cymru_asn} = {asn} AND length({reg}) BETWEEN 1 AND 16 THEN {reg} END)"
        return name, country, registry

    def document_query(self, inner: str) -> str:
        """``normalise()`` in SQL: wraps ``inner`` (a SELECT with a column ``r``, the legacy root) and adds
        ``doc``, the canonical document (``{}`` when nothing is left).

        Built in layers of derived columns: one nested expression would exceed SQLite's parser depth.
        """
        r = "l0.r"
        layer1 = {f"_cp_{name}": self._source(name, r) for name in SOURCES if name not in ("spur", "maxmind")}
        spur = self.get(r, "spur")
        at = {f: self.get(spur, i) for i, f in enumerate(SPUR_LIST_FIELDS)}
        types = (
            f"(CASE WHEN {self.txt(at['client.types'])} <> '' THEN {self.split(self.txt(at['client.types']))} "
            f"ELSE {at['client.types']} END)"
        )
        layer1["_cp_sp_tunnel"] = self.obj(
            [(f.split(".")[1], at[f]) for f in SPUR_LIST_FIELDS if f.startswith("tunnel.")]
        )
        layer1["_cp_sp_client"] = self.obj(
            [
                (f.split(".")[1], types if f == "client.types" else at[f])
                for f in SPUR_LIST_FIELDS
                if f.startswith("client.")
            ]
        )
        layer1["_cp_sp_as"] = self.obj(
            [("number", self.json_int(self.asn(at["as.number"]))), ("organization", at["as.organization"])]
        )
        mm_pairs = self._maxmind_pairs(self.get(r, "maxmind"))
        layer1["_cp_mm"] = self.obj(mm_pairs)
        layer1["_cp_mm_data"] = self.obj([p for p in mm_pairs if p[0] != "database"])

        spur_list = self.obj(
            [
                ("as", "l1._cp_sp_as"),
                ("organization", at["organization"].replace(r, "l1.r")),
                ("infrastructure", at["infrastructure"].replace(r, "l1.r")),
                ("client", "l1._cp_sp_client"),
                ("risks", at["risks"].replace(r, "l1.r")),
                ("services", at["services"].replace(r, "l1.r")),
                ("location", at["location"].replace(r, "l1.r")),
                ("tunnels", f"(CASE WHEN l1._cp_sp_tunnel IS NOT NULL THEN {self.arr1('l1._cp_sp_tunnel')} END)"),
            ]
        )
        spur1 = self.get("l1.r", "spur")
        layer2 = {
            "_cp_spur": f"(CASE WHEN {self.typ(spur1)} = 'array' THEN {spur_list} "
            f"WHEN {self.has_data(spur1)} THEN {spur1} END)",
            "_cp_maxmind": f"(CASE WHEN {self.typ(self.get('l1.r', 'maxmind'))} = 'object' "
            f"AND l1._cp_mm_data IS NOT NULL THEN l1._cp_mm END)",
        }
        doc = f"COALESCE({self.obj([(name, f'l2._cp_{name}') for name in SOURCES])}, {self.d.json_empty_object()})"
        cols1 = ", ".join(f"{v} AS {k}" for k, v in layer1.items())
        cols2 = ", ".join(f"{v} AS {k}" for k, v in layer2.items())
        return (
            f"SELECT l2.*, {doc} AS doc FROM (SELECT l1.*, {cols2} FROM "
            f"(SELECT l0.*, {cols1} FROM ({inner}) AS l0) AS l1) AS l2"
        )

    def _source(self, name: str, r: str) -> str:
        raw = self.get(r, name)
        if name == "dshield":
            wrapped = f"(CASE WHEN {self.get(raw, 'ip')} IS NULL THEN {self._wrap_ip(raw)} ELSE {raw} END)"
            return (
                f"(CASE WHEN {self.typ(raw)} = 'object' AND "
                f"{self.has_data(self.dshield_ip(r), ignore=('number',))} THEN {wrapped} END)"
            )
        if name == "urlhaus":
            tags = self.txt(raw)
            return (
                f"(CASE WHEN {tags} <> '' THEN {self.obj([('tags', self.split(tags))])} "
                f"WHEN {self.typ(raw)} = 'array' AND NOT {self.empty(raw)} THEN {self.obj([('tags', raw)])} "
                f"WHEN {self.has_data(raw, ignore=())} THEN {raw} END)"
            )
        if name == "cymru":
            asn = self.asn(self.get(raw, "asn"))
            asns = (
                f"(CASE WHEN {self.typ(self.get(raw, 'asns'))} = 'array' THEN {self.get(raw, 'asns')} "
                f"WHEN {asn} IS NOT NULL THEN {self.arr1(self.json_int(asn))} END)"
            )
            as_name = (
                f"(CASE WHEN NOT {self.empty(self.get(raw, 'as_name'))} THEN {self.get(raw, 'as_name')} "
                f"ELSE {self.get(raw, 'asname')} END)"
            )
            pairs = [("asn", self.json_int(asn)), ("asns", asns)]
            pairs += [(k, self.get(raw, k)) for k in ("prefix", "country", "registry", "allocated")]
            pairs.append(("as_name", as_name))
            return f"(CASE WHEN {self.typ(raw)} = 'object' THEN {self.obj(pairs)} END)"
        return f"(CASE WHEN {self.has_data(raw)} THEN {raw} END)"

    def _wrap_ip(self, raw: str) -> str:
        return self.d.json_pair("ip", raw)

    def _maxmind_pairs(self, raw: str) -> list[tuple[str, str]]:
        def either(a: str, b: str) -> str:
            return f"(CASE WHEN NOT {self.empty(a)} THEN {a} ELSE {b} END)"

        def iso(key: str) -> str:
            v = self.get(raw, key)
            return f"(CASE WHEN {self.typ(v)} = 'object' THEN {self.get(v, 'iso_code')} ELSE {v} END)"

        city = self.get(raw, "city")
        loc = self.get(raw, "location")
        return [
            ("country", iso("country")),
            ("registered_country", iso("registered_country")),
            ("asn", self.json_int(self._maxmind_asn(raw))),
            ("as_org", either(self.get(raw, "as_org"), self.get(raw, "autonomous_system_organization"))),
            ("network", self.get(raw, "network")),
            ("database", self.get(raw, "database")),
            ("city", f"(CASE WHEN {self.typ(city)} = 'object' THEN {self.get(city, 'names', 'en')} ELSE {city} END)"),
            ("latitude", self._present_or(raw, "latitude", self.get(loc, "latitude"))),
            ("longitude", self._present_or(raw, "longitude", self.get(loc, "longitude"))),
        ]

    def _present_or(self, raw: str, key: str, fallback: str) -> str:
        return f"(CASE WHEN {self.get(raw, key)} IS NOT NULL THEN {self.get(raw, key)} ELSE {fallback} END)"

    def enrichment_time(self, e: str, r: str) -> str:
        """The enrichment's own time as a value for a timestamp column of this dialect, or NULL."""
        candidates = [self.txt(self.get(holder, key)) for holder in (r, e) for key in TIME_KEYS]
        parsed = [self.d.parse_utc(c) for c in candidates]
        return f"COALESCE({', '.join(parsed)})"


#: PostgreSQL helper for ``enrichment_time`` (declared with the dialect's ``parse_utc``).
PG_TRY_TIMESTAMPTZ = PostgreSQL.TRY_TIMESTAMPTZ_SQL
