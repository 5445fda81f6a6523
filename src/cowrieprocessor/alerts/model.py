"""An alert as rules find it and destinations send it: what, about which thing, with which figures."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

#: What each kind of alert says, before its subject.
HEADLINES = {
    "new_campaign_key": "New campaign key",
    "new_asn": "New ASN",
    "download": "New download",
    "planted_key_login": "Login followed by a planted SSH key",
    "moved_asn": "IP moved to another ASN",
    "sensor_silent": "Sensor silent",
    "test": "Test alert",
}


def alert_id(rule: str, kind: str, subject: str, discriminator: str = "") -> str:
    """A stable id: the same finding always gets the same id (the outbox's key, the receiver's idempotency key)."""
    text = "\x00".join((rule, kind, subject, discriminator))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Alert:
    """One finding. ``subject`` and string ``details`` may be attacker text: stored exactly, escaped per
    destination when sent."""

    rule: str
    kind: str
    subject: str
    details: dict[str, Any] = field(default_factory=dict)
    seen_at: dt.datetime | None = None
    discriminator: str = ""
    #: Set when read back from the outbox (the stored id wins over a recomputed one).
    stored_id: str | None = None

    @property
    def id(self) -> str:
        return self.stored_id or alert_id(self.rule, self.kind, self.subject, self.discriminator)

    @property
    def headline(self) -> str:
        label = self.details.get("label_kind")
        base = HEADLINES.get(self.kind, self.kind)
        return f"{base} ({label})" if isinstance(label, str) else base
