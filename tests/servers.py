"""Local servers for tests: each on a free port of 127.0.0.1, served from a daemon thread until ``close``.

The fakes (providers' APIs, webhooks, dataset publishers, DNS zones) differ in what they answer; how they
listen is this one definition.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dnslib.server import DNSLogger, DNSServer


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
