"""A bound on a request's *total* time, for HTTP (an httpx transport) and for raw sockets (whois).

httpx's timeouts bound each read: a server that drips one byte a second never trips a 10 s read timeout
and holds the run for as long as it likes. The transport here wraps httpcore's network streams so that
each read, write and connect is given at most the time left before the request's deadline; past it the
operation fails as a timeout. The deadline is per thread (a source may be used from several).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx


class DeadlineExceeded(TimeoutError):
    """The request ran past its total time (whatever each single read took)."""


class _Deadlines(threading.local):
    at: float | None = None


class Deadline:
    """The time left for the current thread's request; :meth:`running` sets it for one request."""

    def __init__(self) -> None:
        self._local = _Deadlines()

    @contextmanager
    def running(self, seconds: float) -> Iterator[None]:
        self._local.at = time.monotonic() + seconds
        try:
            yield
        finally:
            self._local.at = None

    def passed(self) -> bool:
        at = self._local.at
        return at is not None and time.monotonic() >= at

    def bound(self, timeout: float | None) -> float | None:
        """``timeout`` shortened to the time left; raises httpcore's timeout once nothing is left."""
        at = self._local.at
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("total time exceeded")
        return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.bound(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.bound(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._deadline.bound(timeout))
        return _Stream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend, deadline: Deadline) -> None:
        self._backend, self._deadline = backend, deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, self._deadline.bound(timeout), local_address, socket_options)
        return _Stream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, self._deadline.bound(timeout), socket_options)
        return _Stream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def transport(deadline: Deadline) -> httpx.HTTPTransport:
    """httpx's own transport, its connections bound by ``deadline``.

    httpx does not expose httpcore's ``network_backend``; the pool's backend is swapped after the fact
    (checked by the slow-drip tests, which fail if this stops having an effect)."""
    made = httpx.HTTPTransport()
    pool = made._pool
    pool._network_backend = _Backend(pool._network_backend, deadline)
    return made


def recv_all(conn: socket.socket, timeout: float, total: float, limit: int) -> bytes:
    """Everything ``conn`` sends until it closes: each read within ``timeout``, all within ``total`` seconds,
    at most ``limit`` bytes (:class:`DeadlineExceeded`, :class:`ResponseTooLarge` otherwise)."""
    end = time.monotonic() + total
    chunks: list[bytes] = []
    size = 0
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded(f"no complete answer within {total:g} s")
        conn.settimeout(min(timeout, left))
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            if time.monotonic() >= end:
                raise DeadlineExceeded(f"no complete answer within {total:g} s") from None
            raise
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise ResponseTooLarge(f"answer longer than {limit} bytes")
        chunks.append(chunk)


class ResponseTooLarge(Exception):
    """The answer passed the source's ``max_response_bytes``: refused, never buffered whole."""
