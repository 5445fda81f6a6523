"""Typed configuration of the sources: TOML ``[providers.<name>]`` or ``COWRIEPROCESSOR_PROVIDERS__<NAME>__<KEY>``.

Every endpoint, rate, budget and time-to-live lives here and only here (one place per value). API keys
are not settings: they come from the environment (``GREYNOISE_API_KEY``...) or from ``api_key_file``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import NoDecode


class SourceSettings(BaseModel):
    """One source's section. Keys that make no sense for a source are ignored by it."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    base_url: str | None = None
    whois_server: str | None = None
    dns_server: str | None = None
    #: NoDecode: the env form may be a plain path list (``a.mmdb:b.mmdb``), not only JSON.
    paths: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    directory: Path | None = None
    rate_per_second: float = Field(default=1.0, gt=0)
    daily_budget: int | None = Field(default=None, ge=0)
    batch_size: int = Field(default=500, ge=1)
    timeout_seconds: float = Field(default=10.0, gt=0)
    api_key_file: Path | None = None
    #: Attempts per call (timeouts and 5xx are retried with exponential backoff and jitter).
    max_attempts: int = Field(default=3, ge=1)
    #: The longest ``Retry-After`` worth waiting for inside a run; a longer one ends the call as rate_limited.
    max_retry_wait_seconds: float = Field(default=60.0, ge=0)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: float = Field(default=300.0, ge=0)
    #: The largest answer read (streamed; a longer one is refused as an error, never stored or buffered).
    max_response_bytes: int = Field(default=1 << 20, ge=1)
    #: The longest one request may take in all (``timeout_seconds`` bounds each read: a slow drip passes it).
    total_timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("paths", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        """Accept a JSON list, or one string of paths separated by ``os.pathsep`` or commas (env form)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [p for p in text.replace(",", os.pathsep).split(os.pathsep) if p.strip()]
        return value


#: Per-source defaults: frugal; the online services' limits are their documented (or, where undocumented,
#: conservative) free tiers. Merged under whatever the TOML file or the environment sets. Freshness (TTLs)
#: is not here: it lives in one place, the ``[freshness]`` section (``tiers.freshness``).
DEFAULTS: dict[str, dict[str, Any]] = {
    "validation": {},
    "maxmind": {},
    "routing_history": {},
    "embedded": {},
    "cymru": {
        # Off until asked for: a fresh install sends nothing anywhere (enable with ...__CYMRU__ENABLED=true).
        "enabled": False,
        "whois_server": "whois.cymru.com:43",
        "rate_per_second": 2.0,
        "batch_size": 500,
        "timeout_seconds": 60.0,
        "total_timeout_seconds": 180.0,
        "max_response_bytes": 16 << 20,
        "daily_budget": 5000,
    },
    "greynoise": {"base_url": "https://api.greynoise.io", "daily_budget": 100},
    "spur": {"base_url": "https://api.spur.us", "daily_budget": 100},
    "dshield": {
        "base_url": "https://isc.sans.edu",
        "rate_per_second": 0.5,
        "daily_budget": 2000,
        "max_retry_wait_seconds": 300.0,
    },
    "abuseipdb": {"base_url": "https://api.abuseipdb.com", "daily_budget": 1000},
}


def _section(name: str) -> Any:
    return Field(default_factory=lambda: SourceSettings(**DEFAULTS[name]))


class ProvidersSettings(BaseModel):
    """All sources, in cascade order; a section given in part keeps the source's other defaults."""

    model_config = ConfigDict(extra="forbid")

    validation: SourceSettings = _section("validation")
    maxmind: SourceSettings = _section("maxmind")
    routing_history: SourceSettings = _section("routing_history")
    embedded: SourceSettings = _section("embedded")
    cymru: SourceSettings = _section("cymru")
    greynoise: SourceSettings = _section("greynoise")
    spur: SourceSettings = _section("spur")
    dshield: SourceSettings = _section("dshield")
    abuseipdb: SourceSettings = _section("abuseipdb")

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        merged = dict(value)
        for name, given in value.items():
            if isinstance(given, dict) and name in DEFAULTS:
                merged[name] = {**DEFAULTS[name], **given}
        return merged

    @model_validator(mode="after")
    def _maxmind_files(self) -> ProvidersSettings:
        """A ``maxmind`` path must be a MaxMind DB: said here, once, instead of a traceback at the first lookup."""
        for path in self.maxmind.paths:
            problem = mmdb_problem(path)
            if problem is not None:
                raise ValueError(f"providers.maxmind.paths: {path}: {problem}")
        return self

    def section(self, name: str) -> SourceSettings:
        value = getattr(self, name, None)
        if not isinstance(value, SourceSettings):
            raise KeyError(f"unknown source {name!r}")
        return value


#: The marker that starts a MaxMind DB's metadata section, in the file's last 128 KiB.
MMDB_MARKER = b"\xab\xcd\xefMaxMind.com"


def mmdb_problem(path: Path) -> str | None:
    """Why ``path`` is not a MaxMind DB file, or None (a missing file is the source's business: it is then
    reported unavailable, and may appear after the settings are read)."""
    if path.suffix != ".mmdb":
        return "not a MaxMind DB file (expected a .mmdb file)"
    if not path.exists():
        return None
    if not path.is_file():
        return "not a file"
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - 128 * 1024))
            tail = handle.read()
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc.__class__.__name__}"
    return None if MMDB_MARKER in tail else "not a MaxMind DB file (no MaxMind metadata)"


#: Environment variable holding each keyed source's secret (DShield's is the contact for its User-Agent).
KEY_ENV = {
    "greynoise": "GREYNOISE_API_KEY",
    "spur": "SPUR_TOKEN",
    "abuseipdb": "ABUSEIPDB_API_KEY",
    "dshield": "DSHIELD_CONTACT",
}


def read_key(name: str, section: SourceSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The secret for ``name``: ``api_key_file`` first, then the environment; None when there is none."""
    env = os.environ if environ is None else environ
    if section.api_key_file is not None:
        value = section.api_key_file.read_text(encoding="utf-8").strip()
        return value or None
    value = env.get(KEY_ENV.get(name, ""), "").strip()
    return value or None
