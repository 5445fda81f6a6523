"""GreyNoise Community API v3: is this IP an Internet scanner (``noise``) or a known benign service (``riot``)?

A 404 with the documented "not observed" message is an answer - the IP was not seen scanning - stored
as ``{"ip", "noise": false, "riot": false, "observed": false, "message"}``; it is not an error.
"""

from __future__ import annotations

from typing import Any

import httpx

from cowrieprocessor.enrichment import fields as documented
from cowrieprocessor.enrichment.http import HttpSource, MalformedResponse, json_object
from cowrieprocessor.enrichment.ledger import Outcome


class GreyNoiseSource(HttpSource):
    name = "greynoise"
    version = "community-v3"
    fields = documented.GREYNOISE

    def request(self, ip: str) -> tuple[str, dict[str, str], dict[str, str]]:
        return f"/v3/community/{ip}", {}, ({"key": self.key} if self.key else {})

    def interpret(self, ip: str, response: httpx.Response) -> tuple[Outcome, dict[str, Any] | None]:
        if response.status_code == 200:
            body = json_object(response)
            if not isinstance(body.get("noise"), bool) or not isinstance(body.get("riot"), bool):
                raise MalformedResponse("noise/riot missing")
            return Outcome.FOUND, body
        if response.status_code == 404:
            body = json_object(response)
            return Outcome.NOT_FOUND, {
                "ip": body.get("ip", ip),
                "noise": False,
                "riot": False,
                "observed": False,
                "message": body.get("message"),
            }
        return Outcome.ERROR, None
