"""Configuration: TOML file, overridden by COWRIEPROCESSOR_<SECTION>__<KEY> environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from cowrieprocessor.config import load_settings
from cowrieprocessor.errors import ConfigError


def test_toml_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cp.toml"
    config.write_text('[database]\nurl = "sqlite:///from-file.sqlite"\n')
    monkeypatch.delenv("COWRIEPROCESSOR_DATABASE__URL", raising=False)
    assert load_settings(config).database.url == "sqlite:///from-file.sqlite"
    monkeypatch.setenv("COWRIEPROCESSOR_DATABASE__URL", "sqlite:///from-env.sqlite")
    assert load_settings(config).database.url == "sqlite:///from-env.sqlite"


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cp.toml"
    config.write_text('[database]\nurl = "postgresql://postgres@127.0.0.1/x"\n')
    monkeypatch.setenv("COWRIEPROCESSOR_CONFIG", str(config))
    monkeypatch.delenv("COWRIEPROCESSOR_DATABASE__URL", raising=False)
    assert load_settings().database.url == "postgresql://postgres@127.0.0.1/x"


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(tmp_path / "absent.toml")
