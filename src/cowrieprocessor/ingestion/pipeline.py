"""``ingest PATH...``: read each file from its checkpoint, in batches, into the database.

Lines Cowrie split at the midnight rotation (the end of one file, the start of the next) are joined
when both halves have been read, in either order: an unterminated last line is a pending line (counted as
``lines_pending``, not as a dead letter: it may still be being written), kept as a ``partial_line`` row of
``dead_letters`` and as the file's ``pending_tail``; an unparsable first line is a ``partial_line_head``
dead letter; each new half is tried against the pending other halves.
"""

from __future__ import annotations

import gc
import queue
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cowrieprocessor.ingestion import live, logfiles
from cowrieprocessor.ingestion.events import Event, Rejection, parse_line
from cowrieprocessor.ingestion.live import KEPT_FIELDS, LiveSessions
from cowrieprocessor.ingestion.store import Store, open_store
from cowrieprocessor.ingestion.threaded_writer import OverlappedWriter
from cowrieprocessor.ingestion.writer import Batch, BatchWriter, Checkpoint

Progress = Callable[[int, int], None]  # (bytes on disk read since last call, new events since last call)
BATCH_BYTES = 32 << 20
#: GIL switch interval while ingesting. The database drivers release the GIL around every statement
#: step (every row of an ``executemany``); with the default 5 ms the writing thread then waits for the
#: parsing thread's time slice to end before each next row, so the two threads take turns instead of
#: overlapping (measured on SQLite: 15.2 s -> 9.7 s wall for 200k events, same CPU seconds).
SWITCH_INTERVAL = 0.0005
#: A full cyclic garbage collection every this many batches (no other collection runs while ingesting).
FULL_GC_BATCHES = 50
#: Session ids named in the summary when sessions mix sensors.
MIXED_EXAMPLES = 10


@dataclass
class IngestStats:
    files_seen: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    files_restarted: int = 0
    files_empty: int = 0
    missing: list[str] = field(default_factory=list)
    #: Files and directories that could not be read (``{"path", "error"}``): reported, counted, skipped.
    unreadable: list[dict[str, str]] = field(default_factory=list)
    bytes_on_disk: int = 0
    bytes_read: int = 0
    lines: int = 0
    events_read: int = 0
    events_new: int = 0
    events_duplicate: int = 0
    unknown_eventids: int = 0
    sessions_new: int = 0
    sessions_updated: int = 0
    sessions_snapshotted: int = 0  # new sessions written with their snapshot (their IP was enriched already)
    #: Sessions whose events name more than one sensor (see ``SessionResult.mixed_sensors``), a few of their ids.
    sessions_mixed_sensors: int = 0
    mixed_sensor_examples: list[str] = field(default_factory=list)
    dead_letters: int = 0
    #: Unterminated last lines (a line still being written, or half of one split at rotation): not dead letters.
    lines_pending: int = 0
    lines_joined: int = 0
    seconds: float = 0.0
    #: The sessions created or changed (for the enrichment hook), None when too many to list; not reported.
    session_ids: list[str] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["session_ids"]
        data["files_unreadable"] = len(self.unreadable)
        data["events_per_second"] = round(self.events_read / self.seconds) if self.seconds else 0
        data["mb_per_second"] = round(self.bytes_on_disk / 1e6 / self.seconds, 2) if self.seconds else 0.0
        return data


@dataclass
class Part:
    """A batch as the reading thread hands it over, with the file position to checkpoint after it."""

    batch: Batch
    offset: int
    size: int
    tail: bytes | None
    heads: list[tuple[int, bytes, Rejection]] = field(default_factory=list)
    tails: list[tuple[int, bytes]] = field(default_factory=list)
    lines: int = 0
    bytes_read: int = 0
    disk_pos: int = 0
    before: str | None = None  # hash of the bytes before ``offset`` (``logfiles.window_hash``)


