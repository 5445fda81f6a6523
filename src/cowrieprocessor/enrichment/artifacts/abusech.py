"""abuse.ch: MalwareBazaar ``get_info`` (files), URLhaus ``url`` and ``host`` look-ups; ``Auth-Key`` header.

Every answer is HTTP 200 with a ``query_status``: ``ok`` is an answer, ``hash_not_found`` / ``no_results``
mean the provider does not know the subject (``not_found``, kept and asked again after ``unknown_days``),
``invalid_url`` / ``invalid_host`` / ``illegal_hash`` mean it never will (also ``not_found``); anything
else (``unknown_auth_key``...) is an error of the call.
"""

from __future__ import annotations

from typing import Any

import httpx

from cowrieprocessor.enrichment.artifacts.http import ArtifactHttpSource, Refused
from cowrieprocessor.enrichment.fields import INT, SCALAR, TEXT, Items, Map, Spec, Text
from cowrieprocessor.enrichment.http import MalformedResponse, json_object
from cowrieprocessor.enrichment.ledger import Outcome

MALWAREBAZAAR: Spec = {
    "sha256_hash": Text(64),
    "sha1_hash": Text(40),
    "md5_hash": Text(32),
    "first_seen": Text(32),
    "last_seen": Text(32),
    "file_name": TEXT,
    "file_size": INT,
    "file_type_mime": Text(64),
    "file_type": Text(32),
    "reporter": Text(64),
    "origin_country": Text(8),
    "signature": Text(64),
    "tags": Items(Text(64), limit=32),
    "delivery_method": Text(64),
    "intelligence": {"clamav": Items(TEXT, limit=16), "downloads": SCALAR, "uploads": SCALAR, "mail": SCALAR},
}
URLHAUS_URL: Spec = {
    "id": SCALAR,
    "urlhaus_reference": Text(128),
    "url_status": Text(16),
    "host": Text(255),
    "date_added": Text(32),
    "last_online": Text(32),
    "threat": Text(64),
    "blacklists": Map(Text(32), limit=8),
    "reporter": Text(64),
    "larted": SCALAR,
    "takedown_time_seconds": SCALAR,
    "tags": Items(Text(64), limit=32),
    "payloads": Items(
        {
            "firstseen": Text(32),
            "filename": TEXT,
            "file_type": Text(32),
            "response_size": SCALAR,
            "response_md5": Text(32),
            "response_sha256": Text(64),
            "signature": Text(64),
        },
        limit=16,
    ),
}
URLHAUS_HOST: Spec = {
    "urlhaus_reference": Text(128),
    "host": Text(255),
    "firstseen": Text(32),
    "url_count": SCALAR,
    "blacklists": Map(Text(32), limit=8),
    "urls": Items(
        {
            "id": SCALAR,
            "url": Text(1024),
            "url_status": Text(16),
            "date_added": Text(32),
            "threat": Text(64),
            "tags": Items(Text(64), limit=16),
        },
        limit=32,
    ),
}
UNKNOWN = frozenset({"hash_not_found", "no_results", "illegal_hash", "invalid_url", "invalid_host"})


def _status(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    if response.status_code != 200:
        return "", {}
    body = json_object(response)
    status = body.get("query_status")
    if not isinstance(status, str):
        raise MalformedResponse("no query_status")
    return status, body


class _AbuseCh(ArtifactHttpSource):
    method = "POST"
    path = "/"

    def request(self, ip: str) -> tuple[str, dict[str, str], dict[str, str]]:
        return self.path, {}, {"Auth-Key": self.key or ""}

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        return body

    def interpret(self, ip: str, response: httpx.Response) -> tuple[Outcome, dict[str, Any] | None]:
        if response.status_code != 200:
            return Outcome.ERROR, None
        status, body = _status(response)
        if status == "ok":
            return Outcome.FOUND, self.answer(body)
        if status in UNKNOWN:
            return Outcome.NOT_FOUND, None
        raise Refused(status)


class MalwareBazaarSource(_AbuseCh):
    name = "malwarebazaar"
    version = "v1-get_info"
    subject = "file"
    fields = MALWAREBAZAAR
    path = "/api/v1/"

    def form(self, subject: str) -> dict[str, str] | None:
        return {"query": "get_info", "hash": subject}

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        data = body.get("data")
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise MalformedResponse("no data[0]")
        first: dict[str, Any] = data[0]
        return first


class _URLhaus(_AbuseCh):
    """URLhaus asks ``/v1/<subject>/`` with the subject as its one form field (``url=`` or ``host=``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.path = f"/v1/{cls.subject}/"
        cls.version = f"v1-{cls.subject}"

    def form(self, subject: str) -> dict[str, str] | None:
        return {self.subject: subject}


class URLhausURLSource(_URLhaus):
    name = "urlhaus_url"
    subject = "url"
    fields = URLHAUS_URL


class URLhausHostSource(_URLhaus):
    name = "urlhaus_host"
    subject = "host"
    fields = URLHAUS_HOST
