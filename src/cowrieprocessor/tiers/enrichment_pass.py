"""One enrichment pass: claim IPs that need work, ask each source once per IP, write the tiers.

The sources are asked through the one cascade (``enrichment.cascade``, the same as ``lookup``), for the
sources each IP needs: the ones whose answer is missing or stale.

Work is claimed in the database (SKIP LOCKED on PostgreSQL, a lease on both), so several processes can
run at once without asking a source twice for the same IP; the leases of a worker that is gone (same host,
no such process: ``kill -9``) are taken over at once, others expire, and leases held elsewhere are reported.
``ips_enriched`` counts IPs that got at least one new answer from a source they needed: an IP claimed again
while every source it needs is skipped (budget spent, breaker open) is ``ips_unanswered``, not enriched.
Source calls happen outside any transaction; each batch's writes are one transaction. AS counters are
recounted once, at the end of the pass (also after a failure), over every AS the pass touched. Every session's IP
already has its inventory row (ingestion creates it; the foreign key guarantees it), so "IPs that need
work" is a question about ``ip_inventory`` alone.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Callable, ItemsView, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from cowrieprocessor.clock import Now, utcnow
from cowrieprocessor.config import EnrichSettings
from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, Source
from cowrieprocessor.enrichment.cascade import VALIDATION, Cascade, ask, is_bogon
from cowrieprocessor.tiers import documents, leases, merge, tier_writes
from cowrieprocessor.tiers.freshness import FreshnessPolicy, format_time

ROUTING = "routing_history"
#: PostgreSQL deadlock / serialization failure: the batch is retried, nothing is half-written.
RETRYABLE_SQLSTATES = {"40P01", "40001"}


@dataclass
class EnrichReport:
    ips_enriched: int = 0
    ips_unanswered: int = 0  # claimed, but every source they needed was skipped or failed
    bogons: int = 0
    sessions_snapshotted: int = 0
    routed_snapshots: int = 0
    history_windows_opened: int = 0
    outcomes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    #: Leases of workers that were gone (same host, dead pid), ended at once: holder -> IPs.
    leases_taken_over: dict[str, int] = field(default_factory=dict)
    #: Leases held by other live (or remote) workers at the end of the pass: holder -> (IPs, lease end).
    leased_elsewhere: dict[str, tuple[int, str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ips_claimed(self) -> int:
        return self.ips_enriched + self.ips_unanswered

    def as_json(self) -> dict[str, Any]:
        return {
            "ips_enriched": self.ips_enriched,
            "ips_unanswered": self.ips_unanswered,
            "leases_taken_over": dict(self.leases_taken_over),
            "leased_elsewhere": {h: {"ips": n, "until": until} for h, (n, until) in self.leased_elsewhere.items()},
            "bogons": self.bogons,
            "sessions_snapshotted": self.sessions_snapshotted,
            "routed_snapshots": self.routed_snapshots,
            "history_windows_opened": self.history_windows_opened,
            "outcomes": {s: dict(c) for s, c in sorted(self.outcomes.items())},
            "seconds": round(self.seconds, 3),
            "ips_per_second": round(self.ips_enriched / self.seconds, 1) if self.seconds else None,
        }


def _answered(res: LookupResult | None) -> bool:
    """A source said something new about the IP (an answer, positive or negative; not a skip or an error)."""
    return res is not None and res.status in (LookupStatus.FOUND, LookupStatus.NOT_FOUND)


class EnrichmentPass:
    def __init__(
        self,
        engine: Engine,
        sources: Sequence[Source],
        policy: FreshnessPolicy,
        settings: EnrichSettings,
        *,
        worker: str | None = None,
        clock: Now = utcnow,
        on_batch: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.sources = list(sources)
        self.policy = policy
        self.settings = settings
        self.worker = worker or leases.worker_id()
        self.clock = clock
        self.on_batch = on_batch
        names = [s.name for s in self.sources]
        if VALIDATION not in names:
            raise ValueError("the validation source must be part of every cascade (bogons are never sent out)")
        self.routing = next((s for s in self.sources if s.name == ROUTING), None)
        self.cascade = Cascade(self.sources)
        self._touched_asns: set[int] = set()

    def run(
        self,
        *,
        refresh_stale: bool = False,
        limit: int | None = None,
        progress: Callable[[EnrichReport], None] | None = None,
    ) -> EnrichReport:
        report = EnrichReport()
        seen: set[str] = set()
        started = time.perf_counter()
        self._touched_asns = set()
        try:
            self._take_over_dead_leases(report)
            self._run(report, seen, refresh_stale=refresh_stale, limit=limit, progress=progress)
            self._snapshot_known_ips(report)
            self._report_leases(report)
        finally:
            try:
                self._recount_asns()
            finally:
                with self.engine.connect() as conn:
                    tier_writes.checkpoint(conn)
        report.seconds = time.perf_counter() - started
        return report

    def _run(
        self,
        report: EnrichReport,
        seen: set[str],
        *,
        refresh_stale: bool,
        limit: int | None,
        progress: Callable[[EnrichReport], None] | None,
    ) -> None:
        while limit is None or report.ips_claimed < limit:
            size = (
                self.settings.batch_size if limit is None else min(self.settings.batch_size, limit - report.ips_claimed)
            )
            now = self.clock()
            condition = tier_writes.needs_work(
                [s.name for s in self.sources],
                now,
                refresh_stale=refresh_stale,
                active_since=self.policy.active_since(now),
                policy=self.policy,
            )
            lease = dt.timedelta(minutes=self.settings.claim_minutes)
            with self.engine.begin() as conn:
                # Never-enriched IPs first, through their index: the full condition evaluates every source's
                # provenance, row by row past all the IPs earlier batches already enriched.
                states = tier_writes.claim(
                    conn, tier_writes.never_enriched(), worker=self.worker, now=now, lease=lease, limit=size
                )
                if len(states) < size:
                    states += tier_writes.claim(
                        conn, condition, worker=self.worker, now=now, lease=lease, limit=size - len(states)
                    )
            # An IP is worked on at most once per pass, whatever its provenance says afterwards.
            fresh = [s for s in states if s.ip not in seen]
            if len(fresh) < len(states):
                with self.engine.begin() as conn:
                    tier_writes.release(conn, [s.ip for s in states if s.ip in seen], self.worker)
            if not fresh:
                break
            states = fresh
            seen.update(s.ip for s in states)
            try:
                self._enrich_batch(states, report)
            except BaseException:
                with self.engine.begin() as conn:
                    tier_writes.release(conn, [s.ip for s in states], self.worker)
                raise
            if self.on_batch:
                self.on_batch()
            if progress:
                progress(report)

    def _take_over_dead_leases(self, report: EnrichReport) -> None:
        with self.engine.begin() as conn:
            holders = tier_writes.lease_holders(conn, self.clock())
            gone = [h for h in holders if leases.is_gone(h, self.worker)]
            if gone:
                tier_writes.take_over(conn, gone)
        report.leases_taken_over = {h: holders[h][0] for h in gone}

    def _report_leases(self, report: EnrichReport) -> None:
        with self.engine.connect() as conn:
            holders = tier_writes.lease_holders(conn, self.clock())
        report.leased_elsewhere = {
            h: (n, format_time(until) if isinstance(until, dt.datetime) else str(until))
            for h, (n, until) in holders.items()
            if h != self.worker
        }

    def _recount_asns(self) -> None:
        """AS counters are recounted once per pass, over every AS it touched, not once per batch: the big
        ASes hold most sessions, so a per-batch recount read nearly every session again for each batch.
        Runs after a failure too, so the batches already committed are counted."""
        touched, self._touched_asns = self._touched_asns, set()
        if touched:
            with self.engine.begin() as conn:
                tier_writes.use_large_cache(conn)
                tier_writes.refresh_asn_counters(conn, touched)

    def _enrich_batch(self, states: list[merge.IPState], report: EnrichReport) -> None:
        now = self.clock()
        by_ip = {s.ip: s for s in states}
        wanted = {s.ip: self._sources_needed(s, now) for s in states}

        def count(source: str, answers: Mapping[str, LookupResult]) -> None:
            for res in answers.values():
                report.outcomes[source][res.status.value] += 1

        answers = self.cascade.run(list(by_ip), needs=wanted, on_answers=count)
        bogons = {ip for ip, per in answers.items() if is_bogon(per.get(VALIDATION))}
        report.bogons += len(bogons)
        observed_by: dict[str, str] = {}
        for ip, state in by_ip.items():
            merge.apply(state, answers[ip], self.policy, now)
            if ip in bogons:
                merge.mark_bogon_skips(state, [s.name for s in self.sources if s.name != VALIDATION], now)
            if state.asn_source:
                observed_by[ip] = state.asn_source
        routed = self._routed_snapshots(states, now, report)
        self._write(states, observed_by, routed, now, report)
        answered = sum(1 for ip in by_ip if any(_answered(answers[ip].get(name)) for name in wanted[ip]))
        report.ips_enriched += answered
        report.ips_unanswered += len(states) - answered

    def _sources_needed(self, state: merge.IPState, now: dt.datetime) -> set[str]:
        """Each source has its own freshness: only the stale or missing ones are asked again."""
        needed = set()
        for source in self.sources:
            entry = state.provenance.get(source.name)
            if (
                not isinstance(entry, dict)
                or entry.get("status") is None
                or self.policy.is_stale(source.name, entry, now)
            ):
                needed.add(source.name)
        return needed

    def _routed_snapshots(
        self, states: list[merge.IPState], now: dt.datetime, report: EnrichReport
    ) -> list[dict[str, Any]]:
        """Late snapshots take the ASN of the attack date when routing history covers it."""
        if self.routing is None:
            return []
        live_since = now - dt.timedelta(hours=self.settings.live_snapshot_hours)
        with self.engine.connect() as conn:
            late = tier_writes.late_sessions(
                conn, [s.ip for s in states if not documents.is_bogon(s.enrichment)], live_since
            )
        by_day: dict[dt.date, set[str]] = defaultdict(set)
        for _sid, ip, first in late:
            by_day[first.date()].add(ip)
        routed: dict[tuple[str, dt.date], LookupResult] = {}
        for day, ips in by_day.items():
            at = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=dt.UTC)
            for ip, answer in self._routing(at, ips, report):
                routed[(ip, day)] = answer
        states_by_ip = {s.ip: s for s in states}
        rows = []
        for sid, ip, first in late:
            res = routed.get((ip, first.date()))
            if res is None or res.status is not LookupStatus.FOUND or not res.data:
                continue
            state = states_by_ip[ip]
            document = {**state.enrichment, ROUTING: res.data}
            rows.append(
                {
                    "b_sid": sid,
                    "b_asn": documents.as_asn(res.data.get("asn")),
                    "b_country": documents.pick_country(document),
                    "b_types": documents.ip_types(document),
                    "b_doc": document,
                }
            )
        return rows

    def _routing(self, at: dt.datetime, ips: set[str], report: EnrichReport) -> ItemsView[str, LookupResult]:
        assert self.routing is not None
        results = ask(self.routing, sorted(ips), at=at)  # an error: the session keeps today's ASN
        for res in results.values():
            report.outcomes[ROUTING + "@attack_date"][res.status.value] += 1
        return results.items()

    def _write(
        self,
        states: list[merge.IPState],
        observed_by: dict[str, str],
        routed: list[dict[str, Any]],
        now: dt.datetime,
        report: EnrichReport,
    ) -> None:
        live_since = now - dt.timedelta(hours=self.settings.live_snapshot_hours)
        states = sorted(states, key=lambda s: s.ip)
        ips = [s.ip for s in states]
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    tier_writes.use_large_cache(conn)
                    tier_writes.lock_ips(conn, ips)
                    tier_writes.upsert_asns(conn, states, now)
                    tier_writes.write_ips(conn, states, now)
                    opened = tier_writes.record_history(conn, states, now, observed_by)
                    routed_asns = {r["b_asn"] for r in routed if r["b_asn"] is not None}
                    tier_writes.ensure_asn_rows(conn, routed_asns)
                    n_routed = tier_writes.write_routed_snapshots(conn, routed, now)
                    n_snap = tier_writes.take_snapshots(conn, ips, now, live_since)
                    tier_writes.refresh_ip_counters(conn, ips)
                    # only these ASNs' counts can change: the IPs' old and new ASNs, and routed snapshots'
                    touched = {a for s in states for a in (s.previous_asn, s.current_asn) if a is not None}
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES and attempt < 4:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                raise
            self._touched_asns |= touched | routed_asns
            report.history_windows_opened += opened
            report.routed_snapshots += n_routed
            report.sessions_snapshotted += n_snap + n_routed
            return

    def _snapshot_known_ips(self, report: EnrichReport) -> None:
        """New sessions of IPs that are already enriched get their snapshot with no source call."""
        while True:
            now = self.clock()
            with self.engine.connect() as conn:
                ips = tier_writes.pending_snapshot_ips(conn, self.settings.batch_size)
            if not ips:
                return
            live_since = now - dt.timedelta(hours=self.settings.live_snapshot_hours)
            with self.engine.begin() as conn:
                tier_writes.use_large_cache(conn)
                tier_writes.lock_ips(conn, ips)
                count = tier_writes.take_snapshots(conn, ips, now, live_since)
                tier_writes.refresh_ip_counters(conn, ips)
                touched = tier_writes.asns_of(conn, ips)
            self._touched_asns |= touched
            report.sessions_snapshotted += count
            if count == 0:
                return
