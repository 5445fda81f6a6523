"""The analyst's questions, one function each: behaviour -> IPs -> ASNs, then and now.

Every function takes an ``Engine`` (SQLite or PostgreSQL at schema v16) and returns plain frozen
dataclasses. They only read: the tiers are written by ingestion, the enrichment pipeline and the v15
migration.

Workflow (ADR-007): start from a behavioural key (``CampaignKey``: SSH key, password or username tried, command
signature, credential list), ``find_sessions`` / ``campaign_summary`` from snapshot columns alone (passwords
and usernames through the login attempts' index); ``attribution`` compares attack time
with now (one JOIN); ``infrastructure`` and ``related`` pivot to the ASNs and to other campaigns on them;
``top_asns``, ``asn_types``, ``persistent_ips``, ``movements`` and ``stale`` read the inventories alone.
"""

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
