"""The rule that gives an AS its type, from the data we have - written down so analysts can trust it.

In order, first match wins:
1. ``CLOUD``: the organisation name names a public cloud (Amazon, Google Cloud, Microsoft, Alibaba, Tencent,
   Oracle, IBM, Huawei Cloud, DigitalOcean, Linode/Akamai, Vultr/Choopa, OVH, Hetzner, Scaleway, Contabo).
2. ``HOSTING``: SPUR says ``infrastructure: DATACENTER`` for an IP of the AS, AbuseIPDB's usage type is
   "Data Center/Web Hosting/Transit", or the name has a hosting word (hosting, host, server, datacenter,
   data center, vps, colo, cloud, dedicated).
3. ``EDUCATION``: usage type "University/College/School" or an academic word (university, college, school,
   academy, research, education, institute of technology).
4. ``MOBILE``: usage type "Mobile ISP" or a mobile word (mobile, wireless, cellular, lte, 5g).
5. ``ISP``: usage type "Fixed Line ISP" or an access word (telecom, broadband, communications, cable, isp,
   internet, net, telekom, telefonica, fibra, fiber).
6. otherwise ``UNKNOWN``.

``is_known_hosting`` is CLOUD or HOSTING; ``is_known_vpn`` is set when SPUR reports a VPN tunnel or
``VPN`` client type on an IP of the AS, or the name says VPN.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from cowrieprocessor.storage.models import json_path

_CLOUD = re.compile(
    r"\b(amazon|aws|google cloud|google llc|microsoft|azure|alibaba|aliyun|tencent|oracle|ibm|huawei cloud|"
    r"digitalocean|linode|akamai|vultr|choopa|ovh|hetzner|scaleway|contabo)\b",
    re.IGNORECASE,
)
_HOSTING = re.compile(r"(hosting|\bhost|server|data ?cent(er|re)|\bvps\b|\bcolo|cloud|dedicated)", re.IGNORECASE)
_EDUCATION = re.compile(r"(universit|college|school|academ|research|education|institute of technology)", re.I)
_MOBILE = re.compile(r"(mobile|wireless|cellular|\blte\b|\b5g\b)", re.IGNORECASE)
_ISP = re.compile(
    r"(telecom|broadband|communications|cable|\bisp\b|internet|\bnet\b|telekom|telefonica|fib(er|ra))", re.I
)
_VPN = re.compile(r"\bvpn\b", re.IGNORECASE)

USAGE_TYPES = {
    "Data Center/Web Hosting/Transit": "HOSTING",
    "University/College/School": "EDUCATION",
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
def classify_asn(org_name: str | None, *, datacenter: bool, vpn: bool, usage_type: str | None) -> ASNClass:
    name = org_name or ""
    usage = USAGE_TYPES.get(usage_type or "")
    if _CLOUD.search(name):
        asn_type = "CLOUD"
    elif datacenter or usage == "HOSTING" or _HOSTING.search(name):
        asn_type = "HOSTING"
    elif usage == "EDUCATION" or _EDUCATION.search(name):
        asn_type = "EDUCATION"
    elif usage == "MOBILE" or _MOBILE.search(name):
        asn_type = "MOBILE"
    elif usage == "ISP" or _ISP.search(name):
        asn_type = "ISP"
    else:
        asn_type = "UNKNOWN"
    return ASNClass(asn_type, asn_type in {"CLOUD", "HOSTING"}, vpn or bool(_VPN.search(name)))
