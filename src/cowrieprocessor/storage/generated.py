"""SQL of the generated columns on ``ip_inventory``, per dialect.

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

#: Immutable helper on PostgreSQL: generated columns may not hold sub-queries, so the array conversion
#: lives in a function.
PG_TEXT_ARRAY_FUNCTION = "cowrieprocessor_jsonb_text_array"

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


GENERATED_SQL: dict[str, dict[str, str]] = {
    "geo_country": {
        "postgresql": (
            "COALESCE(NULLIF(enrichment->'maxmind'->>'country', ''), "
            "NULLIF(enrichment->'cymru'->>'country', ''), "
            "NULLIF(enrichment->'dshield'->'ip'->>'ascountry', ''), "
            "NULLIF(enrichment->'embedded'->>'country', ''), 'XX')"
        ),
        "sqlite": (
            "COALESCE(NULLIF(json_extract(enrichment, '$.maxmind.country'), ''), "
            "NULLIF(json_extract(enrichment, '$.cymru.country'), ''), "
            "NULLIF(json_extract(enrichment, '$.dshield.ip.ascountry'), ''), "
            "NULLIF(json_extract(enrichment, '$.embedded.country'), ''), 'XX')"
        ),
    },
    "ip_types": {
        "postgresql": f"{PG_TEXT_ARRAY_FUNCTION}(enrichment->'spur'->'client'->'types')",
        "sqlite": (
            "CASE WHEN json_type(enrichment, '$.spur.client.types') = 'array' "
            "THEN json_extract(enrichment, '$.spur.client.types') ELSE '[]' END"
        ),
    },
    "is_scanner": {
        "postgresql": (
            "COALESCE(CASE WHEN jsonb_typeof(enrichment->'greynoise'->'noise') = 'boolean' "
            "THEN (enrichment->'greynoise'->>'noise')::boolean END, false)"
        ),
        "sqlite": (
            "COALESCE(CASE WHEN json_type(enrichment, '$.greynoise.noise') IN ('true', 'false') "
            "THEN json_extract(enrichment, '$.greynoise.noise') END, 0)"
        ),
    },
    "is_bogon": {
        "postgresql": (
            "COALESCE(CASE WHEN jsonb_typeof(enrichment->'validation'->'is_bogon') = 'boolean' "
            "THEN (enrichment->'validation'->>'is_bogon')::boolean END, false)"
        ),
        "sqlite": (
            "COALESCE(CASE WHEN json_type(enrichment, '$.validation.is_bogon') IN ('true', 'false') "
            "THEN json_extract(enrichment, '$.validation.is_bogon') END, 0)"
        ),
    },
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
    texts = CURRENT_SQL[element.name]
    dialect = compiler.dialect.name
    if dialect not in texts:
        raise NotImplementedError(f"no generated-column SQL for {element.name!r} on {dialect}")
    return texts[dialect]