def _in_thread(parts: Iterator[Part]) -> Generator[Part, None, None]:
    """Run ``parts`` in a thread, one item ahead of the consumer; errors propagate.

    The thread makes the next item only once the consumer has taken the last one, so no more than one
    finished batch waits in memory (the batches being prepared and written are the other two).
    """
    handoff: queue.Queue[Part | BaseException | None] = queue.Queue(maxsize=1)
    taken = threading.Event()
    stop = threading.Event()

    def hand(item: Part | BaseException | None) -> bool:
        taken.clear()
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                break
            except queue.Full:
                continue
        while not stop.is_set():
            if taken.wait(0.1):
                return True
        return False

    def produce() -> None:
        try:
            for part in parts:
                if not hand(part):
                    return
            hand(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            hand(exc)

    thread = threading.Thread(target=produce, name="ingest-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            taken.set()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            with suppress(queue.Empty):
                handoff.get_nowait()  # unblocks a producer waiting to hand over
            thread.join(0.05)


class Ingestor:
    def __init__(
        self,
        engine: Engine,
        *,
        sensor: str | None = None,
        batch_events: int | None = None,
        progress: Progress | None = None,
        snapshot_hours: float | None = None,
    ) -> None:
        self.engine = engine
        self.snapshot_hours = snapshot_hours
        self.sensor = sensor
        self.batch_events = batch_events
        self.limit = 0  # events per batch, set by ``run``: ``batch_events``, else the store's own size
        self.progress = progress
        self.stats = IngestStats()
        self._batches = 0

    def run(self, paths: list[str]) -> IngestStats:
        started = time.monotonic()
        found = logfiles.discover_all(paths)
        files, self.stats.missing = found.files, found.missing
        self.stats.unreadable = [{"path": path, "error": why} for path, why in found.unreadable]
        store = open_store(self.engine)
        self.limit = self.batch_events or store.batch_events
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
        collecting = gc.isenabled()
        gc.disable()  # collected every few batches instead: see _collect
        gc.freeze()
        try:
            writer = OverlappedWriter(
                BatchWriter(store, LiveSessions(live.MAX_LIVE_EVENTS), snapshot_hours=self.snapshot_hours)
            )
            try:
                for path in files:
                    self.stats.files_seen += 1
                    try:
                        self._ingest_file(store, writer, path)
                    except logfiles.Unreadable as exc:
                        self.stats.unreadable.append({"path": str(path), "error": str(exc)})
                writer.flush()
            finally:
                writer.close()
        finally:
            sys.setswitchinterval(interval)
            gc.unfreeze()
            if collecting:
                gc.enable()
            store.close()
        totals = writer.totals
        s = self.stats
        s.events_new, s.events_duplicate = totals.events_new, totals.events_duplicate
        s.unknown_eventids, s.dead_letters = totals.unknown_eventids, totals.dead_letters
        s.lines_pending = totals.lines_pending
        s.sessions_new, s.sessions_updated = totals.sessions_new, totals.sessions_updated
        s.sessions_snapshotted = totals.sessions_snapshotted
        s.sessions_mixed_sensors = len(totals.mixed_sensor_ids)
        s.mixed_sensor_examples = sorted(totals.mixed_sensor_ids)[:MIXED_EXAMPLES]
        s.seconds = round(time.monotonic() - started, 3)
        s.session_ids = totals.session_ids()
        return s

    def _ingest_file(self, store: Store, writer: OverlappedWriter, path: Path) -> None:
        """Read one file from its checkpoint; :class:`logfiles.Unreadable` if it cannot be opened or read."""
        with logfiles.reading(path):
            ident = logfiles.identity(path)
        if ident is None:
            self.stats.files_empty += 1
            return
        writer.flush()  # the connection is the writing thread's while a batch is in flight
        row = store.file_row(ident)
        with logfiles.reading(path):
            opened = logfiles.open_log(path)
        before: str | None = None
        if row is None:
            file_id, start, tail = store.create_file(str(path), ident, opened.compression), 0, None
        else:
            file_id, start, _size, tail, before = row
        try:
            with logfiles.reading(path):
                disk_size = path.stat().st_size
            unchanged = opened.compression == "none" and row is not None and disk_size == start + len(tail or b"")
            if unchanged and (start == 0 or logfiles.same_before(opened, start, before)):
                self.stats.files_unchanged += 1
                self._report(disk_size, 0)
                return
            if start and not logfiles.same_before(opened, start, before):
                self.stats.files_restarted += 1
                opened.stream.close()
                opened.raw.close()
                with logfiles.reading(path):
                    opened = logfiles.open_log(path)
                start, tail, before = 0, None, None
            self._read(store, writer, opened, path, file_id, start, tail, row is not None, before)
        finally:
            opened.stream.close()
            opened.raw.close()

    def _read(
        self, store: Store, writer: OverlappedWriter, opened: logfiles.Opened, path: Path, file_id: int,
        start: int, tail: bytes | None, known: bool, before: str | None = None,
    ) -> None:  # fmt: skip
        """Write the batches :meth:`_parse` makes, as a second thread makes the next ones.

        Reading, decompressing (zlib and bz2 release the GIL) and parsing overlap with the database work
        (SQLite and libpq release it too); only the few lines that need the database to be understood
        (halves of a line split at rotation) are finished here, in the writing thread.
        """
        checkpoint = Checkpoint(file_id, str(path), start, start, tail, before)
        disk_seen = disk_start = opened.raw.tell()
        self._report(disk_seen, 0)  # a resumed file's progress starts where reading resumes, not at 0
        parsing = self._parse(opened, str(path), file_id, start, tail, store.raw_row, before)
        with closing(_in_thread(parsing)) as parts:
            for part in parts:
                self._write(store, writer, part, checkpoint, str(path), file_id)
                self._collect()
                self._report(part.disk_pos - disk_seen, len(part.batch.events))
                disk_seen = part.disk_pos
        if known and checkpoint.offset == start and checkpoint.tail == tail:
            # A compressed file has to be decompressed up to its checkpoint to know it has not grown: the bytes
            # that took are not ingestion throughput.
            self.stats.files_unchanged += 1
            return
        self.stats.files_read += 1
        self.stats.bytes_on_disk += disk_seen - disk_start

    def _write(
        self, store: Store, writer: OverlappedWriter, part: Part, checkpoint: Checkpoint, src: str, file_id: int
    ) -> None:
        batch = part.batch
        if part.heads or part.tails:
            writer.flush()  # joining split lines reads pending halves through the writing connection
        for pos, data, rejection in part.heads:
            self._head(store, batch, src, file_id, pos, data, rejection)
        for pos, data in part.tails:
            self._tail(store, batch, src, file_id, pos, data)
        checkpoint.offset, checkpoint.size, checkpoint.tail = part.offset, part.size, part.tail
        checkpoint.before = part.before
        writer.write(batch, checkpoint)
        self.stats.lines += part.lines
        self.stats.bytes_read += part.bytes_read
        self.stats.events_read += len(batch.events)

    def _parse(
        self, opened: logfiles.Opened, src: str, file_id: int, start: int, tail: bytes | None,
        raw_row: Callable[[Event], tuple[Any, ...]], before: str | None = None,
    ) -> Iterator[Part]:  # fmt: skip
        """The file's batches, each with the checkpoint to commit with it; runs in the reading thread."""
        sensor, limit = self.sensor, self.limit
        kept = KEPT_FIELDS
        part = Part(Batch(), start, start, tail, before=before)
        events, dead = part.batch.events, part.batch.dead
        size = 0
        whole: list[bytes] = []  # the last lines read whole: the bytes before the checkpoint, to hash
        for pos, data, kind, detail, end in logfiles.iter_lines(opened.stream, start):
            part.lines += 1
            if kind == logfiles.LINE:
                whole.append(data)
            elif kind == logfiles.TOO_LONG:
                whole.clear()
            part.bytes_read += end - pos
            if kind == logfiles.LINE:
                if data.strip():
                    event = parse_line(data, sensor=sensor, file_id=file_id, offset=pos)
                    if type(event) is Event:
                        event.row = raw_row(event)
                        # from here on only summaries read the fields: the rest would double the batch's memory
                        event.data = {k: v for k, v in event.data.items() if k in kept}
                        events.append(event)
                    elif pos == 0 and event.reason in ("invalid_json", "invalid_utf8"):  # type: ignore[union-attr]
                        part.heads.append((pos, data, event))  # type: ignore[arg-type]
                    else:
                        dead.append((file_id, src, pos, event.reason, event.detail, data))  # type: ignore[union-attr]
                    if pos == start and (tail is not None or (start and type(event) is Event)):
                        # the line left incomplete here (a pending tail, or a truncated archive's last bytes)
                        # has since been read whole: its dead letter is resolved
                        part.batch.resolved.append((file_id, pos))
                part.offset = part.size = end
                part.tail = None
            elif kind == logfiles.TOO_LONG:
                dead.append((file_id, src, pos, "line_too_long", detail, data))
                part.offset = part.size = end
                part.tail = None
            elif kind == logfiles.TAIL:
                if not (pos == start and data == tail):
                    part.tails.append((pos, data))
                part.offset, part.size, part.tail = pos, end, data
            else:  # CORRUPT: the stream broke (a damaged archive, or an I/O error reading a plain file)
                why = "truncated_compressed" if opened.compression != "none" else "read_error"
                dead.append((file_id, src, pos, why, detail, data))
                part.offset, part.size, part.tail = pos, end, None
            size += len(data)
            if len(events) + len(dead) >= limit or size >= BATCH_BYTES:
                part.disk_pos = opened.raw.tell()
                part.before = logfiles.window_hash(whole) if whole else (before if part.offset == start else None)
                yield part
                part = Part(Batch(), part.offset, part.size, part.tail, before=part.before)
                events, dead = part.batch.events, part.batch.dead
                size = 0
        part.disk_pos = opened.raw.tell()
        part.before = logfiles.window_hash(whole) if whole else (before if part.offset == start else None)
        yield part

    def _collect(self) -> None:
        """The cyclic collector, every ``FULL_GC_BATCHES`` batches rather than every 700 allocations.

        A batch is tens of thousands of live objects (events, their dicts, rows); automatic collections kept
        re-scanning them and everything the process had imported (frozen at the start of the run, so never
        scanned), about a third of the parsing time; even a young-generation collection per batch scans the
        whole batch. The hot path makes no reference cycles (everything is freed by reference counting alone),
        so an occasional full collection bounds memory just the same.
        """
        self._batches += 1
        if self._batches % FULL_GC_BATCHES == 0:
            gc.collect()

    def _report(self, nbytes: int, nevents: int) -> None:
        if self.progress is not None:
            self.progress(nbytes, nevents)

    def _head(
        self, store: Store, batch: Batch, src: str, file_id: int, pos: int, data: bytes, rejection: Rejection
    ) -> None:
        """An unparsable first line: join it with a pending unterminated last line of another file, or keep it."""
        # the joined line lives where its first half was written
        if self._join(store, batch, "partial_line", lambda half, f, o: (half + data, f, o)):
            return
        batch.dead.append(
            (file_id, src, pos, "partial_line_head",
             f"{rejection.detail}; first line of the file: may be the second half of a line split at rotation", data)
        )  # fmt: skip

    def _tail(self, store: Store, batch: Batch, src: str, file_id: int, pos: int, data: bytes) -> None:
        """An unterminated last line: join it with a pending first line of another file, or keep it."""
        if self._join(store, batch, "partial_line_head", lambda half, _f, _o: (data + half, file_id, pos), file_id):
            return
        batch.pending.append(
            (file_id, src, pos, "partial_line", "no newline at end of file: incomplete or split at rotation", data)
        )

    def _join(
        self,
        store: Store,
        batch: Batch,
        pending: str,
        assemble: Callable[[bytes, int | None, int | None], tuple[bytes, int | None, int | None]],
        skip_file: int | None = None,
    ) -> bool:
        """Try each pending half (dead letters of reason ``pending``): the first that makes a whole event wins."""
        for dl_id, dl_file, dl_offset, half in store.pending_dead_letters(pending):
            if dl_file == skip_file:
                continue
            line, where_file, where_offset = assemble(half, dl_file, dl_offset)
            joined = parse_line(line, sensor=self.sensor, file_id=where_file, offset=where_offset)
            if isinstance(joined, Event):
                batch.events.append(joined)
                batch.statuses.setdefault("joined", []).append(dl_id)
                self.stats.lines_joined += 1
                return True
        return False


def ingest(
    engine: Engine, paths: list[str], *, sensor: str | None = None, progress: Progress | None = None,
    batch_events: int | None = None, snapshot_hours: float | None = None,
) -> IngestStats:  # fmt: skip
    """Ingest ``paths``; return the statistics, with the ids of sessions created or changed (``session_ids``).

    ``snapshot_hours``: new sessions this recent, of IPs already enriched, get their snapshot as they are
    written (``None``: all snapshots are left to the enrichment pass).
    """
    ingestor = Ingestor(
        engine, sensor=sensor, progress=progress, batch_events=batch_events, snapshot_hours=snapshot_hours
    )
    return ingestor.run(paths)
