"""SPUR Context API v2: anonymity infrastructure (VPN, proxy, residential proxy...) behind an IP.

The object is stored as returned, reduced to its documented fields with bounded sizes (``fields.SPUR``).
400 (not a public IP) is "not found"; 401/403 is an error (bad token: the breaker soon stops the calls);
429 means the query balance is exhausted.
"""

from __future__ import annotations

from typing import Any

import httpx

from cowrieprocessor.enrichment import fields as documented
from cowrieprocessor.enrichment.http import HttpSource, MalformedResponse, json_object
from cowrieprocessor.enrichment.ledger import Outcome


class SpurSource(HttpSource):
    name = "spur"
    version = "context-v2"
    fields = documented.SPUR

    def request(self, ip: str) -> tuple[str, dict[str, str], dict[str, str]]:
        return f"/v2/context/{ip}", {}, ({"Token": self.key} if self.key else {})

    def interpret(self, ip: str, response: httpx.Response) -> tuple[Outcome, dict[str, Any] | None]:
        if response.status_code == 200:
            body = json_object(response)
            if "ip" not in body:
                raise MalformedResponse("ip missing")
            return Outcome.FOUND, body
        if response.status_code in (400, 404):
            return Outcome.NOT_FOUND, None
        return Outcome.ERROR, None
