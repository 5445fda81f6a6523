"""AbuseIPDB v2 ``check``: community abuse reports and a confidence score; stored as the ``data`` object."""

from __future__ import annotations

from typing import Any

import httpx

from cowrieprocessor.enrichment import fields as documented
from cowrieprocessor.enrichment.http import HttpSource, MalformedResponse, json_object
from cowrieprocessor.enrichment.ledger import Outcome

MAX_AGE_DAYS = "90"


class AbuseIPDBSource(HttpSource):
    name = "abuseipdb"
    version = "v2-check"
    fields = documented.ABUSEIPDB

    def request(self, ip: str) -> tuple[str, dict[str, str], dict[str, str]]:
        return (
            "/api/v2/check",
            {"ipAddress": ip, "maxAgeInDays": MAX_AGE_DAYS},
            {"Key": self.key or "", "Accept": "application/json"},
        )

    def interpret(self, ip: str, response: httpx.Response) -> tuple[Outcome, dict[str, Any] | None]:
        if response.status_code != 200:
            return Outcome.ERROR, None
        data = json_object(response).get("data")
        if not isinstance(data, dict) or "abuseConfidenceScore" not in data:
            raise MalformedResponse("no 'data' object")
        return Outcome.FOUND, data
