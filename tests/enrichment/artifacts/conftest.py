"""Local servers that speak the artifact providers' wire formats on 127.0.0.1, and a DNS server for A/AAAA.

``FakeProviders`` answers like VirusTotal API v3 (``GET /api/v3/files/{hash}``, ``x-apikey``; 404
``NotFoundError``), MalwareBazaar (``POST /api/v1/`` form ``query=get_info&hash=``; ``hash_not_found``) and
URLhaus (``POST /v1/url/`` form ``url=``, ``POST /v1/host/`` form ``host=``; ``no_results``), with the
``Auth-Key`` / ``x-apikey`` headers checked. What each provider knows is set per test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

import pytest
from dnslib import AAAA, QTYPE, RR, A, DNSRecord

from tests.servers import LocalDNS, LocalHTTP, Zone

VT_KEY = "vt-secret-key-0123456789"
ABUSE_KEY = "abuse-secret-key-0123456789"


def vt_attributes(sha256: str, *, malicious: int = 41, first_submission: int = 1_700_000_000) -> dict[str, Any]:
    """A VirusTotal v3 file object's attributes, as the API returns them (subset plus noise)."""
    return {
        "sha256": sha256,
        "last_analysis_stats": {
            "malicious": malicious, "suspicious": 0, "undetected": 66 - malicious - 2, "harmless": 0,
            "timeout": 0, "confirmed-timeout": 0, "failure": 0, "type-unsupported": 2,
        },
        "last_analysis_date": 1_714_000_000,
        "first_submission_date": first_submission,
        "times_submitted": 12,
        "type_description": "ELF",
        "type_tag": "elf",
        "size": 123456,
        "meaningful_name": "x86_64",
        "names": ["x86_64", "bins.sh"],
        "tags": ["elf", "64bits"],
        "reputation": -42,
        "popular_threat_classification": {
            "suggested_threat_label": "trojan.mirai/gafgyt",
            "popular_threat_category": [{"value": "trojan", "count": 30}],
            "popular_threat_name": [{"value": "mirai", "count": 25}],
        },
        "last_analysis_results": {"Engine": {"category": "malicious", "result": "Linux.Mirai"}},  # not kept
    }  # fmt: skip


@dataclass
class Request:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeProviders(LocalHTTP):
    vt: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha256 -> attributes
    bazaar: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha256 -> data[0]
    urls: dict[str, dict[str, Any]] = field(default_factory=dict)  # url -> answer
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)  # host -> answer
    #: path prefix -> number of 429 answers still to give before answering normally
    throttle: dict[str, int] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                with fake.lock:
                    fake.requests.append(Request(method, self.path, form, dict(self.headers)))
                    for prefix, left in fake.throttle.items():
                        if self.path.startswith(prefix) and left > 0:
                            fake.throttle[prefix] = left - 1
                            self._reply(429, {"error": {"code": "QuotaExceededError", "message": "quota"}},
                                        {"Retry-After": "1"})  # fmt: skip
                            return
                status, body = fake.answer(method, self.path, form, self.headers)
                self._reply(status, body)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, *args: Any) -> None:
                return None

        LocalHTTP.__init__(self, Handler)

    def answer(self, method: str, path: str, form: dict[str, str], headers: Any) -> tuple[int, Any]:
        if method == "GET" and path.startswith("/api/v3/files/"):
            if headers.get("x-apikey") != VT_KEY:
                return 401, {"error": {"code": "WrongCredentialsError", "message": "Wrong API key"}}
            sha = path.rsplit("/", 1)[1]
            if sha in self.vt:
                return 200, {"data": {"id": sha, "type": "file", "links": {"self": path}, "attributes": self.vt[sha]}}
            return 404, {"error": {"code": "NotFoundError", "message": f'File "{sha}" not found'}}
        if method != "POST":
            return 405, {"error": "method not allowed"}
        if headers.get("Auth-Key") != ABUSE_KEY:
            return 401, {"query_status": "unknown_auth_key"}
        if path == "/api/v1/":
            if form.get("query") != "get_info":
                return 200, {"query_status": "unknown_query"}
            sha = form.get("hash", "")
            if sha in self.bazaar:
                return 200, {"query_status": "ok", "data": [self.bazaar[sha]]}
            return 200, {"query_status": "hash_not_found"}
        if path == "/v1/url/":
            url = form.get("url", "")
            return 200, (
                {"query_status": "ok", **self.urls[url]} if url in self.urls else {"query_status": "no_results"}
            )
        if path == "/v1/host/":
            host = form.get("host", "")
            if host in self.hosts:
                return 200, {"query_status": "ok", **self.hosts[host]}
            return 200, {"query_status": "no_results"}
        return 404, {"query_status": "unknown_endpoint"}

    def asked(self, path_prefix: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]


@pytest.fixture
def providers() -> Iterator[FakeProviders]:
    fake = FakeProviders()
    yield fake
    fake.close()


class AddressZone(Zone):
    """A and AAAA answers for exact names; other names are NXDOMAIN."""

    def answers(self, request: DNSRecord, records: list[str]) -> list[RR]:
        qtype = request.q.qtype
        return [
            RR(request.q.qname, qtype, rdata=AAAA(address) if ":" in address else A(address), ttl=300)
            for address in records
            if (":" in address) == (qtype == QTYPE.AAAA) and qtype in (QTYPE.A, QTYPE.AAAA)
        ]


class AddressDNS(LocalDNS):
    def __init__(self, records: dict[str, list[str]]) -> None:
        self.zone = AddressZone(records)
        super().__init__(self.zone)
