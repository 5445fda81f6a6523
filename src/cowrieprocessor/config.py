"""Configuration: an optional TOML file, overridden by ``COWRIEPROCESSOR_<SECTION>__<KEY>`` variables.

API keys are never configuration values here: sources read them from the environment or from a file
named by ``api_key_file``, so they cannot leak through a config dump, the command line or the database.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from cowrieprocessor.alerts.settings import AlertsSettings
from cowrieprocessor.enrichment.artifacts.settings import ArtifactSettings
from cowrieprocessor.enrichment.datasets import DataSettings, with_installed
from cowrieprocessor.enrichment.settings import ProvidersSettings
from cowrieprocessor.errors import ConfigError
from cowrieprocessor.tiers import ttls

ENV_PREFIX = "COWRIEPROCESSOR_"
#: Longest time-to-live or window accepted (100 years): longer ones overflow date arithmetic.
MAX_DAYS = 36_500
CONFIG_ENV = "COWRIEPROCESSOR_CONFIG"


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a typo is an error, not a silently ignored key

    url: str | None = None


class FreshnessSettings(BaseModel):
    """How long each source's answer stays fresh, by IP class - the one place TTLs are defined.

    Classes: ``hosting`` (cloud, VPN, datacenter: they change hands fast), ``residential`` (ISP, mobile,
    education, unknown), ``bogon`` (never re-asked). ``per_source`` overrides days for one source, e.g.
    ``{"greynoise": {"hosting": 1}}``.
    """

    model_config = ConfigDict(extra="forbid")

    hosting_days: float = Field(default=ttls.DEFAULTS.hosting_days, ge=0, le=MAX_DAYS)
    residential_days: float = Field(default=ttls.DEFAULTS.residential_days, ge=0, le=MAX_DAYS)
    error_retry_hours: float = Field(default=ttls.DEFAULTS.error_retry_hours, ge=0, le=MAX_DAYS * 24)
    active_days: float = Field(default=ttls.DEFAULTS.active_days, ge=0, le=MAX_DAYS)
    per_source: dict[str, dict[str, Annotated[float, Field(ge=0, le=MAX_DAYS)]]] = Field(default_factory=dict)

    @field_validator("per_source")
    @classmethod
    def _classes(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for source, days in value.items():
            unknown = set(days) - {"hosting", "residential"}
            if unknown:
                raise ValueError(f"per_source.{source}: unknown IP class {sorted(unknown)} (hosting, residential)")
        return value


class EnrichSettings(BaseModel):
    """The enrichment pass: batch size, work-claim lease, and what counts as a snapshot taken live."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(default=5000, ge=1, le=1_000_000)
    claim_minutes: float = Field(default=30.0, gt=0, le=MAX_DAYS * 24 * 60)
    live_snapshot_hours: float = Field(default=24.0, ge=0, le=1000 * 365 * 24)  # "every session": 1e6


class Settings(BaseSettings):
    """Every section of the configuration; later features add their own sections here."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    providers: ProvidersSettings = Field(default_factory=ProvidersSettings)
    freshness: FreshnessSettings = Field(default_factory=FreshnessSettings)
    enrich: EnrichSettings = Field(default_factory=EnrichSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    artifacts: ArtifactSettings = Field(default_factory=ArtifactSettings)  # files, URLs, payload hosts

    toml_path: ClassVar[Path | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_path))
        return tuple(sources)


def load_settings(config_path: Path | None = None) -> Settings:
    """Read the TOML file (``--config`` or ``COWRIEPROCESSOR_CONFIG``), then let the environment win."""
    if config_path is None and os.environ.get(CONFIG_ENV):
        config_path = Path(os.environ[CONFIG_ENV])
    if config_path is not None and not config_path.is_file():
        what = "is a directory, not a file" if config_path.is_dir() else "not found"
        raise ConfigError(f"configuration file {what}: {config_path}", "give --config an existing TOML file")

    sections = {name.upper() for name in Settings.model_fields}
    for name in sorted(os.environ):
        if name.startswith(ENV_PREFIX) and "__" in name and name[len(ENV_PREFIX) :].split("__")[0] not in sections:
            raise ConfigError(
                f"${name}: no configuration section {name[len(ENV_PREFIX) :].split('__')[0].lower()!r}",
                f"sections: {', '.join(sorted(s.lower() for s in sections))}",
            )

    class _Loaded(Settings):
        toml_path = config_path

    try:
        settings = Settings.model_validate(_Loaded().model_dump())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path} is not valid TOML: {exc}", "fix the file's syntax") from exc
    except ValidationError as exc:
        raise ConfigError(
            f"invalid configuration: {describe(exc)}",
            "fix the file given by --config / $COWRIEPROCESSOR_CONFIG, or the COWRIEPROCESSOR_* variable",
        ) from None
    # datasets fetched by `data update` serve the sources the user left unconfigured
    return settings.model_copy(update={"providers": with_installed(settings.providers, settings.data)})


def describe(exc: ValidationError) -> str:
    """One line per wrong value, ``section.key: what is wrong`` (pydantic's own text is several screens)."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"])
        message = "unknown key (a typo?)" if error["type"] == "extra_forbidden" else str(error["msg"])
        message = message.removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where and not message.startswith("providers.") else message)
    return "; ".join(parts)
