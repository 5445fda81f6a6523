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

A new *live* session (its first event within ``snapshot_hours``) whose IP an enrichment pass has already
written gets its time-of-attack snapshot in the same INSERT (``snapshot_source = 'ingest'``), and its AS's
session counters in the same transaction: the row is written once, instead of once by ingestion and again,
through every index, by the pass. Older sessions are left to the pass, which can date them (routing history).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cowrieprocessor.clock import Now, utcnow
from cowrieprocessor.ingestion.activity import summarise_activity
from cowrieprocessor.ingestion.events import Event
from cowrieprocessor.ingestion.live import LiveSession, LiveSessions
from cowrieprocessor.ingestion.store import Conflict, Store
from cowrieprocessor.ingestion.summaries import (
    COMMAND_KNOWN,
    COMMAND_SEQUENCE,
    COMMAND_UID,
    SNAPSHOT_COLUMNS,
    SUMMARY_FIRST_EVENT_AT,
    SUMMARY_LAST_EVENT_AT,
    SUMMARY_SESSION_ID,
    SUMMARY_SOURCE_IP,
    Row,
    summarise,
)

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
#: Addresses remembered as having their ``ip_inventory`` row (committed), so later batches skip the insert.
MAX_KNOWN_IPS = 1_000_000
#: A batch that meets a concurrent writer's rows is done again, with what that writer committed, this often.
CONFLICT_ATTEMPTS = 5


@dataclass
class Checkpoint:
    file_id: int
    path: str
    offset: int
    size: int
    tail: bytes | None
    #: ``n:hash`` of the ``n`` bytes just before ``offset`` (see ``sources.window_hash``); None: unknown.
    before: str | None = None


@dataclass
class Batch:
    events: list[Event] = field(default_factory=list)
    dead: list[tuple[object, ...]] = field(default_factory=list)
    resolved: list[tuple[int, int]] = field(default_factory=list)  # (file_id, offset) now complete
    #: Unterminated last lines (rows shaped like ``dead``): kept where a later half can join them, but a line
    #: still being written, not a dead letter.
    pending: list[tuple[object, ...]] = field(default_factory=list)
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
    sessions_snapshotted: int = 0
    dead_letters: int = 0
    lines_pending: int = 0
    new_ids: set[str] | None = field(default_factory=set)
    updated_ids: set[str] = field(default_factory=set)
    mixed_sensor_ids: set[str] = field(default_factory=set)  # sessions whose events name several sensors

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


@dataclass
class Prepared:
    """A batch turned into the rows of every table, ready to be written in one transaction."""

    batch: Batch
    checkpoint: Checkpoint | None
    fresh: list[Event]  # the batch's events that are new to the database
    existing: dict[str, str | None]  # sessions that had a summary row before this batch, with their IP
    new_ids: list[str] = field(default_factory=list)
    summaries: list[Row] = field(default_factory=list)
    created: list[Row] = field(default_factory=list)  # summaries of sessions no summary row exists for yet
    auth: list[Row] = field(default_factory=list)
    commands: list[Row] = field(default_factory=list)
    command_updates: list[Row] = field(default_factory=list)
    transfers: list[Row] = field(default_factory=list)
    keys: list[Row] = field(default_factory=list)
    forwards: list[Row] = field(default_factory=list)
    exploits: list[Row] = field(default_factory=list)
    bumps: dict[str, tuple[int, dt.datetime, dt.datetime]] = field(default_factory=dict)  # ip -> (new, first, last)
    recount: set[str] = field(default_factory=set)
    expected: dict[str, int] = field(default_factory=dict)  # updated session -> its raw events once written
    snapshotted: int = 0  # new sessions written with their snapshot
    mixed_sensors: list[str] = field(default_factory=list)  # see ``SessionResult.mixed_sensors``
    events_read: int = 0
    events_new: int = 0
    unknown_eventids: int = 0
    released: bool = False  # its events were let go (see ``release_events``)

    def __post_init__(self) -> None:
        self.events_read, self.events_new = len(self.batch.events), len(self.fresh)
        self.unknown_eventids = sum(1 for e in self.fresh if e.eventid not in KNOWN_EVENTIDS)

    def release_events(self) -> None:
        """Once raw events and summaries are written (nothing can conflict any more), the rows are all that
        is needed: the events' memory can go. A released batch can no longer be written again."""
        self.fresh = []
        self.batch = replace(self.batch, events=[])
        self.released = True


