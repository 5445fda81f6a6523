"""ASN types for ASNs that have none yet (the v15 -> v16 upgrade's, which v15 data never typed).

The rule is :func:`cowrieprocessor.tiers.classify.classify_asn`, the one the enrichment pass applies to new
ASNs, fed with the evidence the inventories already hold: the organisation name, and what the stored IP
documents say (SPUR ``DATACENTER`` or a VPN on any IP of the AS; the AbuseIPDB usage type most of its IPs
carry). No provider is asked: this runs inside the upgrade's transaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select, text

from cowrieprocessor.storage.models import ASNInventory, IPInventory
from cowrieprocessor.tiers import documents
from cowrieprocessor.tiers.classify import classify_asn, ip_evidence

_FETCH = 5_000


@dataclass
class _Evidence:
    datacenter: bool = False
    vpn: bool = False
    usage: Counter[str] = field(default_factory=Counter)
    org: str | None = None


def unclassified(bind: Connection) -> tuple[int, int]:
    """(ASNs without a type, their sessions): what ``query asn-types`` shows as the empty type."""
    row = bind.execute(
        select(func.count(), func.coalesce(func.sum(ASNInventory.total_session_count), 0)).where(
            ASNInventory.asn_type.is_(None)
        )
    ).one()
    return int(row[0]), int(row[1])


def classify_asns(bind: Connection) -> int:
    """Give every ASN without a type the type the enrichment pass's rule gives it; returns how many."""
    from cowrieprocessor.storage.backfill import Phase

    query = select(ASNInventory.asn_number, ASNInventory.organization_name).where(ASNInventory.asn_type.is_(None))
    names: dict[int, str | None] = {int(asn): name for asn, name in bind.execute(query).tuples()}
    phase = Phase("asn types", len(names))
    if not names:
        phase.update(0, finished=True)
        return 0
    evidence: dict[int, _Evidence] = {}
    ips = (
        select(IPInventory.current_asn, IPInventory.enrichment)
        .join(ASNInventory, ASNInventory.asn_number == IPInventory.current_asn)
        .where(ASNInventory.asn_type.is_(None))
    )
    for asn, document in bind.execute(ips.execution_options(yield_per=_FETCH)).tuples():
        seen = evidence.setdefault(int(asn), _Evidence())
        datacenter, vpn, usage = ip_evidence(document or {})
        seen.datacenter, seen.vpn = seen.datacenter or datacenter, seen.vpn or vpn
        if usage:
            seen.usage[usage] += 1
        if seen.org is None and document:
            seen.org = documents.pick_org(document)
    rows = []
    for asn, name in names.items():
        seen = evidence.get(int(asn), _Evidence())
        usage = seen.usage.most_common(1)[0][0] if seen.usage else None
        kind = classify_asn(name or seen.org, datacenter=seen.datacenter, vpn=seen.vpn, usage_type=usage)
        rows.append({"a": int(asn), "t": kind.asn_type, "h": kind.is_known_hosting, "v": kind.is_known_vpn})
    bind.execute(
        text("UPDATE asn_inventory SET asn_type = :t, is_known_hosting = :h, is_known_vpn = :v WHERE asn_number = :a"),
        rows,
    )
    types = Counter(r["t"] for r in rows)
    phase.update(len(rows), finished=True, note=", ".join(f"{n} {t}" for t, n in types.most_common()))
    return len(rows)
