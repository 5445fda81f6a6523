"""When a source's answer for an IP goes stale: per source and per IP class, from one settings section."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from cowrieprocessor.config import FreshnessSettings
from cowrieprocessor.storage.models import json_path
from cowrieprocessor.tiers.documents import is_bogon

HOSTING_TYPES = {"CLOUD", "HOSTING"}
HOSTING_IP_TYPES = {"VPN", "DATACENTER", "PROXY", "TOR"}


@functools.lru_cache(maxsize=256)
def format_time(value: dt.datetime) -> str:
    """One fixed ISO form (UTC, microseconds) so stored times compare correctly as text on both backends.

    Cached: a pass formats the same few instants (its clock, plus each TTL) for every IP it writes."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


@dataclass(frozen=True)
class FreshnessPolicy:
    settings: FreshnessSettings
    _expires: dict[tuple[str, str, dt.datetime], str | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def ip_class(self, document: dict[str, Any], asn_type: str | None) -> str:
        if is_bogon(document):
            return "bogon"
        types = json_path(document, ("spur", "client", "types"))
        hosting_ip = json_path(document, ("spur", "infrastructure")) == "DATACENTER" or (
            isinstance(types, list) and bool(HOSTING_IP_TYPES & {str(t) for t in types})
        )
        return "hosting" if hosting_ip or asn_type in HOSTING_TYPES else "residential"

    def ttl(self, source: str, ip_class: str) -> dt.timedelta | None:
        """``None``: never stale (bogons)."""
        if ip_class == "bogon":
            return None
        override = self.settings.per_source.get(source, {}).get(ip_class)
        if override is not None:
            return dt.timedelta(days=override)
        days = self.settings.hosting_days if ip_class == "hosting" else self.settings.residential_days
        return dt.timedelta(days=days)

    def expires_at(self, source: str, ip_class: str, fetched_at: dt.datetime) -> str | None:
        """Memoised: a pass asks for the same few (source, class, clock) triples for every IP it writes."""
        key = (source, ip_class, fetched_at)
        try:
            return self._expires[key]
        except KeyError:
            pass
        ttl = self.ttl(source, ip_class)
        value = None if ttl is None else format_time(fetched_at + ttl)
        if len(self._expires) > 4096:
            self._expires.clear()
        self._expires[key] = value
        return value

    def retry_at(self, now: dt.datetime) -> str:
        return format_time(now + dt.timedelta(hours=self.settings.error_retry_hours))

    def active_since(self, now: dt.datetime) -> dt.datetime:
        return now - dt.timedelta(days=self.settings.active_days)
