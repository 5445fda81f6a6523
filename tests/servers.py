"""Local servers for tests: each on a free port of 127.0.0.1, served from a daemon thread until ``close``.

The fakes (providers' APIs, webhooks, dataset publishers, DNS zones) differ in what they answer; how they
listen is this one definition.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dnslib import QTYPE, RR, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class LocalHTTP:
    """An HTTP server answering with ``handler``; ``url`` is its base URL."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Zone(BaseResolver):  # type: ignore[misc]
    """Answers for exact names, made by ``answers`` from the name's records; any other name is NXDOMAIN.
    Records every question, ``(name, type)``."""

    def __init__(self, records: dict[str, list[str]]) -> None:
        self.records = {k.rstrip(".").lower(): v for k, v in records.items()}
        self.questions: list[tuple[str, str]] = []

    def answers(self, request: DNSRecord, records: list[str]) -> list[RR]:
        raise NotImplementedError

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        self.questions.append((qname, QTYPE[request.q.qtype]))
        records = self.records.get(qname)
        if records is None:
            reply.header.rcode = 3  # NXDOMAIN
            return reply
        for answer in self.answers(request, records):
            reply.add_answer(answer)
        return reply


class LocalDNS:
    """A DNS server (UDP) answering with a dnslib ``resolver``; ``address`` is its ``host:port``."""

    def __init__(self, resolver: Any) -> None:
        logger = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", logf=lambda _s: None)
        self.server = DNSServer(resolver, address="127.0.0.1", port=0, logger=logger)
        self.address = f"127.0.0.1:{self.server.server.server_address[1]}"
        threading.Thread(target=self.server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.stop()
        self.server.server.server_close()
