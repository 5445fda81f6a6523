"""VirusTotal API v3 file report: ``GET /api/v3/files/{sha256}`` with ``x-apikey``.

200: ``data.attributes`` (detection stats, type, popular threat label, names, first submission); 404 with
error code ``NotFoundError``: VirusTotal has never seen the file - an answer (``not_found``), kept and asked
again after ``unknown_days``. 429 (``QuotaExceededError``) is the guard's: waited for or the source paused.
"""

from __future__ import annotations

from typing import Any

import httpx

from cowrieprocessor.enrichment.artifacts.http import ArtifactHttpSource
from cowrieprocessor.enrichment.fields import INT, TEXT, Items, Map, Spec, Text
from cowrieprocessor.enrichment.http import MalformedResponse, json_object
from cowrieprocessor.enrichment.ledger import Outcome

FIELDS: Spec = {
    "last_analysis_stats": Map(INT, limit=16),
    "last_analysis_date": INT,
    "first_submission_date": INT,
    "last_submission_date": INT,
    "times_submitted": INT,
    "type_description": Text(64),
    "type_tag": Text(32),
    "size": INT,
    "meaningful_name": TEXT,
    "names": Items(TEXT, limit=32),
    "tags": Items(Text(64), limit=32),
    "reputation": INT,
    "popular_threat_classification": {
        "suggested_threat_label": TEXT,
        "popular_threat_category": Items({"value": Text(64), "count": INT}, limit=8),
        "popular_threat_name": Items({"value": Text(64), "count": INT}, limit=8),
    },
}


class VirusTotalSource(ArtifactHttpSource):
    name = "virustotal"
    version = "v3-files"
    subject = "file"
    fields = FIELDS

    def request(self, ip: str) -> tuple[str, dict[str, str], dict[str, str]]:
        return f"/api/v3/files/{ip}", {}, {"x-apikey": self.key or ""}

    def interpret(self, ip: str, response: httpx.Response) -> tuple[Outcome, dict[str, Any] | None]:
        if response.status_code == 200:
            data = json_object(response).get("data")
            attributes = data.get("attributes") if isinstance(data, dict) else None
            if not isinstance(attributes, dict):
                raise MalformedResponse("no data.attributes")
            return Outcome.FOUND, attributes
        if response.status_code == 404:
            error = json_object(response).get("error")
            if isinstance(error, dict) and error.get("code") == "NotFoundError":
                return Outcome.NOT_FOUND, None
            raise MalformedResponse("404 without NotFoundError")
        return Outcome.ERROR, None
