"""`cowrieprocessor lookup` through the real command line; online sources only on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.enrichment.ratelimit import REGISTRY
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import ProviderCall
from tests.enrichment.conftest import FakeWhois

runner = CliRunner()


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    REGISTRY.clear()
    for var in ("GREYNOISE_API_KEY", "SPUR_TOKEN", "ABUSEIPDB_API_KEY", "DSHIELD_CONTACT", "COWRIEPROCESSOR_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COWRIEPROCESSOR_PROVIDERS__CYMRU__ENABLED", "true")
    monkeypatch.setenv("COWRIEPROCESSOR_PROVIDERS__CYMRU__DNS_SERVER", "127.0.0.1:9")  # never the real resolver


def test_lookup_json_records_online_calls_in_the_ledger(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    whois = FakeWhois(
        lambda ips: "".join(
            f"208843 | {ip} | 45.83.64.0/22 | DE | ripencc | 2020-01-01 | ALPHASTRIKE-RESEARCH, DE\n" for ip in ips
        )
    )
    monkeypatch.setenv("COWRIEPROCESSOR_PROVIDERS__CYMRU__WHOIS_SERVER", whois.address)
    try:
        result = runner.invoke(
            app, ["--db", db_url, "lookup", "45.83.66.18", "45.83.65.1", "10.1.2.3", "--format", "json"]
        )
    finally:
        whois.close()
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    public = out["results"]["45.83.66.18"]
    assert list(public) == ["validation", "embedded", "cymru"]
    assert public["cymru"]["data"]["asn"] == 208843 and public["cymru"]["status"] == "found"
    assert public["cymru"]["provenance"]["fetched_at"].endswith("+00:00")
    assert list(out["results"]["10.1.2.3"]) == ["validation"]
    assert out["results"]["10.1.2.3"]["validation"]["data"]["reason"] == "private"
    assert "greynoise" in out["unavailable"]
    assert not {"virustotal", "malwarebazaar", "urlhaus_url", "urlhaus_host"} & set(out["unavailable"])  # IP only
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(ProviderCall)).scalar_one() == 1
    finally:
        engine.dispose()


def test_lookup_table_with_source_filter_and_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    missing = tmp_path / "none.sqlite"
    result = runner.invoke(app, ["--db", f"sqlite:///{missing}", "lookup", "8.8.8.8", "--source", "embedded"])
    assert result.exit_code == 0, result.output
    assert "embedded" in result.stdout and "Google LLC" in result.stdout and "cymru" not in result.stdout
    assert not missing.exists()  # a lookup does not create a database


def test_lookup_names_the_as_numbers_offline_for_ipv4_and_ipv6(tmp_path: Path) -> None:
    """A fresh install, no configuration, no network: the embedded data alone gives the AS numbers."""
    missing = tmp_path / "none.sqlite"
    result = runner.invoke(
        app, ["--db", f"sqlite:///{missing}", "lookup", "1.1.1.1", "2001:4860:4860::8888", "192.168.0.1"]
    )
    assert result.exit_code == 0, result.output
    assert "1.1.1.1: AS13335 Cloudflare, Inc., AU (from embedded)" in result.stdout
    assert "2001:4860:4860::8888: AS15169 Google LLC, US (from embedded)" in result.stdout
    assert "192.168.0.1: bogon (private): asked nowhere else" in result.stdout


@pytest.mark.parametrize("name", ["shodan", "virustotal", "urlhaus_host"])  # an artifact source asks no IP
def test_lookup_rejects_unknown_source(name: str) -> None:
    result = runner.invoke(app, ["lookup", "8.8.8.8", "--source", name])
    assert result.exit_code == 2
    assert "unknown source" in " ".join(result.output.split())
