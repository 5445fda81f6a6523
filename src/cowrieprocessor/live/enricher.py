"""Enrichment while following: offline sources at once, online sources in the background, within their limits.

After every batch that created sessions, a pass over the *offline* sources (validation, MaxMind, routing
history, the embedded dataset: no network, no quota) enriches the new IPs and writes their sessions'
snapshots, so a session is queryable with its snapshot within the same tick. The *online* sources (Cymru,
GreyNoise, Spur, DShield, AbuseIPDB) are asked by a full pass in a background thread at most every
``online_every`` seconds, for at most ``online_limit`` IPs per pass; their rate limits, daily budgets and
breakers are the sources' own (``enrichment.guard``), exactly as for ``enrich``. An IP the offline pass
enriched still lacks the online sources' answers, so the online pass finds it as work to do.

The two passes hold leases under different names (this process's pid, the background thread's id), so the
offline pass never takes the online pass's leases for a dead process's; after a ``kill -9`` both names are
gone and the next pass on this host takes their leases over at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from cowrieprocessor.live.reader import Stopping
from cowrieprocessor.live.stats import FollowStats

if TYPE_CHECKING:
    from cowrieprocessor.config import Settings
    from cowrieprocessor.enrichment.base import Source
    from cowrieprocessor.tiers.enrichment_pass import EnrichmentPass, EnrichReport

#: IPs per batch of the online pass: a stop request waits for one batch of network lookups at most.
ONLINE_BATCH = 100


def _errors(report: EnrichReport) -> int:
    return sum(counts.get("error", 0) for counts in report.outcomes.values())


class Enricher:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        stats: FollowStats,
        *,
        online_every: float,
        online_limit: int,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        from cowrieprocessor.enrichment import registry
        from cowrieprocessor.enrichment.cascade import build_sources
        from cowrieprocessor.enrichment.ledger import DatabaseLedger

        self.engine, self.settings, self.stats = engine, settings, stats
        self.should_stop = should_stop
        self.ledger = DatabaseLedger(engine)
        self.unavailable: dict[str, str] = {}
        self.sources: list[Source] = build_sources(settings.providers, self.ledger, unavailable=self.unavailable)
        # sources that ask the network (the registry's ``online``) never run on the ingestion path
        offline = [s for s in self.sources if not registry.get(s.name).online]
        self.offline = self._pass(offline)
        self.has_online = len(offline) < len(self.sources)
        self.online_every, self.online_limit = online_every, online_limit
        self.online_due = 0.0
        self.online_wanted = False
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="follow-online") if self.has_online else None
        self.online: Future[None] | None = None

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sources]

    def _pass(self, sources: Sequence[Source], worker: str | None = None, batch: int | None = None) -> EnrichmentPass:
        from cowrieprocessor.tiers.enrichment_pass import EnrichmentPass
        from cowrieprocessor.tiers.freshness import FreshnessPolicy

        policy = FreshnessPolicy(self.settings.freshness)
        settings = self.settings.enrich
        if batch is not None:
            settings = settings.model_copy(update={"batch_size": min(settings.batch_size, batch)})
        return EnrichmentPass(self.engine, sources, policy, settings, worker=worker, on_batch=self.ledger.flush)

    def after_batch(self, sessions_new: int, now: float | None = None) -> None:
        """New sessions: offline pass now; the online pass when it is due and not already running."""
        if sessions_new:
            self._count(self.offline.run())
            self.online_wanted = True
        self.poll(now)

    def poll(self, now: float | None = None) -> None:
        """Raise what the background pass raised (a database error ends ``follow``); start it when due."""
        now = time.monotonic() if now is None else now
        if self.online is not None and self.online.done():
            future, self.online = self.online, None
            future.result()
        if self.pool is None or self.online is not None or not self.online_wanted or now < self.online_due:
            return
        self.online_wanted = False
        self.online_due = now + self.online_every
        self.online = self.pool.submit(self._online_pass)

    def _online_pass(self) -> None:
        from cowrieprocessor.tiers import leases

        worker = leases.worker_id().rpartition(":")[0] + f":{threading.get_native_id()}"
        enrichment = self._pass(self.sources, worker, ONLINE_BATCH)
        try:
            report = enrichment.run(limit=self.online_limit, progress=self._between_batches)
        except Stopping:
            return  # the batches before are written; the rest waits for the next run
        self._count(report, online=True)
        if report.ips_claimed >= self.online_limit:
            self.online_wanted = True  # more waiting: the next pass takes the next share

    def _between_batches(self, _report: EnrichReport) -> None:
        if self.should_stop():
            raise Stopping

    def _count(self, report: EnrichReport, *, online: bool = False) -> None:
        with self.stats.lock:
            s = self.stats
            s.enrich_passes += 1
            s.online_passes += online
            s.ips_enriched += report.ips_enriched
            s.sessions_snapshotted += report.sessions_snapshotted
            s.provider_errors += _errors(report)

    def close(self, *, wait: bool = True) -> None:
        """Let a background pass finish its batch (its IPs are released or written, never half-done)."""
        try:
            if self.pool is not None:
                self.pool.shutdown(wait=wait, cancel_futures=True)
            if wait and self.online is not None and self.online.done():
                self.online.result()
        finally:
            for source in self.sources:
                source.close()
            self.ledger.flush()
