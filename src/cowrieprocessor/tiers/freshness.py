"""When a source's answer for an IP goes stale: per source and per IP class, from one settings section.

Staleness follows the configuration in force, not the one an answer was written under: each provenance
entry records its ``fetched_at`` and the IP's ``class`` at that time, and an answer is stale once
``fetched_at`` + today's TTL for (source, class) has passed - so lowering ``hosting_days`` re-asks the
hosting IPs at the next ``enrich --refresh-stale``, and raising it keeps them. ``expires_at`` is still
written (what the TTL was then) and decides for failed calls (the retry time) and for entries written
before the class was recorded (none recorded: unknown freshness, stale). Bogons are never stale.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_, true

from cowrieprocessor.storage.tables import json_path
from cowrieprocessor.tiers.documents import is_bogon

if TYPE_CHECKING:
    from cowrieprocessor.tiers.ttls import TTLs

HOSTING_TYPES = {"CLOUD", "HOSTING"}
HOSTING_IP_TYPES = {"VPN", "DATACENTER", "PROXY", "TOR"}
#: The classes whose answers expire (``bogon`` never does).
EXPIRING = ("hosting", "residential")


@functools.lru_cache(maxsize=256)
def format_time(value: dt.datetime) -> str:
    """One fixed ISO form (UTC, microseconds) so stored times compare correctly as text on both backends.

    Cached: a pass formats the same few instants (its clock, plus each TTL) for every IP it writes."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


@dataclass(frozen=True)
class FreshnessPolicy:
    settings: TTLs
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

    def cutoff(self, source: str, ip_class: str, now: dt.datetime) -> str | None:
        """Answers of (source, class) fetched before this time are stale at ``now`` (None: never)."""
        ttl = self.ttl(source, ip_class)
        return None if ttl is None else format_time(now - ttl)

    def is_stale(self, source: str, entry: dict[str, Any], now: dt.datetime) -> bool:
        """One provenance entry, judged by today's TTLs (see the module's docstring)."""
        status, ip_class, now_text = entry.get("status"), entry.get("class"), format_time(now)
        if status == "skipped" or ip_class == "bogon":
            return False
        expires = entry.get("expires_at")
        if status == "error":
            return expires is not None and str(expires) < now_text
        if ip_class not in EXPIRING:  # written before the class was recorded: no expiry is unknown freshness
            return expires is None or str(expires) < now_text
        cutoff = self.cutoff(source, str(ip_class), now)
        return cutoff is not None and str(entry.get("fetched_at") or "") < cutoff

    def stale_condition(
        self, now: dt.datetime, source: str | ColumnElement[Any], field: Callable[[str], ColumnElement[Any]]
    ) -> ColumnElement[bool]:
        """:meth:`is_stale` in SQL, for one named source or for a column holding the source's name;
        ``field(name)`` gives a provenance entry's field as text. Times compare as text: every stored
        time has :func:`format_time`'s one form."""
        ip_class, fetched, status, expires = field("class"), field("fetched_at"), field("status"), field("expires_at")
        now_text = format_time(now)
        parts: list[ColumnElement[bool]] = []
        if isinstance(source, str):
            for name in EXPIRING:
                parts.append(and_(ip_class == name, fetched < self.cutoff(source, name, now)))
        else:
            overridden = sorted(self.settings.per_source)
            for src in overridden:
                for name in EXPIRING:
                    parts.append(and_(source == src, ip_class == name, fetched < self.cutoff(src, name, now)))
            others = source.not_in(overridden) if overridden else true()
            for name in EXPIRING:
                parts.append(and_(others, ip_class == name, fetched < self.cutoff("", name, now)))
        parts.append(and_(status == "error", expires < now_text))
        # written before the class was recorded: their own expiry; none recorded is unknown freshness
        parts.append(and_(ip_class.is_(None), status != "skipped", or_(expires.is_(None), expires < now_text)))
        return or_(*parts)

    def retry_at(self, now: dt.datetime) -> str:
        return format_time(now + dt.timedelta(hours=self.settings.error_retry_hours))

    def active_since(self, now: dt.datetime) -> dt.datetime:
        return now - dt.timedelta(days=self.settings.active_days)
