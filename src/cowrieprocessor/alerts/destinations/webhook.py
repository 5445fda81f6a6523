"""A generic JSON webhook: the alert's fields exactly as stored (JSON escapes them), plus a plain summary.

The body is ASCII JSON (``\\uNNNN`` for everything else), so bidi overrides and control characters arrive as
visible escapes; the receiver gets the exact values and an ``Idempotency-Key`` header that stays the same on
every attempt at the same alert.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cowrieprocessor.alerts.destinations.base import idempotency_key
from cowrieprocessor.alerts.destinations.http import JsonDestination
from cowrieprocessor.alerts.model import Alert
from cowrieprocessor.alerts.text import lines, plain


def payload(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "idempotency_key": idempotency_key(alert),
        "rule": alert.rule,
        "kind": alert.kind,
        "headline": alert.headline,
        "subject": alert.subject,
        "seen_at": alert.seen_at.astimezone(dt.UTC).isoformat() if alert.seen_at else None,
        "details": alert.details,
        "text": plain(lines(alert)),
    }


class WebhookDestination(JsonDestination):
    def payload(self, alert: Alert) -> dict[str, Any]:
        return payload(alert)
