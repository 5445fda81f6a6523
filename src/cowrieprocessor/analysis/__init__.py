"""The analyst's questions, one function each: behaviour -> IPs -> ASNs, then and now.

Every function takes an ``Engine`` (SQLite or PostgreSQL at schema v16) and returns plain frozen
dataclasses. They only read: the tiers are written by ingestion, the enrichment pipeline and the v15
migration.

Workflow (ADR-007): start from a behavioural key (``CampaignKey``: SSH key, password or username tried, command
signature, credential list), ``find_sessions`` / ``campaign_summary`` from snapshot columns alone (passwords
and usernames through the login attempts' index); ``attribution`` compares attack time
with now (one JOIN); ``infrastructure`` and ``related`` pivot to the ASNs and to other campaigns on them;
``top_asns``, ``asn_types``, ``persistent_ips``, ``movements`` and ``stale`` read the inventories alone.

The submodules load on first use of one of their names (``analysis.top_asns`` imports ``inventory`` alone):
a command pays only for the queries it runs (#21).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cowrieprocessor.analysis.attribution import (
        AttributionRow,
        InfrastructureRow,
        attribution,
        infrastructure,
    )
    from cowrieprocessor.analysis.inventory import (
        AsnRow,
        AsnTypeRow,
        MovementRow,
        PersistentIPRow,
        StaleIPRow,
        StaleRow,
        asn_types,
        movements,
        persistent_ips,
        stale,
        stale_ips,
        top_asns,
    )
    from cowrieprocessor.analysis.keys import CampaignKey, KeyKind, hash_password
    from cowrieprocessor.analysis.related import RelatedRow, related
    from cowrieprocessor.analysis.session_search import (
        CampaignGroup,
        CampaignReport,
        SessionFilter,
        SessionRow,
        campaign_summary,
        find_sessions,
    )

#: Where each public name lives (a test keeps it equal to ``__all__`` and to the imports above).
_HOME = {
    "AttributionRow": "attribution",
    "InfrastructureRow": "attribution",
    "attribution": "attribution",
    "infrastructure": "attribution",
    "AsnRow": "inventory",
    "AsnTypeRow": "inventory",
    "MovementRow": "inventory",
    "PersistentIPRow": "inventory",
    "StaleIPRow": "inventory",
    "StaleRow": "inventory",
    "asn_types": "inventory",
    "movements": "inventory",
    "persistent_ips": "inventory",
    "stale": "inventory",
    "stale_ips": "inventory",
    "top_asns": "inventory",
    "CampaignKey": "keys",
    "KeyKind": "keys",
    "hash_password": "keys",
    "RelatedRow": "related",
    "related": "related",
    "CampaignGroup": "session_search",
    "CampaignReport": "session_search",
    "SessionFilter": "session_search",
    "SessionRow": "session_search",
    "campaign_summary": "session_search",
    "find_sessions": "session_search",
}

__all__ = [
    "AsnRow",
    "AsnTypeRow",
    "AttributionRow",
    "CampaignGroup",
    "CampaignKey",
    "CampaignReport",
    "InfrastructureRow",
    "KeyKind",
    "MovementRow",
    "PersistentIPRow",
    "RelatedRow",
    "SessionFilter",
    "SessionRow",
    "StaleIPRow",
    "StaleRow",
    "asn_types",
    "attribution",
    "campaign_summary",
    "find_sessions",
    "hash_password",
    "infrastructure",
    "movements",
    "persistent_ips",
    "related",
    "stale",
    "stale_ips",
    "top_asns",
]


class _Package(types.ModuleType):
    """Keeps ``analysis.related`` and ``analysis.attribution`` the functions: importing a submodule binds the
    module to its package under its name, which would hide the function of the same name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _HOME.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # once: later look-ups are plain attribute reads
    return value
