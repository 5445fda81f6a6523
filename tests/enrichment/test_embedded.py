"""The embedded default (geoip2fast's shipped data): answers out of the box, no key, no download."""

from __future__ import annotations

import re

from cowrieprocessor.enrichment.base import LookupStatus
from cowrieprocessor.enrichment.embedded import EmbeddedSource


def test_answers_country_and_as_org_with_its_dataset_date() -> None:
    source = EmbeddedSource()
    answers = source.lookup_many(["8.8.8.8", "2001:4860:4860::8888", "192.168.1.1", "garbage"])
    google = answers["8.8.8.8"]
    assert google.status is LookupStatus.FOUND and google.data is not None
    assert google.data["country"] == "US" and google.data["as_org"] == "GOOGLE"
    assert google.data["network"] == "8.8.8.0/24"
    assert "asn" not in google.data  # the shipped data has AS names, not numbers: omitted, never guessed
    assert re.fullmatch(r"geoip2fast \S+ \(data of \d{4}-\d{2}-\d{2}\)", google.data["dataset"])
    assert google.provenance.version == google.data["dataset"]
    assert answers["2001:4860:4860::8888"].data["country"] == "US"  # type: ignore[index]
    assert answers["192.168.1.1"].status is LookupStatus.NOT_FOUND and answers["192.168.1.1"].data is None
    assert answers["garbage"].status is LookupStatus.ERROR
