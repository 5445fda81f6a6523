"""Ingestion kept open for a live log: one store, one writer and the sessions in memory for the whole run.

Each read is :class:`~cowrieprocessor.ingestion.pipeline.Ingestor`'s own reading of one file from its checkpoint
(identity by first line, the hash before the checkpoint, pending unterminated last lines, lines split at
rotation joined, one transaction per batch with its checkpoint): ``follow`` reads exactly as ``ingest`` does,
so the two can take turns on the same files, and a ``kill -9`` at any moment loses and repeats nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from cowrieprocessor.ingestion import live, logfiles
from cowrieprocessor.ingestion.live import LiveSessions
from cowrieprocessor.ingestion.pipeline import Ingestor
from cowrieprocessor.ingestion.store import open_store
from cowrieprocessor.ingestion.threaded_writer import OverlappedWriter
from cowrieprocessor.ingestion.writer import BatchWriter, WriteTotals


class Stopping(Exception):
    """Raised between two batches when the process was asked to end: the batch before is committed."""


class LiveReader(Ingestor):
    def __init__(
        self,
        engine: Engine,
        *,
        sensor: str | None = None,
        batch_events: int | None = None,
        snapshot_hours: float | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(engine, sensor=sensor, batch_events=batch_events, snapshot_hours=snapshot_hours)
        self.session_ids = None  # a long run lists no session ids (memory stays bounded)
        self.progress = self._between_batches
        self.should_stop = should_stop
        self.store = open_store(engine)
        self.limit = batch_events or self.store.batch_events
        self.writer = OverlappedWriter(
            BatchWriter(self.store, LiveSessions(live.MAX_LIVE_EVENTS), snapshot_hours=snapshot_hours)
        )
        self.unreadable = 0
        self.last_error: str | None = None

    def read(self, path: Path) -> None:
        """Read ``path`` from its checkpoint to its end and commit; :class:`Stopping` between batches."""
        try:
            self._ingest_file(self.store, self.writer, path)
        except logfiles.Unreadable as exc:  # permission denied, I/O error: said, counted, tried again next time
            self.unreadable += 1
            self.last_error = f"{path}: {exc}"
        finally:
            self.writer.flush()

    def take_totals(self) -> WriteTotals:
        """What was committed since the last call (the totals start again: a long run keeps no id sets)."""
        self.writer.flush()
        inner = self.writer.writer
        totals, inner.totals = inner.totals, WriteTotals()
        return totals

    def close(self) -> None:
        try:
            self.writer.close()
        finally:
            self.store.close()

    def _between_batches(self, _nbytes: int, nevents: int) -> None:
        if nevents and self.should_stop():
            raise Stopping
