"""The freshness TTLs' defaults, apart from the configuration's validation.

``config.FreshnessSettings`` takes its defaults from here and validates a configured section; a query that
judges staleness with no configuration given uses these directly and never imports pydantic (#21).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from cowrieprocessor.config import FreshnessSettings


@dataclass(frozen=True)
class DefaultTTLs:
    #: Days by source and class that replace the class's days (none by default).
    per_source: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    hosting_days: float = 7.0
    residential_days: float = 30.0
    error_retry_hours: float = 6.0  # after a failed call
    active_days: float = 90.0  # an IP seen within this many days is refreshed when stale


DEFAULTS = DefaultTTLs()

#: What ``tiers.freshness.FreshnessPolicy`` reads: the configuration's section, or the defaults.
TTLs: TypeAlias = "DefaultTTLs | FreshnessSettings"
