"""The ASN-type rule (docs/asn-types.md): known AS numbers first, then the sources' own types and names."""

from __future__ import annotations

import pytest

from cowrieprocessor.tiers.classify import classify_asn
from cowrieprocessor.tiers.known_asns import KNOWN


def _type(org: str | None, asn: int | None = None, usage: str | None = None, datacenter: bool = False) -> str:
    return classify_asn(org, datacenter=datacenter, vpn=False, usage_type=usage, asn=asn).asn_type


@pytest.mark.parametrize(
    ("asn", "org", "expected"),
    [
        (1221, "Telstra Limited", "ISP"),  # the example: was UNKNOWN
        (4134, "Chinanet", "ISP"),
        (45899, "VNPT Corp", "ISP"),
        (14061, "DigitalOcean, LLC", "CLOUD"),
        (20473, "The Constant Company, LLC", "CLOUD"),  # Vultr: the name does not say so
        (49981, "WorldStream B.V.", "HOSTING"),
        (749, "United States Department of Defense (DoD)", "GOVERNMENT"),
        (1916, "Rede Nacional de Ensino e Pesquisa", "EDUCATION"),
        (25671, "Wholesale Air-time Inc.", "MOBILE"),
    ],
)
def test_known_as_numbers(asn: int, org: str, expected: str) -> None:
    assert _type(org, asn) == expected
    assert KNOWN[asn] == expected


@pytest.mark.parametrize(
    ("org", "expected"),
    [
        ("Some Telecomunicacoes Ltda", "ISP"),
        ("Example Broadband Networks", "ISP"),
        ("CHINANET Hunan province network", "ISP"),
        ("Acme Hosting LLC", "HOSTING"),
        ("Example IDC Co., Ltd", "HOSTING"),
        ("Universidad de Ejemplo", "EDUCATION"),
        ("Ministry of Example Affairs", "GOVERNMENT"),
        ("Example Mobile Communications", "MOBILE"),
        ("Accenture UK Limited", "UNKNOWN"),  # an enterprise network: nothing offline says its kind
        (None, "UNKNOWN"),
    ],
)
def test_name_rules(org: str | None, expected: str) -> None:
    assert _type(org, asn=64512) == expected  # a private-use AS number: never in the table


def test_the_sources_own_types_win_over_names() -> None:
    assert _type("Example Telecom", usage="Data Center/Web Hosting/Transit") == "HOSTING"
    assert _type("Example Telecom", datacenter=True) == "HOSTING"
    assert _type("Acme Corp", usage="Government") == "GOVERNMENT"
    assert _type("Acme Corp", usage="Mobile ISP") == "MOBILE"
    assert classify_asn("Acme Cloud", datacenter=False, vpn=False, usage_type=None).is_known_hosting is True
