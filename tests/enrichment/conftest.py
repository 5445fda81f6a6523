"""Local servers that speak each provider's real protocol on 127.0.0.1, and a controllable clock."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dnslib import QTYPE, RR, TXT, DNSRecord

from cowrieprocessor.enrichment.ledger import MemoryLedger
from cowrieprocessor.enrichment.ratelimit import REGISTRY, Clock
from tests.servers import LocalDNS, LocalHTTP, Zone


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    """Limiters, budgets and breakers are per process: each test starts with new ones."""
    REGISTRY.clear()
    yield
    REGISTRY.clear()


class FakeClock(Clock):
    """Time that moves only when something sleeps; every sleep is recorded."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.t = 1000.0
        self.start = start or dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.UTC)
        self.sleeps: list[float] = []
        super().__init__(monotonic=lambda: self.t, sleep=self._sleep, now=self._now)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def _now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.t - 1000.0)

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger()


# ------------------------------------------------------------------------------------------- HTTP ---


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON, str/bytes -> as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class FakeAPI(LocalHTTP):
    """Replies per path prefix from a queue (the last reply repeats); records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                with api.lock:
                    api.requests.append(
                        Seen(parts.path, parse_qs(parts.query, keep_blank_values=True), dict(self.headers))
                    )
                    reply = api._next(parts.path)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                data = (
                    json.dumps(body).encode()
                    if isinstance(body, dict | list)
                    else (body.encode() if isinstance(body, str) else (body or b""))
                )
                try:
                    self.send_response(reply.status)
                    content_type = "application/json" if isinstance(body, dict | list) else "text/plain"
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                return None

        super().__init__(Handler)

    def _next(self, path: str) -> Reply:
        for prefix in sorted(self.routes, key=len, reverse=True):
            if path.startswith(prefix):
                queue = self.routes[prefix]
                return queue.pop(0) if len(queue) > 1 else queue[0]
        return Reply(404, {"message": "no route in fake"})

    def on(self, prefix: str, *replies: Reply) -> None:
        self.routes[prefix] = list(replies)


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    server = FakeAPI()
    yield server
    server.close()


class RawHTTP(LocalHTTP):
    """An HTTP/1.1 server whose every reply is written by ``respond(path, wfile)``, status line included:
    endless, dripping, lying about its length - what a hostile provider can send."""

    def __init__(self, respond: Callable[[str, Any], None]) -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.requests += 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    respond(self.path, self.wfile)
                self.close_connection = True

            def log_message(self, *args: Any) -> None:
                return None

        super().__init__(Handler)


# ------------------------------------------------------------------------------------------ whois ---


class FakeWhois:
    """Team Cymru bulk whois on TCP: reads ``begin ... end``, answers with ``reply(ips)``; or, with
    ``stream``, lets ``stream(ips, wfile)`` write the answer after the header (slowly, endlessly...)."""

    def __init__(
        self, reply: Callable[[list[str]], str], stream: Callable[[list[str], Any], None] | None = None
    ) -> None:
        self.reply = reply
        self.queries: list[list[str]] = []
        self.delay = 0.0
        whois = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                lines: list[str] = []
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        break
                    line = raw.decode().strip()
                    if line == "end":
                        break
                    lines.append(line)
                assert lines[:2] == ["begin", "verbose"], lines[:2]
                ips = lines[2:]
                whois.queries.append(ips)
                if whois.delay:
                    time.sleep(whois.delay)
                stamp = "2024-05-02 12:00:00 +0000"
                if stream is None:
                    self.wfile.write(f"Bulk mode; whois.cymru.com [{stamp}]\n{whois.reply(ips)}".encode())
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(f"Bulk mode; whois.cymru.com [{stamp}]\n".encode())
                    stream(ips, self.wfile)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -------------------------------------------------------------------------------------------- DNS ---


class ZoneResolver(Zone):
    """TXT answers for exact names; anything else is NXDOMAIN."""

    def answers(self, request: DNSRecord, records: list[str]) -> list[RR]:
        if request.q.qtype != QTYPE.TXT:
            return []
        return [RR(request.q.qname, QTYPE.TXT, rdata=TXT(text), ttl=60) for text in records]


class FakeDNS(LocalDNS):
    def __init__(self, records: dict[str, list[str]]) -> None:
        self.resolver = ZoneResolver(records)
        super().__init__(self.resolver)
