"""The one interface every enrichment source implements, and the result it returns per IP."""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from cowrieprocessor.clock import utcnow as utcnow  # re-exported: where sources look for it


class LookupStatus(enum.StrEnum):
    """What a source said about one IP (``skipped``: it was not asked - budget, breaker, not applicable)."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Provenance:
    """Where an answer came from: the source, its version (database type + build date, API version...)."""

    source: str
    version: str | None
    fetched_at: dt.datetime

    def __post_init__(self) -> None:
        if self.fetched_at.tzinfo is None:
            raise ValueError("fetched_at must be timezone-aware (UTC)")

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "version": self.version, "fetched_at": self.fetched_at.isoformat()}


@dataclass(slots=True)
class LookupResult:
    """One source's answer for one IP (read-only by convention: not ``frozen``, whose ``__init__`` is 4x
    slower, which matters for routing history's hundreds of thousands of results per second).

    ``data`` is the value to store under the source's key in the enrichment document
    (docs/enrichment-shape.md); ``None`` means "store no key". It is normally set only when ``status`` is
    ``found``, with one exception: a negative answer that is itself information (GreyNoise "not observed")
    comes with ``status=not_found`` *and* data. ``error`` is a short, key-free explanation.
    """

    source: str
    ip: str
    status: LookupStatus
    data: dict[str, Any] | None
    provenance: Provenance
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ip": self.ip,
            "status": self.status.value,
            "data": self.data,
            "provenance": self.provenance.as_json(),
            "error": self.error,
        }


@runtime_checkable
class Source(Protocol):
    """An enrichment source. ``lookup_many`` answers for every IP it is given and never raises for one
    IP's failure: failures are ``error`` results (the cascade still guards against a raising source)."""

    name: str
    online: bool

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]: ...

    def close(self) -> None: ...


def result(
    source: str,
    ip: str,
    status: LookupStatus,
    data: dict[str, Any] | None = None,
    *,
    version: str | None = None,
    fetched_at: dt.datetime | None = None,
    error: str | None = None,
) -> LookupResult:
    """Shorthand used by every source."""
    return LookupResult(
        source=source,
        ip=ip,
        status=status,
        data=data,
        provenance=_provenance(source, version, fetched_at or utcnow()),
        error=error,
    )


@functools.lru_cache(maxsize=1024)
def _provenance(source: str, version: str | None, fetched_at: dt.datetime) -> Provenance:
    """One (immutable) provenance shared by a batch's answers: a source stamps a whole batch with one time,
    and building and validating it again for every IP was a noticeable part of the offline sources' cost."""
    return Provenance(source=source, version=version, fetched_at=fetched_at)
