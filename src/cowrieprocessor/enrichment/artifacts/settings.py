"""The ``[artifacts]`` configuration section: the artifact sources, their TTLs, the downloads directory, DNS.

A section of its own (not ``[providers]``) so the IP cascade's settings stay as they are; each source is a
:class:`~cowrieprocessor.enrichment.settings.SourceSettings` like the IP sources'. Keys come from the
environment (:data:`KEY_ENV`) or from the section's ``api_key_file``, never from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cowrieprocessor.enrichment.settings import SourceSettings

MAX_DAYS = 36_500

#: Free-tier limits as defaults: VirusTotal's public API allows 4 requests/minute and 500/day; abuse.ch
#: documents no hard limit for authenticated users, so one request per second and 2,000 a day each.
DEFAULTS: dict[str, dict[str, Any]] = {
    "virustotal": {
        "base_url": "https://www.virustotal.com",
        "rate_per_second": 4 / 60,
        "daily_budget": 500,
        "max_retry_wait_seconds": 60.0,
    },
    "malwarebazaar": {"base_url": "https://mb-api.abuse.ch", "rate_per_second": 1.0, "daily_budget": 2000},
    "urlhaus_url": {"base_url": "https://urlhaus-api.abuse.ch", "rate_per_second": 1.0, "daily_budget": 2000},
    "urlhaus_host": {"base_url": "https://urlhaus-api.abuse.ch", "rate_per_second": 1.0, "daily_budget": 2000},
    # not a provider: the resolution of payload host names, guarded and on the ledger like one
    # off until asked for, like Team Cymru: a fresh install sends nothing anywhere
    "dns": {"enabled": False, "rate_per_second": 20.0, "timeout_seconds": 5.0, "max_attempts": 2},
}

#: Environment variable holding each keyed source's secret (abuse.ch has one Auth-Key for all its APIs).
KEY_ENV = {
    "virustotal": "VIRUSTOTAL_API_KEY",
    "malwarebazaar": "ABUSECH_AUTH_KEY",
    "urlhaus_url": "ABUSECH_AUTH_KEY",
    "urlhaus_host": "ABUSECH_AUTH_KEY",
}


def _section(name: str) -> Any:
    return Field(default_factory=lambda: SourceSettings(**DEFAULTS[name]))


class ArtifactSources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    virustotal: SourceSettings = _section("virustotal")
    malwarebazaar: SourceSettings = _section("malwarebazaar")
    urlhaus_url: SourceSettings = _section("urlhaus_url")
    urlhaus_host: SourceSettings = _section("urlhaus_host")
    dns: SourceSettings = _section("dns")

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any) -> Any:
        """A section given in part keeps the source's other defaults."""
        if not isinstance(value, dict):
            return value
        return {n: ({**DEFAULTS[n], **v} if isinstance(v, dict) and n in DEFAULTS else v) for n, v in value.items()}

    def section(self, name: str) -> SourceSettings:
        value = getattr(self, name, None)
        if not isinstance(value, SourceSettings):
            raise KeyError(f"unknown artifact source {name!r}")
        return value


class ArtifactSettings(BaseModel):
    """Files, URLs and payload hosts: where the downloads are, how long answers hold, the sources."""

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
    sources: ArtifactSources = Field(default_factory=ArtifactSources)


def read_key(name: str, section: SourceSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The secret for ``name``: ``api_key_file`` first, then the environment; None when there is none."""
    env = os.environ if environ is None else environ
    if section.api_key_file is not None:
        value = section.api_key_file.read_text(encoding="utf-8").strip()
        return value or None
    value = env.get(KEY_ENV.get(name, ""), "").strip()
    return value or None
