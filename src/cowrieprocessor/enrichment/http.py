"""Shared machinery of the JSON API sources (GreyNoise, SPUR, DShield, AbuseIPDB).

A subclass says how to ask (:meth:`HttpSource.request`) and how to read the answer
(:meth:`HttpSource.interpret`); everything about frugality is in :class:`~.guard.Guard`. Error strings
are built from status codes and exception class names only, so the key in a header never leaks.

Nothing a provider sends can hold or bloat a run: the body is streamed and refused past the source's
``max_response_bytes``, the whole request (connect, headers, body) is bounded by ``total_timeout_seconds``
however slowly the bytes drip, and only the fields the source's :data:`fields` names are kept
(:mod:`~.fields`), each with a bounded size.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from cowrieprocessor import __version__
from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, result
from cowrieprocessor.enrichment.deadline import Deadline, ResponseTooLarge
from cowrieprocessor.enrichment.deadline import transport as deadline_transport
from cowrieprocessor.enrichment.fields import Spec, keep
from cowrieprocessor.enrichment.guard import Attempt, Guard
from cowrieprocessor.enrichment.ledger import Ledger, Outcome
from cowrieprocessor.enrichment.ratelimit import SYSTEM_CLOCK, Clock
from cowrieprocessor.enrichment.settings import SourceSettings

USER_AGENT = f"cowrieprocessor/{__version__}"


class MalformedResponse(Exception):
    """The body was not what the documented API returns."""


class HttpSource:
    name = "http"
    online = True
    version = "v1"
    #: The documented fields of an answer, the only ones stored (see :mod:`~.fields`).
    fields: Spec = {}
    #: The request's method; a POST sends :meth:`form` as its body (abuse.ch's APIs).
    method = "GET"

    def __init__(
        self,
        section: SourceSettings,
        ledger: Ledger,
        *,
        key: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not section.base_url:
            raise ValueError(f"{self.name}: base_url is required")
        self.section = section
        self.key = key
        self.ledger = ledger
        self.guard = Guard.for_source(self.name, section, ledger, clock)
        self.deadline = Deadline()
        self.client = httpx.Client(
            base_url=section.base_url.rstrip("/"),
            timeout=section.timeout_seconds,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport if transport is not None else deadline_transport(self.deadline),
            follow_redirects=False,
        )

    # -- what subclasses provide ------------------------------------------------------------------
    def request(self, ip: str) -> tuple[str, dict[str, str], dict[str, str]]:
        """(path, query parameters, headers) for one IP."""
        raise NotImplementedError

    def interpret(self, ip: str, response: httpx.Response) -> tuple[Outcome, dict[str, Any] | None]:
        """Outcome and data for a non-429, non-5xx response; raise :class:`MalformedResponse`."""
        raise NotImplementedError

    def form(self, subject: str) -> dict[str, str] | None:
        """The ``application/x-www-form-urlencoded`` body of a POST (None: no body)."""
        return None

    # -- the call ---------------------------------------------------------------------------------
    def _fetch(self, ip: str) -> httpx.Response:
        """The response with its body read: streamed, and refused past ``max_response_bytes``."""
        path, params, headers = self.request(ip)
        limit = self.section.max_response_bytes
        with self.client.stream(
            self.method, path, params=params or None, headers=headers, data=self.form(ip)
        ) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise ResponseTooLarge(f"Content-Length {declared} > {limit}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise ResponseTooLarge(f"body longer than {limit} bytes")
        response._content = bytes(body)  # what ``read()`` would have set: ``json()`` and ``text`` use it
        return response

    def _attempt(self, ip: str) -> Attempt[dict[str, Any] | None]:
        started = time.monotonic()
        try:
            with self.deadline.running(self.section.total_timeout_seconds):
                response = self._fetch(ip)
        except ResponseTooLarge as exc:
            return Attempt(Outcome.ERROR, error_class=exc.__class__.__name__)
        except httpx.TimeoutException as exc:
            total = time.monotonic() - started >= self.section.total_timeout_seconds
            return Attempt(
                Outcome.ERROR, error_class="TotalTimeout" if total else exc.__class__.__name__, retryable=True
            )
        except (httpx.TransportError, httpx.DecodingError) as exc:
            return Attempt(Outcome.ERROR, error_class=exc.__class__.__name__, retryable=True)
        status = response.status_code
        if status == 429:
            return Attempt(Outcome.RATE_LIMITED, http_status=status, retry_after=retry_after(response.headers))
        if status >= 500:
            return Attempt(Outcome.ERROR, http_status=status, error_class="ServerError", retryable=True)
        try:
            outcome, data = self.interpret(ip, response)
        except MalformedResponse:
            return Attempt(Outcome.ERROR, http_status=status, error_class="MalformedResponse")
        except ValueError as exc:
            return Attempt(Outcome.ERROR, http_status=status, error_class=f"Malformed{exc.__class__.__name__}")
        if outcome is Outcome.ERROR:
            return Attempt(Outcome.ERROR, http_status=status, error_class=f"HTTP{status}")
        return Attempt(outcome, keep(data, self.fields) if data is not None else None, http_status=status)

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
        out: dict[str, LookupResult] = {}
        try:
            for ip in ips:
                call = self.guard.call(ip, lambda ip=ip: self._attempt(ip))  # type: ignore[misc]
                status = _STATUS[call.outcome]
                data = call.value if call.outcome in (Outcome.FOUND, Outcome.NOT_FOUND) else None
                out[ip] = result(self.name, ip, status, data, version=self.version, error=call.error)
        finally:
            self.ledger.flush()
        return out

    def close(self) -> None:
        """The connections, and the budget reserved ahead and not spent (back to the other processes)."""
        try:
            self.client.close()
        finally:
            self.guard.close()


_STATUS = {
    Outcome.FOUND: LookupStatus.FOUND,
    Outcome.NOT_FOUND: LookupStatus.NOT_FOUND,
    Outcome.ERROR: LookupStatus.ERROR,
    Outcome.RATE_LIMITED: LookupStatus.ERROR,
    Outcome.SKIPPED_BUDGET: LookupStatus.SKIPPED,
    Outcome.SKIPPED_BREAKER: LookupStatus.SKIPPED,
}


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent/invalid."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or :class:`MalformedResponse`."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedResponse("body is not JSON") from exc
    except RecursionError as exc:
        raise MalformedResponse("body nested too deep") from exc
    if not isinstance(body, dict):
        raise MalformedResponse("body is not a JSON object")
    return body
