"""Fold one pass of source answers into an IP's current enrichment and per-source provenance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cowrieprocessor.enrichment.base import LookupResult, LookupStatus
from cowrieprocessor.tiers import documents
from cowrieprocessor.tiers.classify import ASNClass, classify_asn, ip_evidence
from cowrieprocessor.tiers.freshness import FreshnessPolicy, format_time


@dataclass
class IPState:
    """An IP's tier-2 row as the pass sees it (``previous_asn``: before this pass)."""

    ip: str
    enrichment: dict[str, Any]
    provenance: dict[str, Any]
    previous_asn: int | None
    current_asn: int | None = None
    asn_source: str | None = None
    asn_verified: bool = False
    asn_class: ASNClass | None = None
    answered: set[str] = field(default_factory=set)


def apply(state: IPState, results: dict[str, LookupResult], policy: FreshnessPolicy, now: dt.datetime) -> IPState:
    """Found: replace the source's key. Not found: drop it (unless the negative answer is data). Error:
    keep the old answer and retry later. Skipped (budget, breaker): leave everything, retry next pass."""
    answered: dict[str, LookupResult] = {}
    for source, res in results.items():
        if res.status is LookupStatus.FOUND and res.data:
            state.enrichment[source] = res.data
        elif res.status is LookupStatus.NOT_FOUND:
            if res.data:
                state.enrichment[source] = res.data
            else:
                state.enrichment.pop(source, None)
        elif res.status is LookupStatus.ERROR:
            state.provenance[source] = {
                "status": "error",
                "fetched_at": format_time(res.provenance.fetched_at),
                "version": res.provenance.version,
                "expires_at": policy.retry_at(now),
                "error": res.error,
            }
            continue
        else:
            continue
        answered[source] = res

    state.current_asn, state.asn_source = documents.pick_asn(state.enrichment)
    state.asn_verified = state.asn_source in answered
    datacenter, vpn, usage = ip_evidence(state.enrichment)
    state.asn_class = classify_asn(
        documents.pick_org(state.enrichment),
        datacenter=datacenter,
        vpn=vpn,
        usage_type=usage,
        asn=state.current_asn,
    )
    ip_class = policy.ip_class(state.enrichment, state.asn_class.asn_type)
    for source, res in answered.items():
        state.provenance[source] = {
            "status": res.status.value,
            "fetched_at": format_time(res.provenance.fetched_at),
            "version": res.provenance.version,
            # TTLs run from the pass's clock: one clock decides both "fetched" and "stale"
            "expires_at": policy.expires_at(source, ip_class, now),
            "class": ip_class,  # staleness is judged by today's TTL for this class (tiers.freshness)
        }
    state.answered = set(answered)
    return state


def mark_bogon_skips(state: IPState, sources: list[str], now: dt.datetime) -> None:
    """Bogons are never sent anywhere; record that each source was deliberately not asked, for good."""
    for source in sources:
        state.enrichment.pop(source, None)
        state.provenance[source] = {
            "status": "skipped",
            "reason": "bogon",
            "fetched_at": format_time(now),
            "version": None,
            "expires_at": None,
        }
