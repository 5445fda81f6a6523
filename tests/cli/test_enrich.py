"""ingest -> enrich through the command line: every session gets its tiers and snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.samples import sample_paths
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import IPInventory, PayloadHostAddress, ProviderCall, SessionSummary
from tests.tiers.conftest import write_mmdb

runner = CliRunner()


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GREYNOISE_API_KEY", "SPUR_TOKEN", "ABUSEIPDB_API_KEY", "DSHIELD_CONTACT", "COWRIEPROCESSOR_CONFIG"):
        monkeypatch.delenv(var, raising=False)


def test_ingest_then_enrich_covers_every_session(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = [str(p) for p in sample_paths()]
    result = runner.invoke(app, ["--db", db_url, "ingest", *sample, "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["enrichment"]["ips_enriched"] > 100
    assert "embedded" in summary["enrichment"]["sources"]
    engine = make_engine(db_url)
    with Session(engine) as session:
        sessions = session.scalar(select(func.count()).select_from(SessionSummary))
        snapped = session.scalar(
            select(func.count()).select_from(SessionSummary).where(SessionSummary.enrichment_at.is_not(None))
        )
        with_country = session.scalar(
            select(func.count()).select_from(SessionSummary).where(SessionSummary.snapshot_country.is_not(None))
        )
        ips = session.scalar(select(func.count(func.distinct(SessionSummary.source_ip))))
        inventory = session.scalar(select(func.count()).select_from(IPInventory))
    assert sessions == summary["sessions_new"] and snapped == sessions
    assert inventory == ips == summary["enrichment"]["ips_enriched"]
    assert with_country / sessions > 0.95  # the embedded dataset knows nearly every public address

    # `enrich` adds the payload hosts' addresses (#19): the only IPs it enriches; a third run costs nothing
    again = runner.invoke(app, ["--db", db_url, "enrich", "--format", "json"])
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    with Session(engine) as session:
        attackers = select(SessionSummary.source_ip).where(SessionSummary.source_ip.is_not(None))
        payload_only = session.scalar(
            select(func.count(func.distinct(PayloadHostAddress.ip_address))).where(
                PayloadHostAddress.ip_address.not_in(attackers)
            )
        )
    assert (data["ips_enriched"], data["sessions_snapshotted"]) == (payload_only, 0)
    third = json.loads(runner.invoke(app, ["--db", db_url, "enrich", "--format", "json"]).stdout)
    assert (third["ips_enriched"], third["sessions_snapshotted"]) == (0, 0)
    engine.dispose()


def test_enrich_with_an_asn_source_snapshots_every_public_session(db_url: str, tmp_path: Path) -> None:
    """Snapshot coverage: with an ASN-capable source configured, every public session has ASN + country."""
    sample = [str(p) for p in sample_paths()]
    assert runner.invoke(app, ["--db", db_url, "ingest", *sample, "--no-enrich"]).exit_code == 0
    engine = make_engine(db_url)
    with Session(engine) as session:
        ips = session.scalars(select(SessionSummary.source_ip).distinct()).all()
    # an .mmdb covering every sample address, as a full GeoLite2 database would
    mmdb = write_mmdb(
        tmp_path / "all.mmdb",
        {f"{ip}/{128 if ':' in ip else 32}": (64512 + i % 50, f"AS{i % 50} Hosting", "NL") for i, ip in enumerate(ips)},
    )
    env = {"COWRIEPROCESSOR_PROVIDERS__MAXMIND__PATHS": str(mmdb)}
    result = runner.invoke(app, ["--db", db_url, "enrich", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        missing = session.scalar(
            select(func.count())
            .select_from(SessionSummary)
            .where((SessionSummary.snapshot_asn.is_(None)) | (SessionSummary.snapshot_country.is_(None)))
        )
        calls = session.scalar(select(func.count()).select_from(ProviderCall))
    assert missing == 0
    assert calls == 0  # offline sources only: nothing went out
    engine.dispose()
