"""Each batch is written by a thread of its own while the next one is being prepared.

Writing a batch is mostly database work (SQLite's C code, or the PostgreSQL server) and preparing the next
one is mostly Python (grouping, summaries, rows): done one after the other, each waits for the other. Here
batch N is written in the ``ingest-writer`` thread while batch N+1 is summarised, so the two overlap.

Preparing a batch ahead of the database's answer means assuming what it would answer:

* its events are new. The insert of its raw events checks that (the unique index); if one is stored
  already (a file read twice, a renamed copy, a concurrent loader), the writer rolls the batch back and
  raises :class:`~cowrieprocessor.ingestion.store.Conflict`; that batch and the one prepared on its
  assumptions are then written the careful way, and so are the next ``CAREFUL_BATCHES`` batches;
* its sessions are either held in memory or new. A second connection looks the others up (committed
  rows only); a batch with a session the database already has is written the careful way. A session the
  batch in flight writes and memory no longer holds is looked up only once that batch is committed.

The careful way is :meth:`BatchWriter.write`: after the batch in flight is committed, one batch at a time,
with the database asked first. It is the only way for a store without a second connection (an in-memory
SQLite database). Either way a batch is one transaction with its checkpoint, and totals
count committed batches only.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from cowrieprocessor.ingestion.store import Conflict, Store
from cowrieprocessor.ingestion.summaries import SUMMARY_SESSION_ID
from cowrieprocessor.ingestion.writer import Batch, BatchWriter, Checkpoint, Prepared, WriteTotals, by_session, distinct

#: After a conflict, this many batches go the careful way (a file read twice conflicts in every batch).
CAREFUL_BATCHES = 20


class OverlappedWriter:
    def __init__(self, writer: BatchWriter) -> None:
        self.writer = writer
        self.reader: Store | None = writer.store.reader() if writer.store.overlaps else None
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="ingest-writer")
        self.flight: tuple[Future[None], Prepared, set[str]] | None = None
        self.careful = 0

    @property
    def totals(self) -> WriteTotals:
        return self.writer.totals

    def write(self, batch: Batch, checkpoint: Checkpoint | None) -> None:
        """Hand ``batch`` (and a copy of ``checkpoint``: the caller moves its own on) to the writing thread."""
        checkpoint = replace(checkpoint) if checkpoint is not None else None
        prepared = self._prepare(batch, checkpoint) if self.reader is not None and not self.careful else None
        if prepared is None:
            self.careful = max(0, self.careful - 1)
            self.flush()
            self.writer.write(batch, checkpoint)
            return
        if not self._land():  # the batch in flight conflicted: this one was prepared on a wrong assumption
            self.writer.write(batch, checkpoint)
            return
        sessions = {summary[SUMMARY_SESSION_ID] for summary in prepared.summaries}
        self.flight = (self.pool.submit(self._commit, prepared), prepared, sessions)
        self.writer.live.shrink()

    def flush(self) -> None:
        """Wait until the batch in flight is committed (or written again the careful way)."""
        self._land()

    def close(self) -> None:
        """Wait for the writing thread; after a failure elsewhere, its own outcome no longer matters."""
        try:
            if self.flight is not None:
                future, self.flight = self.flight[0], None
                future.exception()  # waited for; a batch that failed has rolled itself back
        finally:
            self.pool.shutdown()
            if self.reader is not None:
                self.reader.close()

    def _prepare(self, batch: Batch, checkpoint: Checkpoint | None) -> Prepared | None:
        """The batch's rows, assuming its events are new; None when it must go the careful way."""
        if batch.resolved or batch.statuses or any(e.row is None for e in batch.events):
            return None  # halves of split lines: joined with the database's help
        groups = by_session(distinct(batch.events))
        unknown = [sid for sid in groups if sid not in self.writer.live]
        if self.flight is not None and not self.flight[2].isdisjoint(unknown):
            self.flush()  # memory may have been cleared meanwhile (a conflict): ask again
            if self.careful:
                return None
            unknown = [sid for sid in groups if sid not in self.writer.live]
        assert self.reader is not None
        if self.reader.existing_sessions(unknown):
            return None
        return self.writer.prepare(batch, checkpoint, groups, {}, {})

    def _commit(self, p: Prepared) -> None:
        """In the writing thread: the batch's transaction."""
        store = self.writer.store
        store.begin()
        try:
            self.writer.write_dead_letters(p.batch)
            store.insert_new_raw(p.fresh)
            self.writer.apply_sessions(p)
            p.release_events()  # no conflict can follow: the batch will not be written again
            self.writer.apply_details(p)
            store.commit()
        except BaseException:
            store.rollback()
            raise

    def _land(self) -> bool:
        """Settle the batch in flight; False if it conflicted (it has then been written the careful way)."""
        if self.flight is None:
            return True
        future, prepared, _ = self.flight
        self.flight = None
        try:
            future.result()
        except Conflict as exc:
            self.writer.forget()
            if prepared.released:  # never commit it again without its events: stop, nothing is lost
                raise RuntimeError("a batch met a conflict after letting its events go") from exc
            self.careful = CAREFUL_BATCHES
            self.writer.write(prepared.batch, prepared.checkpoint)
            return False
        except BaseException:
            self.writer.forget()
            raise
        self.writer.count(prepared)
        return True
