"""One JSON POST with the alert's idempotency key; the failures are translated into DeliveryFailed."""

from __future__ import annotations

import email.utils
import json
from typing import Any

import httpx

from cowrieprocessor import __version__
from cowrieprocessor.alerts.destinations.base import DeliveryFailed, idempotency_key
from cowrieprocessor.alerts.model import Alert
from cowrieprocessor.alerts.settings import DestinationSettings

#: Answers worth trying again (the rest of the 4xx mean the request itself is refused).
RETRYABLE = {408, 409, 425, 429}


class JsonPoster:
    """An httpx client for one webhook URL (a secret: it never appears in an error, a log or the database)."""

    def __init__(self, url: str | None, timeout: float) -> None:
        self.url = url
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, headers={"User-Agent": f"cowrieprocessor/{__version__}"}
        )

    def post(self, payload: dict[str, Any], key: str) -> None:
        if not self.url:
            raise DeliveryFailed("no URL: its url_env variable is empty or its url_file is empty", permanent=True)
        try:
            body = json.dumps(payload, ensure_ascii=True, default=str, separators=(",", ":")).encode("ascii")
            headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"timeout ({exc.__class__.__name__})") from None
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"connection failed ({exc.__class__.__name__})") from None
        if 200 <= response.status_code < 300:
            return
        retry_after = _retry_after(response.headers.get("Retry-After"))
        permanent = 400 <= response.status_code < 500 and response.status_code not in RETRYABLE
        raise DeliveryFailed(f"HTTP {response.status_code}", retry_after=retry_after, permanent=permanent)

    def close(self) -> None:
        self._client.close()


class JsonDestination:
    """A destination that POSTs one JSON document per alert; subclasses shape the document."""

    def __init__(self, name: str, settings: DestinationSettings) -> None:
        self.name = name
        self._poster = JsonPoster(settings.url(), settings.timeout_seconds)

    def payload(self, alert: Alert) -> dict[str, Any]:
        raise NotImplementedError

    def send(self, alert: Alert) -> None:
        self._poster.post(self.payload(alert), idempotency_key(alert))

    def close(self) -> None:
        self._poster.close()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import datetime as dt

    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds()) if when.tzinfo else None
