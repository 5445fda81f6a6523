"""The rule that gives an AS its type, from the data we have - written down so analysts can trust it.

In order, first match wins (docs/asn-types.md has the reasoning and the measured coverage):
1. the AS number is in ``tiers.known_asns`` (clouds, hosting providers, carriers, research networks and
   government networks whose type is known): that type;
2. ``CLOUD``: the organisation name names a public cloud (Amazon, Google Cloud, Microsoft, Alibaba, Tencent,
   Oracle, IBM, Huawei Cloud, DigitalOcean, Linode/Akamai, Vultr/Choopa, OVH, Hetzner, Scaleway, Contabo);
3. ``HOSTING``: SPUR says ``infrastructure: DATACENTER`` for an IP of the AS, AbuseIPDB's usage type is
   "Data Center/Web Hosting/Transit", or the name has a hosting word (hosting, host, server, datacenter,
   data center, vps, colo(cation), cloud, dedicated, IDC, web services, compute);
4. ``EDUCATION``: usage type "University/College/School" or an academic word (university, college, school,
   academy, research, education, institute of technology, and their Romance/Slavic forms: universidad,
   ensino, pesquisa, akadem...);
5. ``GOVERNMENT``: usage type "Government", or a government word (ministry, department of, government, gov,
   federal, municipal, military, DoD);
6. ``MOBILE``: usage type "Mobile ISP" or a mobile word (mobile, wireless, cellular, lte, 5g, air-time);
7. ``ISP``: usage type "Fixed Line ISP" or an access word (telecom and its spellings in other languages,
   telco, telephone, telefon, broadband, banda ancha, communications, cable, isp, internet, net, network(s),
   netcom, fib(er|ra), unicom, chinanet, province network, backbone, vodafone, orange, telenor, airtel);
8. otherwise ``UNKNOWN`` (an enterprise's own network, most often: nothing offline tells its kind).

``is_known_hosting`` is CLOUD or HOSTING; ``is_known_vpn`` is set when SPUR reports a VPN tunnel or
``VPN`` client type on an IP of the AS, or the name says VPN.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from cowrieprocessor.storage.tables import json_path
from cowrieprocessor.tiers.known_asns import KNOWN

_CLOUD = re.compile(
    r"\b(amazon|aws|google cloud|google llc|microsoft|azure|alibaba|aliyun|tencent|oracle|ibm|huawei cloud|"
    r"digitalocean|linode|akamai|vultr|choopa|ovh|hetzner|scaleway|contabo)\b",
    re.IGNORECASE,
)
_HOSTING = re.compile(
    r"(hosting|\bhost|server|data ?cent(er|re)|\bvps\b|\bcolo|cloud|dedicated|\bidc\b|web services|compute)",
    re.IGNORECASE,
)
_EDUCATION = re.compile(
    r"(universi|college|school|academ|akadem|research|education|educacao|ensino|pesquisa|"
    r"institute of technology|\bnren\b)",
    re.IGNORECASE,
)
_GOVERNMENT = re.compile(
    r"(ministry|ministerio|department of|\bdod\b|government|\bgov\b|federal|municipal|military|"
    r"departemen|bundes)",
    re.IGNORECASE,
)
_MOBILE = re.compile(r"(mobile|wireless|cellular|\blte\b|\b5g\b|air-?time|celular)", re.IGNORECASE)
_ISP = re.compile(
    r"(tele(com|kom|fon|phone|com?unica|net)|telco|broadband|banda ancha|communications|comunica|cable|"
    r"\bisp\b|internet|\bnet\b|networks?\b|netcom|fib(er|ra|re)|unicom|chinanet|province network|backbone|"
    r"vodafone|orange|telenor|airtel|telia|\bvnpt\b|viettel)",
    re.IGNORECASE,
)
_VPN = re.compile(r"\bvpn\b", re.IGNORECASE)

USAGE_TYPES = {
    "Data Center/Web Hosting/Transit": "HOSTING",
    "University/College/School": "EDUCATION",
    "Government": "GOVERNMENT",
    "Military": "GOVERNMENT",
    "Mobile ISP": "MOBILE",
    "Fixed Line ISP": "ISP",
}


@dataclass(frozen=True)
class ASNClass:
    asn_type: str
    is_known_hosting: bool
    is_known_vpn: bool


def ip_evidence(document: dict[str, Any]) -> tuple[bool, bool, str | None]:
    """(datacenter, vpn, usage type) as one IP's enrichment shows them."""
    datacenter = json_path(document, ("spur", "infrastructure")) == "DATACENTER"
    types = json_path(document, ("spur", "client", "types"))
    tunnels = json_path(document, ("spur", "tunnels"))
    vpn = (isinstance(types, list) and "VPN" in types) or (
        isinstance(tunnels, list) and any(isinstance(t, dict) and t.get("type") == "VPN" for t in tunnels)
    )
    usage = json_path(document, ("abuseipdb", "usageType"))
    return datacenter, vpn, usage if isinstance(usage, str) else None


@functools.lru_cache(maxsize=1 << 14)
def classify_asn(
    org_name: str | None, *, datacenter: bool, vpn: bool, usage_type: str | None, asn: int | None = None
) -> ASNClass:
    name = org_name or ""
    usage = USAGE_TYPES.get(usage_type or "")
    known = KNOWN.get(asn) if asn is not None else None
    if known is not None:
        asn_type = known
    elif _CLOUD.search(name):
        asn_type = "CLOUD"
    elif datacenter or usage == "HOSTING" or _HOSTING.search(name):
        asn_type = "HOSTING"
    elif usage == "EDUCATION" or _EDUCATION.search(name):
        asn_type = "EDUCATION"
    elif usage == "GOVERNMENT" or _GOVERNMENT.search(name):
        asn_type = "GOVERNMENT"
    elif usage == "MOBILE" or _MOBILE.search(name):
        asn_type = "MOBILE"
    elif usage == "ISP" or _ISP.search(name):
        asn_type = "ISP"
    else:
        asn_type = "UNKNOWN"
    return ASNClass(asn_type, asn_type in {"CLOUD", "HOSTING"}, vpn or bool(_VPN.search(name)))
