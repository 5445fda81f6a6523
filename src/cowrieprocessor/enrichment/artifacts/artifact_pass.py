"""The artifact pass: inventories from the transfers, files read from disk, host names resolved, sources asked.

``prepare`` runs before the IP pass (a resolved payload host's addresses become ``ip_inventory`` rows, which
that pass then enriches like any attacker's IP); ``finish`` runs after it: each artifact source is asked about
each subject whose answer is missing or expired - once per subject per source per TTL, whatever the number
of download events - and each address's ASN at resolution is recorded. Source calls happen outside any
transaction; each batch's writes are one transaction. Database errors propagate; a source's never does.
What a source looks up (file, URL or host) is its registry entry's ``subject``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import Engine, Table, and_, bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError

from cowrieprocessor.clock import utcnow
from cowrieprocessor.enrichment import registry
from cowrieprocessor.enrichment.artifacts import filetype, inventory
from cowrieprocessor.enrichment.artifacts.alone import asking_alone
from cowrieprocessor.enrichment.artifacts.resolve import HostResolver, Resolution
from cowrieprocessor.enrichment.artifacts.settings import ArtifactSettings
from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, Source, result
from cowrieprocessor.enrichment.ledger import Outcome
from cowrieprocessor.storage import dialects, tables
from cowrieprocessor.storage.models import (
    FileInventory,
    IPInventory,
    PayloadHost,
    PayloadHostAddress,
)
from cowrieprocessor.tiers.freshness import format_time

Clock = Callable[[], dt.datetime]
#: A resolution's outcome as the report's columns name it (found, not_found, error, skipped).
_STATUS = {
    Outcome.FOUND: "found",
    Outcome.NOT_FOUND: "not_found",
    Outcome.SKIPPED_BUDGET: "skipped",
    Outcome.SKIPPED_BREAKER: "skipped",
}


@dataclass(frozen=True)
class Subject:
    """A kind of subject: its table, the column keying it, the column holding what is sent to sources."""

    table: Table
    key: str
    value: str


SUBJECTS = {
    "file": Subject(tables.file_inventory, "sha256", "sha256"),
    "url": Subject(tables.url_inventory, "url_sha256", "url"),
    "host": Subject(tables.payload_hosts, "host", "host"),
}


@dataclass
class ArtifactReport:
    transfers: int = 0
    files: int = 0
    urls: int = 0
    hosts: int = 0
    files_inspected: int = 0
    hosts_resolved: int = 0
    addresses_new: int = 0
    outcomes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    seconds: float = 0.0
    #: Another process was asking the artifact sources: this run asked none (``alone.asking_alone``).
    busy: bool = False

    def as_json(self) -> dict[str, Any]:
        """Every field, in order; the outcomes as plain dicts by source, the time rounded."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        outcomes = {s: dict(c) for s, c in sorted(self.outcomes.items())}
        return data | {"outcomes": outcomes, "seconds": round(self.seconds, 3)}


