"""The ``[artifacts]`` configuration section: what the artifact pass needs that belongs to no one source.

The sources themselves (VirusTotal, MalwareBazaar, URLhaus) are registry entries (``enrichment.registry``)
configured like every source, in ``[providers.<name>]``, their keys in ``key_env`` or ``api_key_file``.
Here: the downloads directory, how long answers hold, and the resolution of payload host names (``dns``:
not a provider, but guarded and on the ledger like one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cowrieprocessor.enrichment.settings import SourceSettings

MAX_DAYS = 36_500

#: Off until asked for, like Team Cymru: a fresh install sends nothing anywhere.
DNS_DEFAULTS: dict[str, Any] = {"enabled": False, "rate_per_second": 20.0, "timeout_seconds": 5.0, "max_attempts": 2}


class ArtifactSettings(BaseModel):
    """Files, URLs and payload hosts: where the downloads are, how long answers hold, how hosts are resolved."""

    model_config = ConfigDict(extra="forbid")

    #: Cowrie's ``downloads/`` directory (files named by SHA-256): size and type are read from it.
    directory: Path | None = None
    #: A known answer (found) is re-asked after this long: verdicts and labels evolve.
    found_days: float = Field(default=30.0, ge=0, le=MAX_DAYS)
    #: An unknown hash/URL/host is re-asked sooner: new samples appear at the providers.
    unknown_days: float = Field(default=3.0, ge=0, le=MAX_DAYS)
    error_retry_hours: float = Field(default=6.0, ge=0, le=MAX_DAYS * 24)
    #: A payload host name is resolved again after this long (names change; every answer is kept, dated).
    resolve_days: float = Field(default=1.0, ge=0, le=MAX_DAYS)
    #: DNS server for payload host names (``host[:port]``); none = the system's resolvers.
    dns_server: str | None = None
    batch_size: int = Field(default=200, ge=1, le=100_000)
    #: ``[artifacts.dns]``: the resolver's switch, rate, timeout and attempts.
    dns: SourceSettings = Field(default_factory=lambda: SourceSettings(**DNS_DEFAULTS))

    @field_validator("dns", mode="before")
    @classmethod
    def _dns_defaults(cls, value: Any) -> Any:
        """A section given in part keeps the resolver's other defaults."""
        return {**DNS_DEFAULTS, **value} if isinstance(value, dict) else value
