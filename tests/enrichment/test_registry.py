"""A source is one registry entry: a source registered here, by this module alone, is configured, looked up
and enriched like the built-in ones - nothing else in the program names it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.config import load_settings
from cowrieprocessor.enrichment import registry
from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, Source, result
from cowrieprocessor.enrichment.cascade import ORDER, build_sources
from cowrieprocessor.enrichment.settings import ProvidersSettings
from cowrieprocessor.errors import ConfigError
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import IPInventory
from tests.tiers.conftest import NOW, add_session

runner = CliRunner()
NAME = "echo"
TOKEN_ENV = "ECHO_TOKEN"
FETCHED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


class EchoSource:
    """Offline and deterministic: answers every address with the label it was configured with."""

    name = NAME
    online = False

    def __init__(self, label: str) -> None:
        self.label = label

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
        data = {"label": self.label}
        return {ip: result(NAME, ip, LookupStatus.FOUND, data, version="echo-1", fetched_at=FETCHED) for ip in ips}

    def close(self) -> None:
        return None


def _echo(ctx: registry.BuildContext) -> Source:
    assert ctx.key is not None  # the registry turns the source off without its token
    if not ctx.settings.base_url:
        raise registry.Unavailable("no label configured")
    return EchoSource(ctx.settings.base_url)


#: Between ``embedded`` (40) and ``cymru`` (50).
ENTRY = registry.SourceEntry(
    NAME, 45, _echo, key_env=TOKEN_ENV, defaults={"base_url": "echo-default", "daily_budget": 7}
)


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch) -> Iterator[registry.SourceEntry]:
    for var in ("GREYNOISE_API_KEY", "SPUR_TOKEN", "ABUSEIPDB_API_KEY", "DSHIELD_CONTACT", "COWRIEPROCESSOR_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(TOKEN_ENV, "t0ken")
    with registry.registered(ENTRY) as entry:
        yield entry
    assert NAME not in registry.names()


def test_its_section_is_configuration_with_its_defaults(echo: registry.SourceEntry, tmp_path: Path) -> None:
    assert ProvidersSettings().section(NAME).daily_budget == 7
    config = tmp_path / "c.toml"
    config.write_text('[providers.echo]\nbase_url = "from-file"\n')
    settings = load_settings(config)
    assert (settings.providers.echo.base_url, settings.providers.echo.daily_budget) == ("from-file", 7)
    config.write_text("[providers.echo]\nrate = 1\n")
    with pytest.raises(ConfigError, match=r"providers\.echo\.rate: unknown key"):
        load_settings(config)
    assert [s.name for s in build_sources(ProvidersSettings(), only=[NAME])] == ["validation", NAME]
    assert NAME in registry.names() and NAME not in ORDER  # ORDER: the built-in sources only


def test_an_unregistered_section_is_a_typo(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[providers.echo]\nbase_url = "x"\n')
    with pytest.raises(ConfigError, match=r"providers\.echo: unknown key"):
        load_settings(config)


def test_lookup_asks_it_in_its_place_and_says_why_it_is_off(echo: registry.SourceEntry, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'none.sqlite'}"
    env = {"COWRIEPROCESSOR_PROVIDERS__ECHO__BASE_URL": "from-env"}
    out = runner.invoke(app, ["--db", db, "lookup", "1.1.1.1", "10.0.0.1", "--format", "json"], env=env)
    assert out.exit_code == 0, out.output
    answers = json.loads(out.stdout)["results"]
    assert list(answers["1.1.1.1"]) == ["validation", "embedded", NAME]
    assert answers["1.1.1.1"][NAME]["data"] == {"label": "from-env"}
    assert answers["1.1.1.1"][NAME]["provenance"]["version"] == "echo-1"
    assert list(answers["10.0.0.1"]) == ["validation"]  # the gate holds for every source
    alone = runner.invoke(app, ["--db", db, "lookup", "1.1.1.1", "--source", NAME, "--format", "json"], env=env)
    assert list(json.loads(alone.stdout)["results"]["1.1.1.1"]) == ["validation", NAME]
    keyless = runner.invoke(app, ["--db", db, "lookup", "1.1.1.1", "--format", "json"], env={TOKEN_ENV: ""})
    assert json.loads(keyless.stdout)["unavailable"][NAME] == "no API key: off"


def test_enrich_stores_its_answers(echo: registry.SourceEntry, db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        add_session(engine, "s1", "45.133.10.7", NOW)
        add_session(engine, "s2", "2a0e:1c80:1::5", NOW)
        add_session(engine, "s3", "192.168.1.1", NOW)
        out = runner.invoke(app, ["--db", db_url, "enrich", "--format", "json"])
        assert out.exit_code == 0, out.output
        report = json.loads(out.stdout)
        assert NAME in report["sources"] and report["outcomes"][NAME] == {"found": 2}
        with Session(engine) as session:
            rows = {ip.ip_address: ip for ip in session.scalars(select(IPInventory))}
    finally:
        engine.dispose()
    for ip in ("45.133.10.7", "2a0e:1c80:1::5"):
        assert rows[ip].enrichment[NAME] == {"label": "echo-default"}
        assert rows[ip].provenance[NAME]["version"] == "echo-1"
        assert rows[ip].provenance[NAME]["fetched_at"].startswith("2026-01-02T03:04:05")
    assert rows["192.168.1.1"].provenance[NAME]["reason"] == "bogon"
