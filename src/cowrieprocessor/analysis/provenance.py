"""``ip_inventory.provenance`` in SQL: one row per source's entry, its fields, and "stale by the TTLs in force".

Shared by the analysis questions (``query stale``, ``query overview``) and the report's sources section.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, literal_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import TableValuedAlias

from cowrieprocessor.analysis.sql import IPS
from cowrieprocessor.tiers.freshness import FreshnessPolicy
from cowrieprocessor.tiers.ttls import DEFAULTS

if TYPE_CHECKING:
    from cowrieprocessor.tiers.ttls import TTLs


def provenance_entries(dialect: str) -> TableValuedAlias:
    """One row (key, value) per source in ``ip_inventory.provenance`` (jsonb_each / json_each)."""
    name = "jsonb_each" if dialect == "postgresql" else "json_each"
    entries: TableValuedAlias = getattr(func, name)(IPS.c.provenance).table_valued("key", "value").alias("p")
    return entries


def entry_field(dialect: str, entry: TableValuedAlias, name: str) -> ColumnElement[Any]:
    """One field of a provenance entry, as text."""
    if dialect == "postgresql":
        return entry.c.value.op("->>")(literal_column(f"'{name}'"))
    return func.json_extract(entry.c.value, f"$.{name}")


def freshness_policy(freshness: TTLs | None) -> FreshnessPolicy:
    """The TTLs in force: the configuration's, or the defaults (``None``: no configuration was given)."""
    return FreshnessPolicy(DEFAULTS if freshness is None else freshness)


def stale_where(dialect: str, entry: TableValuedAlias, freshness: TTLs | None, moment: dt.datetime) -> Any:
    """Stale by the TTLs in force (``tiers.freshness``); bogons never are (they are never re-checked)."""
    policy = freshness_policy(freshness)
    return and_(
        IPS.c.is_bogon.is_(False),
        policy.stale_condition(moment, entry.c.key, lambda name: entry_field(dialect, entry, name)),
    )
