"""One batch -> one transaction: raw events, recomputed session summaries, detail rows, dead letters
and the file checkpoint are committed together or not at all (a ``kill -9`` loses nothing).

Only events that were not stored yet touch sessions. A session seen for the first time is summarised
from the batch; a session that already has a summary is recomputed from *all* its stored events
(re-parsed from ``raw_line``), so summaries never depend on arrival order and counters are never added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cowrieprocessor.ingestion.events import Event
from cowrieprocessor.ingestion.sessions import SessionResult, summarise
from cowrieprocessor.ingestion.store import Store

KNOWN_EVENTIDS = frozenset(
    {
        "cowrie.client.fingerprint", "cowrie.client.kex", "cowrie.client.malformed_packet",
        "cowrie.client.size", "cowrie.client.var", "cowrie.client.version", "cowrie.command.chpasswd",
        "cowrie.command.failed", "cowrie.command.input", "cowrie.command.success",
        "cowrie.direct-tcpip.data", "cowrie.direct-tcpip.ja4", "cowrie.direct-tcpip.ja4h",
        "cowrie.direct-tcpip.redirect", "cowrie.direct-tcpip.request", "cowrie.direct-tcpip.tunnel",
        "cowrie.log.closed", "cowrie.log.open", "cowrie.login.failed", "cowrie.login.success",
        "cowrie.session.closed", "cowrie.session.connect", "cowrie.session.file_download",
        "cowrie.session.file_download.failed", "cowrie.session.file_upload", "cowrie.session.input",
        "cowrie.session.params", "cowrie.telnet.error", "cowrie.telnet.exploit_attempt",
        "cowrie.telnet.exploit_success", "cowrie.telnet.option", "cowrie.tunnelproxy-tcpip.data",
        "cowrie.abuseipdb.ratelimited", "cowrie.abuseipdb.reportedip", "cowrie.abuseipdb.reportfail",
        "cowrie.abuseipdb.started", "cowrie.abuseipdb.wakeup", "cowrie.greynoise.result",
        "cowrie.malwarebazaar.submitted", "cowrie.proxy.backend_connect_error",
        "cowrie.proxy.backend_connected", "cowrie.proxy.backend_disconnected",
        "cowrie.proxy.client_disconnect", "cowrie.proxy.ssh", "cowrie.reversedns.connect",
        "cowrie.reversedns.forward", "cowrie.urlhaus.submitted", "cowrie.virustotal.scanfile",
        "cowrie.virustotal.scanurl",
    }
)  # fmt: skip
#: More session ids than this in one run are not listed for the enrichment hook (memory stays bounded).
MAX_TRACKED_SESSIONS = 500_000


@dataclass
class Checkpoint:
    file_id: int
    path: str
    offset: int
    size: int
    tail: bytes | None


@dataclass
class Batch:
    events: list[Event] = field(default_factory=list)
    dead: list[tuple[object, ...]] = field(default_factory=list)
    resolved: list[tuple[int, int]] = field(default_factory=list)  # (file_id, offset) now complete
    statuses: dict[str, list[int]] = field(default_factory=dict)  # dead-letter status -> ids
    nbytes: int = 0

    def __len__(self) -> int:
        return len(self.events) + len(self.dead)


@dataclass
class WriteTotals:
    events_new: int = 0
    events_duplicate: int = 0
    unknown_eventids: int = 0
    sessions_new: int = 0
    dead_letters: int = 0
    new_ids: set[str] | None = field(default_factory=set)
    updated_ids: set[str] = field(default_factory=set)

    def track_new(self, ids: Sequence[str]) -> None:
        self.sessions_new += len(ids)
        if self.new_ids is not None:
            self.new_ids.update(ids)
            if len(self.new_ids) > MAX_TRACKED_SESSIONS:
                self.new_ids = None

    @property
    def sessions_updated(self) -> int:
        return len(self.updated_ids - self.new_ids) if self.new_ids is not None else len(self.updated_ids)

    def session_ids(self) -> list[str] | None:
        if self.new_ids is None:
            return None
        return sorted(self.new_ids | self.updated_ids)


class BatchWriter:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.totals = WriteTotals()

    def write(self, batch: Batch, checkpoint: Checkpoint | None = None) -> int:
        """Commit ``batch`` (and the checkpoint) in one transaction; return the number of new events."""
        store = self.store
        store.begin()
        try:
            new_events = self._write(batch, checkpoint)
            store.commit()
        except BaseException:
            store.rollback()
            raise
        return new_events

    def _write(self, batch: Batch, checkpoint: Checkpoint | None) -> int:
        store, totals = self.store, self.totals
        store.upsert_dead_letters(batch.dead)
        for file_id, offset in batch.resolved:
            store.resolve_at(file_id, offset)
        for status, ids in batch.statuses.items():
            store.set_dead_letter_status(ids, status)
        unique = list({e.uid: e for e in batch.events}.values())
        new_uids = store.insert_raw(unique)
        fresh = [e for e in unique if e.uid in new_uids]
        totals.events_new += len(fresh)
        totals.events_duplicate += len(batch.events) - len(fresh)
        totals.unknown_eventids += sum(1 for e in fresh if e.eventid not in KNOWN_EVENTIDS)
        totals.dead_letters += len(batch.dead)

        by_session: dict[str, list[Event]] = {}
        for event in fresh:
            by_session.setdefault(event.session, []).append(event)
        existing = store.existing_sessions(list(by_session))
        stored = store.load_sessions(sorted(existing)) if existing else {}
        results: list[SessionResult] = [
            summarise(sid, stored.get(sid, events) if sid in existing else events) for sid, events in by_session.items()
        ]
        ips = sorted({r.summary[3] for r in results if r.summary[3] is not None})
        store.ensure_ips(ips)
        store.lock_ips(ips)  # in address order, before any session row: concurrent workers queue, never deadlock
        store.upsert_summaries([r.summary for r in results])
        store.insert_details("auth_attempts", [row for r in results for row in r.auth])
        store.insert_details("commands", [row for r in results for row in r.commands])
        store.insert_details("file_transfers", [row for r in results for row in r.transfers])
        store.insert_details("ssh_keys", [row for r in results for row in r.keys])
        store.update_command_order([row for r in results if r.summary[0] in existing for row in r.commands])
        store.refresh_ip_counters(ips)
        if checkpoint is not None:
            store.checkpoint(
                checkpoint.file_id, checkpoint.path, checkpoint.offset, checkpoint.size, checkpoint.tail,
                len(fresh), len(batch.dead),
            )  # fmt: skip
        totals.track_new([sid for sid in by_session if sid not in existing])
        totals.updated_ids.update(existing)
        return len(fresh)