class ArtifactPass:
    def __init__(
        self,
        engine: Engine,
        sources: Sequence[Source],
        settings: ArtifactSettings,
        *,
        resolver: HostResolver | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.engine = engine
        self.sources = list(sources)
        self.settings = settings
        self.resolver = resolver
        self.clock = clock
        self.report = ArtifactReport()

    # -- before the IP pass -----------------------------------------------------------------------
    def prepare(self) -> ArtifactReport:
        started = time.perf_counter()
        now = self.clock()
        with self.engine.begin() as conn:
            agg = inventory.read(conn)
            inventory.write(conn, agg, now)
        self.report.transfers = agg.transfers
        self.report.files, self.report.urls, self.report.hosts = len(agg.files), len(agg.urls), len(agg.hosts)
        if self.settings.directory is not None:
            self._inspect_files(now)
        self._resolve_hosts(now)
        self.report.seconds += time.perf_counter() - started
        return self.report

    def _inspect_files(self, now: dt.datetime) -> None:
        """Size and type of files present in the downloads directory and not measured yet."""
        assert self.settings.directory is not None
        t = FileInventory.__table__.c
        with self.engine.connect() as conn:
            pending = list(conn.execute(select(t.sha256).where(t.size_bytes.is_(None))).scalars())
        rows = []
        for sha in pending:
            found = filetype.inspect_file(self.settings.directory, sha)
            rows.append({"k": sha, "size": found[0] if found else None, "kind": found[1] if found else None, "at": now})
            self.report.files_inspected += found is not None
        if rows:
            stmt = (
                update(FileInventory)
                .where(t.sha256 == bindparam("k"))
                .values(size_bytes=bindparam("size"), file_type=bindparam("kind"), artifact_checked_at=bindparam("at"))
            )
            with self.engine.begin() as conn:
                conn.execute(stmt, rows)

    def _resolve_hosts(self, now: dt.datetime) -> None:
        """Address literals are their own answer; names are resolved when first seen and after ``resolve_days``."""
        h = PayloadHost.__table__.c
        due = now - dt.timedelta(days=self.settings.resolve_days)
        with self.engine.connect() as conn:
            hosts = list(
                conn.execute(
                    select(h.host, h.is_address).where(
                        (h.resolved_at.is_(None)) | (and_(h.is_address.is_(False), h.resolved_at < due))
                    )
                )
            )
        answers: list[Resolution] = []
        for host, is_address in hosts:
            if is_address:
                answers.append(Resolution(host, Outcome.FOUND, now, [host], literal=True))
            elif self.resolver is not None:  # dated by this pass's clock, like every other time it writes
                answers.append(dataclasses.replace(self.resolver.resolve(host), resolved_at=now))
        for start in range(0, len(answers), 500):
            self._write_resolutions(answers[start : start + 500])

    def _write_resolutions(self, answers: list[Resolution]) -> None:
        server = self.resolver.server if self.resolver is not None else None
        insert = dialects.of(self.engine).insert
        with self.engine.begin() as conn:
            for answer in answers:
                if not answer.literal:
                    self.report.outcomes["dns"][_STATUS.get(answer.outcome, "error")] += 1
                if answer.outcome not in (Outcome.FOUND, Outcome.NOT_FOUND):
                    continue  # asked again at the next pass (the ledger has the failure)
                self.report.hosts_resolved += not answer.literal
                conn.execute(
                    update(PayloadHost)
                    .where(PayloadHost.__table__.c.host == answer.host)
                    .values(resolved_at=answer.resolved_at, resolution=answer.as_json(server))
                )
                if not answer.addresses:
                    continue
                conn.execute(
                    insert(IPInventory.__table__).on_conflict_do_nothing(index_elements=["ip_address"]),
                    [{"ip_address": ip} for ip in answer.addresses],
                )
                stmt = insert(PayloadHostAddress.__table__)
                before = self._known_addresses(conn, answer.host)
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["host", "ip_address"],
                        set_={"last_resolved_at": stmt.excluded.last_resolved_at},
                    ),
                    [
                        {
                            "host": answer.host,
                            "ip_address": ip,
                            "first_resolved_at": answer.resolved_at,
                            "last_resolved_at": answer.resolved_at,
                        }
                        for ip in answer.addresses
                    ],
                )
                self.report.addresses_new += len(set(answer.addresses) - before)

    @staticmethod
    def _known_addresses(conn: Any, host: str) -> set[str]:
        a = PayloadHostAddress.__table__.c
        return set(conn.execute(select(a.ip_address).where(a.host == host)).scalars())

    # -- after the IP pass ------------------------------------------------------------------------
    def finish(self, *, limit: int | None = None) -> ArtifactReport:
        started = time.perf_counter()
        with asking_alone(self.engine) as alone:
            if alone:
                for source in self.sources:
                    self._run_source(source, limit)
            else:
                self.report.busy = True
        self._record_asn_at_resolution()
        self.report.seconds += time.perf_counter() - started
        return self.report

    def due(self, source: Source, now: dt.datetime) -> list[tuple[str, str]]:
        """(key, value) of the subjects whose answer from ``source`` is missing or expired, most seen first."""
        subject = SUBJECTS[registry.get(source.name).subject]
        c = subject.table.c
        now_text = format_time(now)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(c[subject.key], c[subject.value], c.provenance).order_by(c.session_count.desc(), c[subject.key])
            )
            due = []
            for key, value, provenance in rows:
                entry = (provenance or {}).get(source.name)
                if (
                    not isinstance(entry, dict)
                    or not entry.get("status")
                    or str(entry.get("expires_at") or "") < now_text
                ):
                    due.append((key, value))
        return due

    def _run_source(self, source: Source, limit: int | None) -> None:
        due = self.due(source, self.clock())
        if limit is not None:
            due = due[:limit]
        size = self.settings.batch_size
        for start in range(0, len(due), size):
            batch = due[start : start + size]
            answers = self._ask(source, [value for _, value in batch])
            self._write_answers(source, [(key, answers[value]) for key, value in batch if value in answers])

    def _ask(self, source: Source, values: list[str]) -> dict[str, LookupResult]:
        try:
            answers = source.lookup_many(values)
        except SQLAlchemyError:
            raise
        except Exception as exc:  # a source never crashes a run: its failure is each subject's outcome
            answers = {v: result(source.name, v, LookupStatus.ERROR, error=exc.__class__.__name__) for v in values}
        for answer in answers.values():
            self.report.outcomes[source.name][answer.status.value] += 1
        return answers

    def _expires(self, status: LookupStatus, fetched_at: dt.datetime) -> str:
        s = self.settings
        if status is LookupStatus.FOUND:
            ttl = dt.timedelta(days=s.found_days)
        elif status is LookupStatus.NOT_FOUND:
            ttl = dt.timedelta(days=s.unknown_days)
        else:
            ttl = dt.timedelta(hours=s.error_retry_hours)
        return format_time(fetched_at + ttl)

    def _write_answers(self, source: Source, answers: list[tuple[str, LookupResult]]) -> None:
        """Merge each answer into its row's documents (read again inside the transaction, locked on PostgreSQL).
        A skipped call (budget, breaker) leaves the row as it was: it is due again at the next pass."""
        answers = [(k, a) for k, a in answers if a.status is not LookupStatus.SKIPPED]
        if not answers:
            return
        subject = SUBJECTS[registry.get(source.name).subject]
        c = subject.table.c
        keys = sorted(k for k, _ in answers)
        with self.engine.begin() as conn:
            stmt = select(c[subject.key], c.enrichment, c.provenance).where(c[subject.key].in_(keys))
            if dialects.of(conn).row_locks:  # SQLite: the transaction's write lock serialises writers
                stmt = stmt.order_by(c[subject.key]).with_for_update()
            current = {k: (e or {}, p or {}) for k, e, p in conn.execute(stmt)}
            now = self.clock()
            for key, answer in answers:
                if key not in current:
                    continue
                enrichment, provenance = dict(current[key][0]), dict(current[key][1])
                fetched = answer.provenance.fetched_at
                entry: dict[str, Any] = {
                    "status": answer.status.value,
                    "fetched_at": format_time(fetched),
                    "version": answer.provenance.version,
                    "expires_at": self._expires(answer.status, fetched),
                }
                if answer.status is LookupStatus.ERROR:
                    entry["error"] = answer.error
                    previous = provenance.get(source.name)
                    if isinstance(previous, dict) and previous.get("status") in ("found", "not_found"):
                        # a failed refresh keeps the last answer; it is retried after error_retry_hours
                        entry = {**previous, "expires_at": entry["expires_at"], "error": answer.error}
                elif answer.status is LookupStatus.FOUND and answer.data is not None:
                    enrichment[source.name] = answer.data
                else:
                    enrichment.pop(source.name, None)
                provenance[source.name] = entry
                conn.execute(
                    update(subject.table)
                    .where(c[subject.key] == key)
                    .values(enrichment=enrichment, provenance=provenance, enrichment_updated_at=now, updated_at=now)
                )

    def _record_asn_at_resolution(self) -> None:
        """An address's ASN when it was first resolved: its inventory ASN, once the IP pass has one."""
        a, ip = PayloadHostAddress.__table__.c, IPInventory.__table__.c
        asn = select(ip.current_asn).where(ip.ip_address == a.ip_address).scalar_subquery()
        with self.engine.begin() as conn:
            conn.execute(
                update(PayloadHostAddress)
                .where(a.asn_at_resolution.is_(None))
                .where(
                    select(ip.current_asn)
                    .where(ip.ip_address == a.ip_address)
                    .exists()
                    .correlate_except(IPInventory.__table__)
                )
                .values(asn_at_resolution=asn)
            )

    def close(self) -> None:
        for source in self.sources:
            source.close()
        if self.resolver is not None:
            self.resolver.close()
