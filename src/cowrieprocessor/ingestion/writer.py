"""One batch -> one transaction: raw events, recomputed session summaries, detail rows, dead letters
and the file checkpoint are committed together or not at all (a ``kill -9`` loses nothing).

Only events that were not stored yet touch sessions, and a summary is always recomputed from *all* the
session's events, so it never depends on arrival order. Where those events come from:

* a session seen for the first time: the batch;
* a session this run already holds (:mod:`~cowrieprocessor.ingestion.live`): memory plus the batch;
* any other session that already has a summary: its stored events, re-parsed from ``raw_line``.

Detail rows are written for new events only; command rows of older events are rewritten only when their
sequence or known-ness changed. ``ip_inventory`` counters are adjusted in place for sessions whose
address did not change (a session's time range only ever widens, so ``LEAST``/``GREATEST`` are exact),
and recomputed from ``session_summaries`` for the addresses of sessions re-read from the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from cowrieprocessor.ingestion.events import Event
from cowrieprocessor.ingestion.live import LiveSession, LiveSessions
from cowrieprocessor.ingestion.sessions import Row, summarise
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
    def __init__(self, store: Store, live: LiveSessions | None = None) -> None:
        self.store = store
        self.totals = WriteTotals()
        self.live = live if live is not None else LiveSessions()

    def write(self, batch: Batch, checkpoint: Checkpoint | None = None) -> int:
        """Commit ``batch`` (and the checkpoint) in one transaction; return the number of new events."""
        store = self.store
        store.begin()
        try:
            new_events = self._write(batch, checkpoint)
            store.commit()
        except BaseException:
            store.rollback()
            self.live = LiveSessions(self.live.max_events)  # memory may hold what was rolled back
            raise
        self.live.shrink()
        return new_events

    def _write(self, batch: Batch, checkpoint: Checkpoint | None) -> int:
        store, totals, live = self.store, self.totals, self.live
        store.upsert_dead_letters(batch.dead)
        for file_id, offset in batch.resolved:
            store.resolve_at(file_id, offset)
        for status, ids in batch.statuses.items():
            store.set_dead_letter_status(ids, status)
        unique = list({e.uid: e for e in batch.events}.values()) if batch.events else []
        fresh = store.insert_raw(unique)
        totals.events_new += len(fresh)
        totals.events_duplicate += len(batch.events) - len(fresh)
        totals.unknown_eventids += sum(1 for e in fresh if e.eventid not in KNOWN_EVENTIDS)
        totals.dead_letters += len(batch.dead)

        by_session: dict[str, list[Event]] = {}
        for event in fresh:
            group = by_session.get(event.session)
            if group is None:
                by_session[event.session] = [event]
            else:
                group.append(event)
        existing = store.existing_sessions([sid for sid in by_session if sid not in live])
        stored = store.load_sessions(sorted(existing)) if existing else {}
        fresh_uids = {e.uid for e in fresh}

        summaries: list[Row] = []
        created: list[Row] = []  # summaries of sessions no summary row exists for yet
        auth: list[Row] = []
        commands: list[Row] = []
        command_updates: list[Row] = []
        transfers: list[Row] = []
        keys: list[Row] = []
        bumps: dict[str, tuple[int, dt.datetime, dt.datetime]] = {}  # ip -> (new sessions, first, last)
        recount: set[str] = set()
        new_ids: list[str] = []
        for sid, events in by_session.items():
            held = live.get(sid)
            if held is not None:
                everything = held.events + events
                result = summarise(sid, everything, fresh_uids)
                added = events
            elif sid in existing:
                everything = stored.get(sid, events)
                result = summarise(sid, everything, fresh_uids)
                added = everything
            else:
                everything = added = events
                result = summarise(sid, events)
                new_ids.append(sid)
            summary = result.summary
            summaries.append(summary)
            if held is None and sid not in existing:
                created.append(summary)
            auth += result.auth
            transfers += result.transfers
            keys += result.keys
            written = held.commands if held is not None else None
            order: dict[str, tuple[int, bool]] = {}
            for row in result.commands:
                uid = row[0]
                order[uid] = (row[3], row[5])
                if (held is None and sid not in existing) or uid in fresh_uids:
                    commands.append(row)
                elif written is None or written.get(uid) != order[uid]:
                    command_updates.append(row)
            ip = summary[3]
            if held is None and sid not in existing:
                _bump(bumps, ip, 1, summary[7], summary[8])
            elif held is not None and held.source_ip == ip:
                _bump(bumps, ip, 0, summary[7], summary[8])
            else:
                old_ip = held.source_ip if held is not None else existing[sid]
                recount.update(i for i in (old_ip, ip) if i is not None)
            live.put(sid, LiveSession(everything, ip, order), added)

        ips = sorted({s[3] for s in summaries if s[3] is not None} | recount)
        new_set = set(new_ids)
        store.ensure_ips(ips)
        store.lock_ips(ips)  # in address order, before any session row: concurrent workers queue, never deadlock
        store.insert_summaries(created)
        store.upsert_summaries([s for s in summaries if s[0] not in new_set] if created else summaries)
        store.insert_details("auth_attempts", auth)
        store.insert_details("commands", commands)
        store.insert_details("file_transfers", transfers)
        store.insert_details("ssh_keys", keys)
        store.update_command_order(command_updates)
        store.bump_ip_counters([(ip, *v) for ip, v in sorted(bumps.items()) if ip not in recount])
        store.refresh_ip_counters(sorted(recount))
        if checkpoint is not None:
            store.checkpoint(
                checkpoint.file_id, checkpoint.path, checkpoint.offset, checkpoint.size, checkpoint.tail,
                len(fresh), len(batch.dead),
            )  # fmt: skip
        totals.track_new(new_ids)
        totals.updated_ids.update(existing)
        return len(fresh)


def _bump(
    bumps: dict[str, tuple[int, dt.datetime, dt.datetime]], ip: str | None, n: int, first: dt.datetime,
    last: dt.datetime,
) -> None:  # fmt: skip
    if ip is None:
        return
    entry = bumps.get(ip)
    bumps[ip] = (n, first, last) if entry is None else (entry[0] + n, min(entry[1], first), max(entry[2], last))
