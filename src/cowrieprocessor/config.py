"""Configuration: an optional TOML file, overridden by ``COWRIEPROCESSOR_<SECTION>__<KEY>`` variables.

API keys are never configuration values here: sources read them from the environment or from a file
named by ``api_key_file``, so they cannot leak through a config dump, the command line or the database.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from cowrieprocessor.enrichment.settings import ProvidersSettings
from cowrieprocessor.errors import ConfigError

ENV_PREFIX = "COWRIEPROCESSOR_"
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

    hosting_days: float = 7.0
    residential_days: float = 30.0
    error_retry_hours: float = 6.0
    active_days: float = 90.0
    per_source: dict[str, dict[str, float]] = Field(default_factory=dict)


class EnrichSettings(BaseModel):
    """The enrichment pass: batch size, work-claim lease, and what counts as a snapshot taken live."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = 5000
    claim_minutes: float = 30.0
    live_snapshot_hours: float = 24.0


class Settings(BaseSettings):
    """Every section of the configuration; later features add their own sections here."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    providers: ProvidersSettings = Field(default_factory=ProvidersSettings)
    freshness: FreshnessSettings = Field(default_factory=FreshnessSettings)
    enrich: EnrichSettings = Field(default_factory=EnrichSettings)

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
        return Settings.model_validate(_Loaded().model_dump())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path} is not valid TOML: {exc}", "fix the file's syntax") from exc
