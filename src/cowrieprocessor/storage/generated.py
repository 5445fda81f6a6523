"""SQL of the generated columns on ``ip_inventory``, written once with each backend's JSON fragments.

The seed's fallbacks: country from MaxMind, then Team Cymru, then DShield, then the embedded offline
dataset (so a fresh install without downloads still has a country), else ``'XX'``; IP types from
SPUR's ``client.types`` (empty list when absent or not a list); scanner from GreyNoise's ``noise``; bogon
from the validation step. Non-boolean or empty values count as absent, so a legacy placeholder never
becomes a fact. ``IPInventory``'s hybrid properties compute the same in Python.

``GENERATED_SQL`` holds the texts the v16 migration created (it imports them: never change them);
``CURRENT_SQL`` is what the models compile to, the latest migration's: v18 upper-cases ``geo_country``
(sources and legacy documents spell countries ``us`` as well as ``US``), see ``GEO_COUNTRY_V18``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from cowrieprocessor.storage import dialects
from cowrieprocessor.storage.dialects import DIALECTS, Dialect, PostgreSQL

#: Immutable helper on PostgreSQL: generated columns may not hold sub-queries, so the array conversion
#: lives in a function.
PG_TEXT_ARRAY_FUNCTION = PostgreSQL.TEXT_ARRAY_FUNCTION

PG_CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {PG_TEXT_ARRAY_FUNCTION}(value jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN pg_catalog.jsonb_typeof(value) = 'array'
    THEN COALESCE(ARRAY(SELECT pg_catalog.jsonb_array_elements_text(value)), '{{}}'::text[])
    ELSE '{{}}'::text[] END
$$
"""

PG_DROP_FUNCTION = f"DROP FUNCTION IF EXISTS {PG_TEXT_ARRAY_FUNCTION}(jsonb)"


def snapshot_country_sql(geo_country: str = "geo_country") -> str:
    """A session's ``snapshot_country`` from its IP's generated ``geo_country`` (``'XX'``, unknown, is NULL).

    One spelling for both writers of snapshots, ingestion and the enrichment pass, so they freeze the same.
    """
    return f"substr(NULLIF({geo_country}, 'XX'), 1, 2)"


#: Where the generated columns look in ``enrichment``, in order.
COUNTRY_PATHS = (("maxmind", "country"), ("cymru", "country"), ("dshield", "ip", "ascountry"), ("embedded", "country"))


def _generated(column: str, d: Dialect) -> str:
    """The v16 text of one generated column, spelled by the backend's JSON fragments."""
    if column == "geo_country":
        found = ", ".join(f"NULLIF({d.json_text_at('enrichment', *path)}, '')" for path in COUNTRY_PATHS)
        return f"COALESCE({found}, 'XX')"
    if column == "ip_types":
        return d.generated_text_list("enrichment", "spur", "client", "types")
    if column == "is_scanner":
        return d.generated_bool("enrichment", "greynoise", "noise")
    if column == "is_bogon":
        return d.generated_bool("enrichment", "validation", "is_bogon")
    raise KeyError(column)


#: The texts migration v16 created, per column and backend (the migrations look them up by dialect name).
GENERATED_SQL: dict[str, dict[str, str]] = {
    column: {d.name: _generated(column, d) for d in DIALECTS.values()}
    for column in ("geo_country", "ip_types", "is_scanner", "is_bogon")
}


#: v18: the same fallbacks, upper-cased, so that ``--country AU`` finds an IP whatever case its source used.
GEO_COUNTRY_V18: dict[str, str] = {dialect: f"UPPER({text})" for dialect, text in GENERATED_SQL["geo_country"].items()}

#: What the models compile to (the head revision's expressions).
CURRENT_SQL: dict[str, dict[str, str]] = {**GENERATED_SQL, "geo_country": GEO_COUNTRY_V18}


class DialectSQL(ColumnElement[Any]):
    """A SQL text chosen by the dialect at compile time (for ``Computed`` columns)."""

    inherit_cache = False
    type = NullType()

    def __init__(self, name: str) -> None:
        self.name = name


@compiles(DialectSQL)
def _compile_dialect_sql(element: DialectSQL, compiler: Any, **kw: Any) -> str:
    return CURRENT_SQL[element.name][dialects.of(compiler.dialect).name]
