"""What every destination is: a name and a ``send`` that either returns (accepted) or raises DeliveryFailed."""

from __future__ import annotations

from typing import Protocol

from cowrieprocessor.alerts.model import Alert


class DeliveryFailed(Exception):
    """The destination did not accept the alert. The message is safe to store (never a URL or a secret).

    ``retry_after``: seconds the destination asked to wait (HTTP 429/503 ``Retry-After``). ``permanent``: trying
    again cannot help (a missing secret, a request the destination refuses as malformed)."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Destination(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...

    def close(self) -> None: ...


def idempotency_key(alert: Alert) -> str:
    """The same for every attempt at the same alert: receivers drop a repeat after a crash between send and mark."""
    return f"cowrieprocessor-alert-{alert.id}"
