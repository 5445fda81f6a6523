"""One ``enrich`` as a command (or a library caller) starts it: the configured sources, one pass or several
processes, the call ledger flushed, and a typed report of the whole.

``enrich``, ``ingest`` (after reading) and the benchmarks call these; the CLI only parses, calls and prints.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from cowrieprocessor.config import Settings
from cowrieprocessor.enrichment.cascade import build_sources
from cowrieprocessor.enrichment.ledger import DatabaseLedger
from cowrieprocessor.tiers.enrichment_pass import EnrichmentPass, EnrichReport
from cowrieprocessor.tiers.freshness import FreshnessPolicy

if TYPE_CHECKING:
    from cowrieprocessor.enrichment.artifacts.artifact_pass import ArtifactPass

#: The counts of :class:`EnrichReport` that add up over several workers.
SUMMED = (
    "ips_enriched",
    "ips_unanswered",
    "bogons",
    "sessions_snapshotted",
    "routed_snapshots",
    "history_windows_opened",
)


@dataclass
class EnrichRun:
    """What one ``enrich`` did: the pass's report (or the workers' together), with the sources it used."""

    report: EnrichReport
    sources: list[str]
    #: Sources that are configured but cannot run, with the reason (no key, no files...).
    unavailable: dict[str, str] = field(default_factory=dict)
    #: The worker id of a single pass (None for several workers: they are ``workers`` processes).
    worker: str | None = None
    workers: int = 1

    def as_json(self) -> dict[str, Any]:
        data = self.report.as_json()
        if self.workers == 1:
            data["worker"] = self.worker
        data["sources"] = list(self.sources)
        data["unavailable"] = dict(self.unavailable)
        if self.workers > 1:
            data["workers"] = self.workers
        return data


def run_enrichment(
    engine: Engine, settings: Settings, *, refresh_stale: bool = False, limit: int | None = None
) -> EnrichRun:
    """Build the configured sources, run one pass, close the sources and flush the call ledger."""
    unavailable: dict[str, str] = {}
    ledger = DatabaseLedger(engine)
    sources = build_sources(settings.providers, ledger, unavailable=unavailable)
    try:
        enrichment = EnrichmentPass(
            engine, sources, FreshnessPolicy(settings.freshness), settings.enrich, on_batch=ledger.flush
        )
        report = enrichment.run(refresh_stale=refresh_stale, limit=limit)
    finally:
        for source in sources:
            source.close()
        ledger.flush()
    return EnrichRun(report, [s.name for s in sources], unavailable, worker=enrichment.worker)


def _worker(db_url: str, settings: dict[str, Any], refresh_stale: bool, limit: int | None) -> EnrichRun:
    """One worker process of :func:`run_workers` (claims in the database keep them apart)."""
    from cowrieprocessor.storage.engine import make_engine

    engine = make_engine(db_url)
    try:
        return run_enrichment(engine, Settings.model_validate(settings), refresh_stale=refresh_stale, limit=limit)
    finally:
        engine.dispose()


def run_workers(
    db_url: str, settings: Settings, workers: int, *, refresh_stale: bool = False, limit: int | None = None
) -> EnrichRun:
    """Several processes on PostgreSQL: the lookups and merges are CPU-bound Python, one core each."""
    started = time.perf_counter()
    share = None if limit is None else -(-limit // workers)
    args = (db_url, settings.model_dump(mode="json"), refresh_stale, share)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        runs = list(pool.map(_worker, *zip(*[args] * workers, strict=True)))
    return merge_runs(runs, time.perf_counter() - started)


def merge_runs(runs: list[EnrichRun], seconds: float) -> EnrichRun:
    """The workers' reports as one: counts summed, leases held by a sibling worker not reported as elsewhere."""
    merged = EnrichReport(seconds=seconds)
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    siblings = {r.worker for r in runs}
    for run in runs:
        for name in SUMMED:
            setattr(merged, name, getattr(merged, name) + getattr(run.report, name))
        for source, counts in run.report.outcomes.items():
            outcomes[source].update(counts)
        merged.leases_taken_over.update(run.report.leases_taken_over)
        merged.leased_elsewhere.update(
            {h: lease for h, lease in run.report.leased_elsewhere.items() if h not in siblings}
        )
    merged.outcomes = outcomes
    return EnrichRun(merged, runs[0].sources, runs[0].unavailable, workers=len(runs))


def build_artifact_pass(
    engine: Engine, settings: Settings, unavailable: dict[str, str], *, directory: Path | None = None
) -> ArtifactPass:
    """The artifact part of ``enrich`` (#19): files, URLs and payload hosts, with the configured artifact
    sources and host resolver (``directory``: Cowrie's downloads, instead of ``[artifacts] directory``).
    Sources that cannot run, and the resolver when it is off, are named in ``unavailable``.

    The caller runs ``prepare`` (inventories, the downloads directory, host names resolved) before the IP pass,
    so that the payload hosts' addresses are enriched by it, ``finish`` (the artifact sources) after it, and
    ``close`` at the end."""
    from cowrieprocessor.enrichment.artifacts.artifact_pass import ArtifactPass
    from cowrieprocessor.enrichment.artifacts.resolve import HostResolver
    from cowrieprocessor.enrichment.artifacts.sources import build_artifact_sources

    artifacts = settings.artifacts
    if directory is not None:
        artifacts = artifacts.model_copy(update={"directory": directory})
    ledger = DatabaseLedger(engine)
    sources = build_artifact_sources(settings.providers, ledger, unavailable=unavailable)
    dns = artifacts.dns
    resolver = HostResolver(dns, ledger, server=artifacts.dns_server) if dns.enabled else None
    if resolver is None:
        unavailable["dns"] = "no: off (enable with [artifacts.dns] enabled = true)"
    return ArtifactPass(engine, sources, artifacts, resolver=resolver)
