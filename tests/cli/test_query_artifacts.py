"""ingest -> enrich -> query files / file / payload-hosts / campaign --download, through the command line, with
the artifact providers and DNS answered by local servers speaking their protocols."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cowrieprocessor.cli import output
from cowrieprocessor.cli.main import app
from cowrieprocessor.samples import sample_paths
from tests.enrichment.artifacts.conftest import ABUSE_KEY, VT_KEY, AddressDNS, FakeProviders, vt_attributes

runner = CliRunner()
SAMPLE_HASH_HOST = "139.207.94.194"


@pytest.fixture
def servers() -> Iterator[tuple[FakeProviders, AddressDNS]]:
    providers, dns = FakeProviders(), AddressDNS({})
    yield providers, dns
    providers.close()
    dns.close()


@pytest.fixture
def configured(servers: tuple[FakeProviders, AddressDNS], monkeypatch: pytest.MonkeyPatch) -> FakeProviders:
    providers, dns = servers
    for var in ("GREYNOISE_API_KEY", "SPUR_TOKEN", "ABUSEIPDB_API_KEY", "DSHIELD_CONTACT", "COWRIEPROCESSOR_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VIRUSTOTAL_API_KEY", VT_KEY)
    monkeypatch.setenv("ABUSECH_AUTH_KEY", ABUSE_KEY)
    for name in ("VIRUSTOTAL", "MALWAREBAZAAR", "URLHAUS_URL", "URLHAUS_HOST"):
        monkeypatch.setenv(f"COWRIEPROCESSOR_PROVIDERS__{name}__BASE_URL", providers.url)
        monkeypatch.setenv(f"COWRIEPROCESSOR_PROVIDERS__{name}__RATE_PER_SECOND", "1000")
    monkeypatch.setenv("COWRIEPROCESSOR_ARTIFACTS__DNS__ENABLED", "true")
    monkeypatch.setenv("COWRIEPROCESSOR_ARTIFACTS__DNS_SERVER", dns.address)
    monkeypatch.setattr(output, "console", Console(width=80, force_terminal=False))
    return providers


def _json(args: list[str]) -> object:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_enrich_then_query_files_hosts_and_campaigns(db_url: str, configured: FakeProviders) -> None:
    sample = [str(p) for p in sample_paths()]
    assert runner.invoke(app, ["--db", db_url, "ingest", *sample, "--no-enrich"]).exit_code == 0
    first = _json(["--db", db_url, "query", "files", "--format", "json", "--limit", "100"])
    assert first == []  # nothing until enrich builds the inventory

    # VirusTotal knows the most common file; nothing else is known anywhere
    enrich = runner.invoke(app, ["--db", db_url, "enrich", "--no-artifacts", "--format", "json"])
    assert enrich.exit_code == 0 and "artifacts" not in json.loads(enrich.stdout)
    data = _json(["--db", db_url, "enrich", "--format", "json"])
    assert isinstance(data, dict)
    artifacts = data["artifacts"]
    assert artifacts["files"] >= 2 and artifacts["transfers"] == 152
    calls_per_source = {s: sum(c.values()) for s, c in artifacts["outcomes"].items()}
    assert calls_per_source["virustotal"] == calls_per_source["malwarebazaar"] == artifacts["files"]
    assert calls_per_source["urlhaus_url"] == artifacts["urls"]
    assert calls_per_source["urlhaus_host"] == artifacts["hosts"]

    rows = _json(["--db", db_url, "query", "files", "--format", "json", "--limit", "100"])
    assert isinstance(rows, list) and len(rows) == artifacts["files"]
    assert all(r["status"] == "unknown" and r["novel"] for r in rows)  # unknown to every source
    top = rows[0]["sha256"]
    configured.vt[top] = vt_attributes(top, first_submission=1_000_000_000)

    # a second enrich asks nobody (answers are fresh) - the table keeps every hash whole in 80 columns
    again = _json(["--db", db_url, "enrich", "--format", "json"])
    assert isinstance(again, dict) and again["artifacts"]["outcomes"] == {}
    table = runner.invoke(app, ["--db", db_url, "query", "files", "--limit", "100"])
    assert table.exit_code == 0, table.output
    assert all(len(line) <= 80 for line in table.stdout.splitlines())
    assert all(r["sha256"] in table.stdout for r in rows)
    # VirusTotal now knows the top file, but the stored "unknown" holds until unknown_days: not re-asked yet
    still = _json(["--db", db_url, "query", "files", "--format", "json", "--limit", "1"])
    assert isinstance(still, list) and still[0]["status"] == "unknown"

    csv_out = runner.invoke(app, ["--db", db_url, "query", "files", "--format", "csv"])
    assert csv_out.stdout.splitlines()[0].startswith("sha256,first_seen,")

    detail = _json(["--db", db_url, "query", "file", top.upper(), "--format", "json"])
    assert isinstance(detail, dict) and detail["file"]["sha256"] == top
    assert set(detail["sources"]) == {"virustotal", "malwarebazaar"}
    shown = runner.invoke(app, ["--db", db_url, "query", "file", top])
    assert shown.exit_code == 0 and top in shown.stdout
    assert all(len(line) <= 80 for line in shown.stdout.splitlines())
    missing = runner.invoke(app, ["--db", db_url, "query", "file", "f" * 64])
    assert missing.exit_code == 1
    assert runner.invoke(app, ["--db", db_url, "query", "file", "not-a-hash"]).exit_code == 2

    campaign = _json(["--db", db_url, "query", "campaign", "--download", top, "--format", "json"])
    assert isinstance(campaign, dict) and campaign["sessions"] == rows[0]["sessions"]

    hosts = _json(["--db", db_url, "query", "payload-hosts", "--format", "json"])
    assert isinstance(hosts, list) and SAMPLE_HASH_HOST in {h["host"] for h in hosts}
    literal = next(h for h in hosts if h["host"] == SAMPLE_HASH_HOST)
    assert literal["ip"] == SAMPLE_HASH_HOST and literal["asn_now"] is not None  # through the IP tiers
    assert literal["asn_then"] == literal["asn_now"] and literal["urlhaus"] == "not listed"
    hosts_table = runner.invoke(app, ["--db", db_url, "query", "payload-hosts"])
    assert hosts_table.exit_code == 0 and all(len(line) <= 80 for line in hosts_table.stdout.splitlines())
