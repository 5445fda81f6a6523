"""The ``[alerts]`` section: rules (what to alert on) and destinations (where to send it).

Secrets are never configuration values: a webhook URL (it carries the token) and an SMTP password come from an
environment variable named by ``url_env`` / ``password_env``, or from a file named by ``url_file`` /
``password_file`` - the pattern of ``enrichment.settings`` - so they never sit in a config dump or the database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
RuleType = Literal["new_campaign_key", "new_asn", "download", "planted_key_login", "moved_asn", "sensor_silent"]
CampaignKind = Literal["ssh_key", "command_sig", "password", "hassh"]
CAMPAIGN_KINDS: tuple[CampaignKind, ...] = ("ssh_key", "command_sig", "password", "hassh")
DestinationType = Literal["webhook", "chat", "smtp"]
#: Keys that would put a secret into the configuration text: refused with the way to give it instead.
SECRET_KEYS = {"url": "url_env or url_file", "password": "password_env or password_file", "webhook_url": "url_env"}
#: Keys only one destination type understands (given to another type, they are a mistake, not ignored).
SMTP_KEYS = {"host", "port", "security", "username", "password_env", "password_file", "sender", "recipients"}
SMTP_KEYS |= {"ca_file", "message_id_domain"}
URL_KEYS = {"url_env", "url_file"}


class DestinationSettings(BaseModel):
    """One destination: its type, where it is, how fast and how often to try."""

    model_config = ConfigDict(extra="forbid")

    type: DestinationType
    url_env: str | None = None
    url_file: Path | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    #: Token bucket: ``burst`` alerts at once, then one per ``1 / rate_per_second`` seconds.
    rate_per_second: float = Field(default=0.2, gt=0, le=1000)
    burst: int = Field(default=10, ge=1, le=10_000)
    #: Attempts before the alert is given up (``failed``, with the last error).
    max_attempts: int = Field(default=8, ge=1, le=100)
    retry_base_seconds: float = Field(default=30.0, ge=0, le=86_400)
    retry_max_seconds: float = Field(default=3600.0, ge=0, le=7 * 86_400)
    # -- smtp --
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65_535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    sender: str | None = None
    recipients: list[str] = Field(default_factory=list)
    ca_file: Path | None = None
    message_id_domain: str = "cowrieprocessor.invalid"

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key, instead in SECRET_KEYS.items():
                if key in value:
                    raise ValueError(f"{key}: a secret is never written in the configuration; give {instead}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> DestinationSettings:
        # keys with a value other than their default (the settings are validated twice: a set of keys given
        # is not kept by the second pass)
        fields = type(self).model_fields
        given = {
            k for k in SMTP_KEYS | URL_KEYS if getattr(self, k) != fields[k].get_default(call_default_factory=True)
        }
        if self.type == "smtp":
            wrong = sorted(given & URL_KEYS)
            if wrong:
                raise ValueError(f"{', '.join(wrong)}: not a key of an smtp destination")
            if not self.host or not self.sender or not self.recipients:
                raise ValueError("an smtp destination needs host, sender and recipients")
            if self.password_env and self.password_file:
                raise ValueError("give password_env or password_file, not both")
            for address in (self.sender, *self.recipients):
                if any(c in address for c in "\r\n,") or "@" not in address:
                    raise ValueError(f"not one mail address: {address!r}")
        else:
            wrong = sorted(given & SMTP_KEYS)
            if wrong:
                raise ValueError(f"{', '.join(wrong)}: not a key of a {self.type} destination")
            if (self.url_env is None) == (self.url_file is None):
                raise ValueError(f"a {self.type} destination needs url_env or url_file (one of them)")
        return self

    def url(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The webhook URL (a secret): from ``url_file``, else the variable ``url_env`` names; None if unset."""
        return _secret(self.url_file, self.url_env, environ)

    def password(self, environ: Mapping[str, str] | None = None) -> str | None:
        return _secret(self.password_file, self.password_env, environ)


def _secret(path: Path | None, variable: str | None, environ: Mapping[str, str] | None) -> str | None:
    if path is not None:
        return path.read_text(encoding="utf-8").strip() or None
    env = os.environ if environ is None else environ
    return (env.get(variable, "").strip() or None) if variable else None


class RuleSettings(BaseModel):
    """One rule: what it finds and where its alerts go (every destination when ``destinations`` is empty)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    type: RuleType
    enabled: bool = True
    destinations: list[str] = Field(default_factory=list)
    #: ``new_campaign_key``: the kinds of key watched.
    kinds: list[CampaignKind] = Field(default_factory=lambda: list(CAMPAIGN_KINDS))
    #: ``download``: ``new`` (every first-seen hash), ``known_bad`` (a stored verdict says malicious),
    #: ``unknown`` (first seen and no stored verdict knows it).
    match: Literal["new", "known_bad", "unknown"] = "new"
    #: ``sensor_silent``: a sensor with no session for this long, among those active in ``lookback_hours``.
    silent_minutes: float = Field(default=60.0, gt=0, le=365 * 24 * 60)
    lookback_hours: float = Field(default=48.0, gt=0, le=365 * 24)
    sensors: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _name(self) -> RuleSettings:
        if not NAME.match(self.name):
            raise ValueError(f"rule name {self.name!r}: 1-64 letters, digits, '_', '-', '.'")
        return self


class AlertsSettings(BaseModel):
    """Rules, destinations, and the timing every rule shares."""

    model_config = ConfigDict(extra="forbid")

    rules: list[RuleSettings] = Field(default_factory=list)
    destinations: dict[str, DestinationSettings] = Field(default_factory=dict)
    #: A session younger than this (event time) waits for the next run: its keys and downloads may still come.
    settle_seconds: float = Field(default=120.0, ge=0, le=86_400)
    #: A rule's first run looks back this far (then only at what is new since its watermark).
    first_lookback_hours: float = Field(default=24.0, ge=0, le=100 * 365 * 24)
    #: A process evaluates each rule at most this often (``follow`` calls after every batch; cron runs are
    #: separate processes and always evaluate). Delivery is not limited by it.
    evaluate_every_seconds: float = Field(default=30.0, ge=0, le=86_400)
    #: How long a claimed alert stays claimed: a sender that dies holds it this long, then it is sent again.
    claim_seconds: float = Field(default=300.0, ge=30, le=86_400)

    @model_validator(mode="after")
    def _consistent(self) -> AlertsSettings:
        for name in self.destinations:
            if not NAME.match(name):
                raise ValueError(f"destination name {name!r}: 1-64 letters, digits, '_', '-', '.'")
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}")
            seen.add(rule.name)
            unknown = sorted(set(rule.destinations) - set(self.destinations))
            if unknown:
                raise ValueError(f"rule {rule.name!r}: no destination {', '.join(map(repr, unknown))}")
        longest = max((d.timeout_seconds for d in self.destinations.values()), default=0.0)
        if self.claim_seconds < 3 * longest:
            raise ValueError("claim_seconds must be at least three times the longest timeout_seconds")
        return self

    def destinations_of(self, rule: RuleSettings) -> list[str]:
        return list(rule.destinations) or sorted(self.destinations)
