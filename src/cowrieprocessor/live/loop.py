"""The ``follow`` loop: every ``interval`` seconds, read what the live logs gained, commit, enrich, alert.

* At start, and whenever a live log was renamed away, replaced or truncated, its uncompressed rotations next to
  it are read first (each from its own checkpoint): the renamed file is finished and a ``copytruncate`` copy
  gives the lines written before the truncation. Then the live file, from its checkpoint.
* A new live file is read once its first line is complete: its identity (and so its checkpoint) is final then.
* A stop request (SIGTERM, SIGINT) is honoured between two batches: the last one is committed with its
  checkpoint, the status row says ``stopped``, the exit code is 0.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from cowrieprocessor.clock import utcnow
from cowrieprocessor.live import status, tail
from cowrieprocessor.live.reader import LiveReader, Stopping
from cowrieprocessor.live.stats import FollowStats
from cowrieprocessor.live.tail import Change, Watched

if TYPE_CHECKING:
    from cowrieprocessor.alerts.run import AlertRunReport
    from cowrieprocessor.config import Settings
    from cowrieprocessor.live.enricher import Enricher

#: The status row is written after every tick with new events, and at least this often when idle.
HEARTBEAT_SECONDS = 5.0
#: Alerts are run at least this often when no batch comes: what waited ``[alerts] settle_seconds`` goes out,
#: and rules that look at time passing (a sensor gone silent) are checked (each rule gates its own cost).
ALERT_EVERY_SECONDS = 15.0

AlertHook = Callable[[Engine, "Settings", dt.datetime], "AlertRunReport"]


@dataclass
class FollowOptions:
    paths: list[str]
    name: str = "follow"
    interval: float = 1.0
    sensor: str | None = None
    batch_events: int | None = None
    enrich: bool = True
    online_every: float = 60.0
    online_limit: int = 1000
    catch_up: bool = True
    #: Stop after this many ticks (tests and benchmarks); None: until asked to stop.
    max_ticks: int | None = None


class Follower:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        options: FollowOptions,
        *,
        alerts: AlertHook | None = None,
        stats: FollowStats | None = None,
    ) -> None:
        self.engine, self.settings, self.options = engine, settings, options
        self.stop_requested = threading.Event()
        self.stats = stats or FollowStats()
        self.stats.paths = [str(tail.live_path(p)) for p in options.paths]
        self.stats.interval = options.interval
        self.watched = [Watched(Path(p)) for p in self.stats.paths]
        self.alerts = alerts
        self.started_at = utcnow()
        self.behind_since: float | None = None
        self.last_status = 0.0
        self.last_alerts = 0.0
        self.reader: LiveReader | None = None
        self.enricher: Enricher | None = None

    def stop(self, *_args: object) -> None:
        """Ask the loop to end after the batch being written (a signal handler)."""
        self.stop_requested.set()

    def run(self) -> FollowStats:
        """Follow until asked to stop; the status row ends ``stopped`` (or ``failed`` with the error)."""
        opts = self.options
        state = "failed"
        try:
            self.open()
            try:
                if opts.catch_up:
                    self.catch_up()
                ticks = 0
                while not self.stop_requested.is_set():
                    self.tick()
                    ticks += 1
                    if opts.max_ticks is not None and ticks >= opts.max_ticks:
                        break
                    self.stop_requested.wait(opts.interval)
            except Stopping:
                pass
            self._finish_tick()  # what the last batch committed: counted, enriched, alerted
            state = "stopped"
        except BaseException as exc:
            self.stats.last_error = f"{exc.__class__.__name__}: {exc}"[:500]
            raise
        finally:
            self.close(state)
        return self.stats

    def open(self) -> None:
        """Open the store and the sources, and say ``running``."""
        opts = self.options
        should_stop = self.stop_requested.is_set
        self.reader = LiveReader(
            self.engine,
            sensor=opts.sensor,
            batch_events=opts.batch_events,
            snapshot_hours=self.settings.enrich.live_snapshot_hours,
            should_stop=should_stop,
        )
        if opts.enrich:
            from cowrieprocessor.live.enricher import Enricher

            self.enricher = Enricher(
                self.engine, self.settings, self.stats, online_every=opts.online_every,
                online_limit=opts.online_limit, should_stop=should_stop,
            )  # fmt: skip
        self._write_status("running")

    def catch_up(self) -> None:
        """Read each live log's rotations next to it (what was written while no follower ran), each from its
        checkpoint; the live logs themselves are read by the first tick."""
        for watched in self.watched:
            self._read_rotations(watched)

    def tick(self) -> None:
        """One look at every live log; read what is new; then enrichment, alerts and status."""
        started = time.monotonic()
        self.stats.ticks += 1
        for watched in self.watched:
            self._look(watched)
        self._finish_tick(started)

    def _look(self, watched: Watched) -> None:
        assert self.reader is not None
        change, st = watched.look()
        now = time.monotonic()
        if change is Change.ROTATED:
            self.stats.rotations += 1
            self._read_rotations(watched)  # the old file, renamed next to the new one, is finished first
            watched.forget(now)
        elif change is Change.TRUNCATED:
            self.stats.truncations += 1
            self._read_rotations(watched)  # a copytruncate copy holds what was written before the truncation
            watched.forget(now)
        for old, old_st in watched.drained(now):  # late lines in a renamed file, before its writer reopened
            self.reader.read(old.path)
            old.mark(old_st)
        if st is None or change is Change.NONE:
            return
        if not watched.ready:
            if not tail.first_line_complete(watched.path):
                return  # its identity is its first line: wait for it
            watched.ready = True
        if self.behind_since is None:
            self.behind_since = time.time()
        self.reader.read(watched.path)
        watched.mark(st)

    def _read_rotations(self, watched: Watched) -> None:
        assert self.reader is not None
        for path in tail.siblings(watched.path):
            self.reader.read(path)

    def _finish_tick(self, started: float | None = None) -> None:
        """Count what the tick committed, enrich its new sessions, run the alerts, write the status."""
        assert self.reader is not None
        s = self.stats
        totals = self.reader.take_totals()
        now = time.time()
        with s.lock:
            s.events_read = self.reader.stats.events_read
            s.events_new += totals.events_new
            s.events_duplicate += totals.events_duplicate
            s.sessions_new += totals.sessions_new
            s.sessions_snapshotted += totals.sessions_snapshotted
            s.dead_letters += totals.dead_letters
            s.lines_pending += totals.lines_pending
            s.files_unreadable = self.reader.unreadable
            s.add_events(totals.events_new, now)
        if self.enricher is not None:
            self.enricher.after_batch(totals.sessions_new)
        committed = totals.events_new > 0
        if committed:
            s.batches += 1
            s.last_batch_at = now
        if self.alerts is not None and (committed or now - self.last_alerts >= ALERT_EVERY_SECONDS):
            self._run_alerts(now)
        unread = sum(w.unread() for w in self.watched)
        s.lag_bytes = unread
        if unread == 0:
            self.behind_since = None
        s.lag_seconds = round(now - self.behind_since, 3) if self.behind_since is not None else 0.0
        if committed and started is not None:
            s.last_batch_seconds = round(time.monotonic() - started, 4)
        if s.last_error is None and self.reader.last_error:
            s.last_error = self.reader.last_error
        if committed or now - self.last_status >= HEARTBEAT_SECONDS:
            self._write_status("running")

    def _run_alerts(self, now: float) -> None:
        assert self.alerts is not None
        self.last_alerts = now
        s = self.stats
        s.alert_runs += 1
        report = self.alerts(self.engine, self.settings, dt.datetime.fromtimestamp(now, dt.UTC))
        with s.lock:
            s.alerts_sent += report.sent
            s.alert_errors += report.failed + len(report.errors)

    def _write_status(self, state: str) -> None:
        self.last_status = time.time()
        status.write(self.engine, self.options.name, state, self.stats, self.started_at, utcnow())

    def close(self, state: str = "stopped") -> None:
        """Close the sources and the store, and write the last status (``stopped`` or ``failed``)."""
        try:
            if self.enricher is not None:
                self.enricher.close(wait=state != "failed")
        finally:
            try:
                if self.reader is not None:
                    self.reader.close()
            finally:
                self._write_status(state)
