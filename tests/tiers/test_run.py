"""One ``enrich`` as the library runs it: typed reports, and the JSON the command prints from them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cowrieprocessor.config import Settings
from cowrieprocessor.tiers.enrichment_pass import EnrichReport
from cowrieprocessor.tiers.run import EnrichRun, merge_runs, run_enrichment
from tests.tiers.conftest import NOW, add_session

COMMON = {"ips_enriched", "ips_unanswered", "leases_taken_over", "leased_elsewhere", "bogons", "sessions_snapshotted",
          "routed_snapshots", "history_windows_opened", "outcomes", "seconds", "ips_per_second", "sources",
          "unavailable"}  # fmt: skip


def test_one_pass_is_a_typed_report(engine: Engine, mmdb_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GREYNOISE_API_KEY", "SPUR_TOKEN", "ABUSEIPDB_API_KEY", "DSHIELD_CONTACT"):
        monkeypatch.delenv(var, raising=False)
    add_session(engine, "s1", "45.133.10.7", NOW)
    add_session(engine, "s2", "10.0.0.1", NOW)
    settings = Settings.model_validate({"providers": {"maxmind": {"paths": [str(mmdb_path)]}}})
    run = run_enrichment(engine, settings)
    assert isinstance(run, EnrichRun) and isinstance(run.report, EnrichReport)
    assert (run.report.ips_enriched, run.report.bogons, run.report.sessions_snapshotted) == (2, 1, 2)
    assert run.sources == ["validation", "maxmind", "embedded"] and run.worker
    assert run.unavailable["greynoise"] == "no API key: off"
    data = run.as_json()
    assert set(data) == COMMON | {"worker"}
    assert data["outcomes"]["maxmind"] == {"found": 1}


def test_workers_reports_add_up() -> None:
    def report(enriched: int, found: int, elsewhere: dict[str, tuple[int, str]]) -> EnrichReport:
        one = EnrichReport(ips_enriched=enriched, bogons=1, sessions_snapshotted=enriched * 2)
        one.outcomes["maxmind"] = Counter(found=found)
        one.leased_elsewhere = elsewhere
        return one

    until = "2026-01-01T00:00:00Z"
    runs = [
        EnrichRun(report(3, 3, {"b": (5, until), "far": (2, until)}), ["validation", "maxmind"], worker="a"),
        EnrichRun(report(4, 2, {"a": (1, until)}), ["validation", "maxmind"], worker="b"),
    ]
    merged = merge_runs(runs, seconds=2.0)
    assert (merged.report.ips_enriched, merged.report.bogons, merged.report.sessions_snapshotted) == (7, 2, 14)
    assert merged.report.outcomes["maxmind"] == Counter(found=5)
    assert merged.report.leased_elsewhere == {"far": (2, until)}  # a sibling's lease is not "elsewhere"
    data = merged.as_json()
    assert set(data) == COMMON | {"workers"} and data["workers"] == 2
    assert data["ips_per_second"] == 3.5
