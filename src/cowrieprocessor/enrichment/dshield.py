"""DShield / SANS ISC IP API: attack reports seen by the ISC sensors, plus AS and country.

No key, but ISC blocks default User-Agents: the source is off until ``DSHIELD_CONTACT`` (an e-mail or
URL) is set, and every request names it. The answer is stored as returned (``{"ip": {...}}``); an IP the
ISC knows nothing about (every field but ``number`` null) is "not found".
"""

from __future__ import annotations

from typing import Any

import httpx

from cowrieprocessor.enrichment import fields as documented
from cowrieprocessor.enrichment.http import USER_AGENT, HttpSource, MalformedResponse, json_object
from cowrieprocessor.enrichment.ledger import Outcome


class DShieldSource(HttpSource):
    name = "dshield"
    version = "isc-ip-api"
    fields = documented.DSHIELD

    def request(self, ip: str) -> tuple[str, dict[str, str], dict[str, str]]:
        agent = f"{USER_AGENT} (contact: {self.key})" if self.key else USER_AGENT
        return f"/api/ip/{ip}?json", {}, {"User-Agent": agent}

    def interpret(self, ip: str, response: httpx.Response) -> tuple[Outcome, dict[str, Any] | None]:
        if response.status_code == 404:
            return Outcome.NOT_FOUND, None
        if response.status_code != 200:
            return Outcome.ERROR, None
        body = json_object(response)
        record = body.get("ip")
        if not isinstance(record, dict):
            raise MalformedResponse("no 'ip' object")
        if all(value in (None, "", [], {}) for key, value in record.items() if key != "number"):
            return Outcome.NOT_FOUND, None
        return Outcome.FOUND, body
