"""Configuration: an optional TOML file, overridden by ``COWRIEPROCESSOR_<SECTION>__<KEY>`` variables.

API keys are never configuration values here: sources read them from the environment or from a file
named by ``api_key_file``, so they cannot leak through a config dump, the command line or the database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from cowrieprocessor.enrichment.datasets import DataSettings, with_installed
from cowrieprocessor.enrichment.settings import ProvidersSettings

ENV_PREFIX = "COWRIEPROCESSOR_"
CONFIG_ENV = "COWRIEPROCESSOR_CONFIG"


class DatabaseSettings(BaseModel):
    url: str | None = None


class FreshnessSettings(BaseModel):
    """How long each source's answer stays fresh, by IP class - the one place TTLs are defined.

    Classes: ``hosting`` (cloud, VPN, datacenter: they change hands fast), ``residential`` (ISP, mobile,
    education, unknown), ``bogon`` (never re-asked). ``per_source`` overrides days for one source, e.g.
    ``{"greynoise": {"hosting": 1}}``.
    """

    hosting_days: float = 7.0
    residential_days: float = 30.0
    error_retry_hours: float = 6.0
    active_days: float = 90.0
    per_source: dict[str, dict[str, float]] = Field(default_factory=dict)


class EnrichSettings(BaseModel):
    """The enrichment pass: batch size, work-claim lease, and what counts as a snapshot taken live."""

    batch_size: int = 5000
    claim_minutes: float = 30.0
    live_snapshot_hours: float = 24.0


class Settings(BaseSettings):
    """Every section of the configuration; later features add their own sections here."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore")

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    providers: ProvidersSettings = Field(default_factory=ProvidersSettings)
    freshness: FreshnessSettings = Field(default_factory=FreshnessSettings)
    enrich: EnrichSettings = Field(default_factory=EnrichSettings)
    data: DataSettings = Field(default_factory=DataSettings)

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
        raise FileNotFoundError(f"configuration file not found: {config_path}")

    class _Loaded(Settings):
        toml_path = config_path

    settings = Settings.model_validate(_Loaded().model_dump())
    # datasets fetched by `data update` serve the sources the user left unconfigured
    return settings.model_copy(update={"providers": with_installed(settings.providers, settings.data)})
