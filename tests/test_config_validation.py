"""Settings at the edges (#15): every wrong value is one clear error at load, never a traceback later."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.config import load_settings
from cowrieprocessor.enrichment.mmdb import MaxMindSource
from tests.enrichment.test_mmdb import _write


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COWRIEPROCESSOR_CONFIG", raising=False)
    monkeypatch.delenv("COWRIEPROCESSOR_PROVIDERS__MAXMIND__PATHS", raising=False)


def refusal(tmp_path: Path, toml: str) -> str:
    """The error a configuration file holding ``toml`` is refused with."""
    config = tmp_path / "cp.toml"
    config.write_text(toml)
    with pytest.raises(ValueError, match="invalid configuration") as caught:
        load_settings(config)
    return str(caught.value)


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[freshness]\nhosting_days = -1\n", "freshness.hosting_days"),
        ("[freshness]\nresidential_days = -0.5\n", "freshness.residential_days"),
        ("[freshness]\nerror_retry_hours = -6\n", "freshness.error_retry_hours"),
        ("[freshness]\nactive_days = 1e308\n", "freshness.active_days"),
        ("[freshness.per_source.greynoise]\nhosting = -2\n", "freshness.per_source.greynoise.hosting"),
        ("[freshness.per_source.greynoise]\nhostng = 2\n", "unknown IP class"),
        ("[enrich]\nbatch_size = 0\n", "enrich.batch_size"),
        ("[enrich]\nclaim_minutes = 0\n", "enrich.claim_minutes"),
        ("[providers.greynoise]\nmax_response_bytes = 0\n", "max_response_bytes"),
    ],
)
def test_wrong_values_are_one_clear_error(tmp_path: Path, toml: str, named: str) -> None:
    message = refusal(tmp_path, toml)
    assert named in message and "\n" not in message


def test_a_maxmind_path_that_is_not_an_mmdb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    fake = tmp_path / "fake.mmdb"
    fake.write_bytes(b"not a database at all")
    real = _write(tmp_path / "asn.mmdb", "GeoLite2-ASN", {"1.2.3.0/24": {"autonomous_system_number": 64500}})
    for bad, why in ((text, "expected a .mmdb file"), (fake, "no MaxMind metadata")):
        monkeypatch.setenv("COWRIEPROCESSOR_PROVIDERS__MAXMIND__PATHS", str(bad))
        with pytest.raises(ValueError, match=why):
            load_settings()
        result = CliRunner().invoke(app, ["--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "lookup", "8.8.8.8"])
        assert result.exit_code == 2 and why in " ".join(result.stderr.split()) and "Traceback" not in result.output
    monkeypatch.setenv("COWRIEPROCESSOR_PROVIDERS__MAXMIND__PATHS", str(real))
    assert load_settings().providers.maxmind.paths == [real]


def test_an_mmdb_damaged_after_the_settings_were_read_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"\x00" * 64 + b"\xab\xcd\xefMaxMind.com" + b"\x00" * 16)
    with pytest.raises(ValueError, match="not a valid MaxMind DB"):
        MaxMindSource([broken])


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[artifacts.sources.virustotal]\ndaily_budget = 5\n", "artifacts.sources"),  # the old place: an error
        ("[providers.virustotal]\ndaily_budgt = 5\n", "providers.virustotal.daily_budgt"),
        ("[providers.urlhaus_url]\nrate_per_second = 0\n", "providers.urlhaus_url.rate_per_second"),
        ("[artifacts.dns]\nenabeld = true\n", "artifacts.dns.enabeld"),
    ],
)
def test_artifact_sources_are_configured_like_every_source(tmp_path: Path, toml: str, named: str) -> None:
    assert named in refusal(tmp_path, toml)


def test_artifact_sections_given_in_part_keep_their_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cp.toml"
    config.write_text("[providers.virustotal]\ndaily_budget = 50\n[artifacts.dns]\nenabled = true\n")
    monkeypatch.setenv("COWRIEPROCESSOR_PROVIDERS__MALWAREBAZAAR__ENABLED", "false")
    settings = load_settings(config)
    vt = settings.providers.virustotal
    assert (vt.daily_budget, vt.rate_per_second, vt.base_url) == (50, 4 / 60, "https://www.virustotal.com")
    assert settings.providers.malwarebazaar.enabled is False
    assert settings.providers.malwarebazaar.base_url == "https://mb-api.abuse.ch"
    dns = settings.artifacts.dns
    assert (dns.enabled, dns.rate_per_second, dns.max_attempts) == (True, 20.0, 2)