def distinct(events: list[Event]) -> list[Event]:
    return list({e.uid: e for e in events}.values()) if events else []


def by_session(events: list[Event]) -> dict[str, list[Event]]:
    groups: dict[str, list[Event]] = {}
    for event in events:
        group = groups.get(event.session)
        if group is None:
            groups[event.session] = [event]
        else:
            group.append(event)
    return groups


NO_SNAPSHOT = (None,) * len(SNAPSHOT_COLUMNS)


class BatchWriter:
    def __init__(
        self,
        store: Store,
        live: LiveSessions | None = None,
        *,
        snapshot_hours: float | None = None,
        clock: Now = utcnow,
    ) -> None:
        self.store = store
        self.totals = WriteTotals()
        self.live = live if live is not None else LiveSessions()
        self.known_ips: set[str] = set()
        self.snapshot_hours = snapshot_hours  # None: every snapshot is left to the enrichment pass
        self.clock = clock

    def write(self, batch: Batch, checkpoint: Checkpoint | None = None) -> int:
        """Commit ``batch`` (and the checkpoint) in one transaction; return the number of new events.

        A :class:`Conflict` (a session another process created after it was looked up) rolls the batch back;
        once that process has committed, the session is found and the batch done again with its stored events.
        """
        for _ in range(CONFLICT_ATTEMPTS - 1):
            try:
                return self._write(batch, checkpoint)
            except Conflict:
                continue
        return self._write(batch, checkpoint)

    def _write(self, batch: Batch, checkpoint: Checkpoint | None) -> int:
        store = self.store
        store.begin()
        try:
            self.write_dead_letters(batch)
            unique = distinct(batch.events)
            fresh = store.insert_raw(unique)
            if len(fresh) < len(unique):
                self._reread_sessions_of_stored(unique, fresh)
            groups = by_session(fresh)
            existing = store.existing_sessions([sid for sid in groups if sid not in self.live])
            stored, counts = store.load_sessions(sorted(existing)) if existing else ({}, {})
            prepared = self.prepare(batch, checkpoint, groups, existing, stored, counts)
            self.apply_sessions(prepared)
            self.apply_details(prepared)
            store.commit()
        except BaseException:
            store.rollback()
            self.forget()
            raise
        self.live.shrink()
        self.count(prepared)
        return prepared.events_new

    def _reread_sessions_of_stored(self, unique: list[Event], fresh: list[Event]) -> None:
        """Events that were stored already may have come from another loader, with more of the session than
        memory holds: such a session is read again from the database rather than summarised from memory."""
        new = {e.uid for e in fresh}
        for event in unique:
            if event.uid not in new:
                self.live.forget(event.session)

    def forget(self) -> None:
        """Memory may hold what was rolled back: later batches re-read their sessions from the database."""
        self.live = LiveSessions(self.live.max_events)

    def write_dead_letters(self, batch: Batch) -> None:
        store = self.store
        store.upsert_dead_letters(batch.dead + batch.pending if batch.pending else batch.dead)
        for file_id, offset in batch.resolved:
            store.resolve_at(file_id, offset)
        for status, ids in batch.statuses.items():
            store.set_dead_letter_status(ids, status)

    def prepare(
        self,
        batch: Batch,
        checkpoint: Checkpoint | None,
        groups: dict[str, list[Event]],
        existing: dict[str, str | None],
        stored: dict[str, list[Event]],
        stored_counts: dict[str, int] | None = None,
    ) -> Prepared:
        """The rows of every table for the new events ``groups`` (by session); updates the live sessions.

        ``stored`` / ``stored_counts``: the events and raw-event counts of ``existing`` sessions, read from the
        database in this batch's transaction (after its own events went in).
        """
        live = self.live
        fresh = [e for events in groups.values() for e in events]
        p = Prepared(batch, checkpoint, fresh, existing)
        fresh_uids = {e.uid for e in fresh}
        for sid, events in groups.items():
            held = live.get(sid)
            if held is not None:
                everything = held.events + events
                result = summarise(sid, everything, fresh_uids)
                added = events
                in_db = p.expected[sid] = held.stored + len(events)
            elif sid in existing:
                everything = stored.get(sid, events)
                result = summarise(sid, everything, fresh_uids)
                added = everything
                in_db = p.expected[sid] = (stored_counts or {}).get(sid, len(everything))
            else:
                everything = added = events
                result = summarise(sid, events)
                p.new_ids.append(sid)
                in_db = len(events)
            activity = summarise_activity(everything, fresh_uids if held is not None or sid in existing else None)
            summary = result.summary + activity.counts
            p.forwards += activity.forwards
            p.exploits += activity.exploits
            p.summaries.append(summary)
            if result.mixed_sensors:
                p.mixed_sensors.append(sid)
            is_new = held is None and sid not in existing
            if is_new:
                p.created.append(summary)
            p.auth += result.auth
            p.transfers += result.transfers
            p.keys += result.keys
            written = held.commands if held is not None else None
            order: dict[str, tuple[int, bool]] = {}
            for row in result.commands:
                uid = row[COMMAND_UID]
                order[uid] = (row[COMMAND_SEQUENCE], row[COMMAND_KNOWN])
                if is_new or uid in fresh_uids:
                    p.commands.append(row)
                elif written is None or written.get(uid) != order[uid]:
                    p.command_updates.append(row)
            ip = summary[SUMMARY_SOURCE_IP]
            first, last = summary[SUMMARY_FIRST_EVENT_AT], summary[SUMMARY_LAST_EVENT_AT]
            if is_new:
                _bump(p.bumps, ip, 1, first, last)
            elif held is not None and held.source_ip == ip:
                _bump(p.bumps, ip, 0, first, last)
            else:
                old_ip = held.source_ip if held is not None else existing[sid]
                p.recount.update(i for i in (old_ip, ip) if i is not None)
            live.put(sid, LiveSession(everything, ip, order, stored=in_db), added)
        return p

    def apply_sessions(self, p: Prepared) -> None:
        """The inventory rows and summaries of ``p``, in the open transaction; the last step that can conflict."""
        store = self.store
        ips = sorted({s[SUMMARY_SOURCE_IP] for s in p.summaries if s[SUMMARY_SOURCE_IP] is not None} | p.recount)
        new_set = set(p.new_ids)
        known = self.known_ips
        store.ensure_ips([ip for ip in ips if ip not in known])
        store.lock_ips(ips)  # in address order, before any session row: concurrent workers queue, never deadlock
        self._check_unchanged(p)
        per_asn: dict[int, tuple[int, Any, Any]] = {}  # AS -> (sessions it gains, first, last), as stored
        store.insert_summaries(self._with_snapshots(p, per_asn))
        updated = [s for s in p.summaries if s[SUMMARY_SESSION_ID] not in new_set] if p.created else p.summaries
        for asn, first, last in store.upsert_summaries(updated):  # those that grew and carry a snapshot
            _bump(per_asn, asn, 0, first, last)
        store.count_asn_sessions([(asn, *v) for asn, v in sorted(per_asn.items())])

    def _check_unchanged(self, p: Prepared) -> None:
        """:class:`Conflict` if another loader stored events of a session this batch updates since this run
        last saw it (two loaders, one session split across their files: each holds only its own part).

        The session's IP row is locked now (PostgreSQL; SQLite has one writer), and every other writer of the
        session locks it too, so their commits are visible and no new one can come before this one's. The
        batch is then done again with the session read from the database, all of its events included.
        """
        if not p.expected:
            return
        counts = self.store.raw_event_counts(sorted(p.expected))
        for sid, expected in p.expected.items():
            if counts.get(sid, 0) != expected:
                raise Conflict(f"session {sid} has {counts.get(sid, 0)} stored events, this run knew {expected}")

    def _with_snapshots(self, p: Prepared, per_asn: dict[int, tuple[int, Any, Any]]) -> list[Row]:
        """New summaries with their snapshot columns, set where the session is live and its IP enriched.

        The IPs' rows are locked already (PostgreSQL), so the state copied is the committed current one and
        cannot change under the batch; the AS counters take the new sessions in the same transaction.
        """
        p.snapshotted = 0
        if self.snapshot_hours is None or not p.created:
            return [s + NO_SNAPSHOT for s in p.created]
        now = self.clock()
        live_since = now - dt.timedelta(hours=self.snapshot_hours)
        ip_at, first_at, last_at = SUMMARY_SOURCE_IP, SUMMARY_FIRST_EVENT_AT, SUMMARY_LAST_EVENT_AT
        live = [s[ip_at] is not None and s[first_at] is not None and s[first_at] >= live_since for s in p.created]
        store = self.store
        states = store.enriched_states(
            sorted({s[ip_at] for s, is_live in zip(p.created, live, strict=True) if is_live})
        )
        if not states:
            return [s + NO_SNAPSHOT for s in p.created]
        at, t = store.time(now), store.time
        rows: list[Row] = []
        for s, is_live in zip(p.created, live, strict=True):
            state = states.get(s[ip_at]) if is_live else None
            if state is None:
                rows.append(s + NO_SNAPSHOT)
                continue
            asn, country, types, enrichment = state
            rows.append((*s, asn, country, types, "ingest", enrichment, at))
            p.snapshotted += 1
            if asn is not None:
                last = s[last_at] if s[last_at] is not None else s[first_at]
                _bump(per_asn, asn, 1, t(s[first_at]), t(last))
        return rows

    def apply_details(self, p: Prepared) -> None:
        """The detail rows, counters and checkpoint of ``p``, in the open transaction."""
        store = self.store
        store.insert_details("auth_attempts", p.auth)
        store.insert_details("commands", p.commands)
        store.insert_details("file_transfers", p.transfers)
        store.insert_details("ssh_keys", p.keys)
        store.insert_details("port_forwards", p.forwards)
        store.insert_details("exploit_attempts", p.exploits)
        store.update_command_order(p.command_updates)
        store.bump_ip_counters([(ip, *v) for ip, v in sorted(p.bumps.items()) if ip not in p.recount])
        store.refresh_ip_counters(sorted(p.recount))
        c = p.checkpoint
        if c is not None:
            store.checkpoint(
                c.file_id, c.path, c.offset, c.size, c.tail, p.events_new, len(p.batch.dead), before=c.before
            )

    def count(self, p: Prepared) -> None:
        """Add a committed batch to the run's totals."""
        totals = self.totals
        totals.events_new += p.events_new
        totals.events_duplicate += p.events_read - p.events_new
        totals.unknown_eventids += p.unknown_eventids
        totals.dead_letters += len(p.batch.dead)
        totals.lines_pending += len(p.batch.pending)
        totals.track_new(p.new_ids)
        totals.sessions_snapshotted += p.snapshotted
        totals.mixed_sensor_ids.update(p.mixed_sensors)  # few: collisions, and sessions continued across runs
        totals.updated_ids.update(p.existing)
        if len(self.known_ips) > MAX_KNOWN_IPS:
            self.known_ips.clear()
        self.known_ips.update(s[SUMMARY_SOURCE_IP] for s in p.summaries if s[SUMMARY_SOURCE_IP] is not None)


def _bump(bumps: dict[Any, tuple[int, Any, Any]], key: Any, n: int, first: Any, last: Any) -> None:
    if key is None:
        return
    entry = bumps.get(key)
    bumps[key] = (n, first, last) if entry is None else (entry[0] + n, min(entry[1], first), max(entry[2], last))
