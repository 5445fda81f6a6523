"""``ingest PATH...``: read each file from its checkpoint, in batches, into the database.

Lines Cowrie split at the midnight rotation (the end of one file, the start of the next) are joined
when both halves have been read, in either order: an unterminated last line is kept as a
``partial_line`` dead letter (and as the file's ``pending_tail``), an unparsable first line as a
``partial_line_head`` dead letter; each new half is tried against the pending other halves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cowrieprocessor.ingestion import sources
from cowrieprocessor.ingestion.events import Event, Rejection, parse_line
from cowrieprocessor.ingestion.store import Store, open_store
from cowrieprocessor.ingestion.writer import Batch, BatchWriter, Checkpoint

Progress = Callable[[int, int], None]  # (bytes on disk read since last call, new events since last call)
BATCH_EVENTS = 10_000
BATCH_BYTES = 32 << 20


@dataclass
class IngestStats:
    files_seen: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    files_restarted: int = 0
    files_empty: int = 0
    missing: list[str] = field(default_factory=list)
    bytes_on_disk: int = 0
    bytes_read: int = 0
    lines: int = 0
    events_read: int = 0
    events_new: int = 0
    events_duplicate: int = 0
    unknown_eventids: int = 0
    sessions_new: int = 0
    sessions_updated: int = 0
    dead_letters: int = 0
    lines_joined: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["events_per_second"] = round(self.events_read / self.seconds) if self.seconds else 0
        data["mb_per_second"] = round(self.bytes_on_disk / 1e6 / self.seconds, 2) if self.seconds else 0.0
        return data


class Ingestor:
    def __init__(
        self,
        engine: Engine,
        *,
        sensor: str | None = None,
        batch_events: int = BATCH_EVENTS,
        progress: Progress | None = None,
    ) -> None:
        self.engine = engine
        self.sensor = sensor
        self.batch_events = batch_events
        self.progress = progress
        self.stats = IngestStats()
        self.session_ids: list[str] | None = []

    def run(self, paths: list[str]) -> IngestStats:
        started = time.monotonic()
        files, self.stats.missing = sources.discover(paths)
        store = open_store(self.engine)
        writer = BatchWriter(store)
        try:
            for path in files:
                self.stats.files_seen += 1
                self._ingest_file(store, writer, path)
        finally:
            store.close()
        totals = writer.totals
        s = self.stats
        s.events_new, s.events_duplicate = totals.events_new, totals.events_duplicate
        s.unknown_eventids, s.dead_letters = totals.unknown_eventids, totals.dead_letters
        s.sessions_new, s.sessions_updated = totals.sessions_new, totals.sessions_updated
        s.seconds = round(time.monotonic() - started, 3)
        self.session_ids = totals.session_ids()
        return s

    def _ingest_file(self, store: Store, writer: BatchWriter, path: Path) -> None:
        ident = sources.identity(path)
        if ident is None:
            self.stats.files_empty += 1
            return
        row = store.file_row(ident)
        opened = sources.open_log(path)
        if row is None:
            file_id, start, tail = store.create_file(str(path), ident, opened.compression), 0, None
        else:
            file_id, start, _size, tail = row
        disk_size = path.stat().st_size
        try:
            unchanged = opened.compression == "none" and row is not None and disk_size == start + len(tail or b"")
            if unchanged and (start == 0 or self._continuous(opened, start)):
                self.stats.files_unchanged += 1
                self._report(disk_size, 0)
                return
            if start and not self._continuous(opened, start):
                self.stats.files_restarted += 1
                opened.stream.close()
                opened.raw.close()
                opened = sources.open_log(path)
                start, tail = 0, None
            self.stats.files_read += 1
            self._read(store, writer, opened, path, file_id, start, tail)
        finally:
            opened.stream.close()
            opened.raw.close()

    @staticmethod
    def _continuous(opened: sources.Opened, start: int) -> bool:
        """The byte before the checkpoint is still a newline: the same log, not a replaced one."""
        if not sources.skip_to(opened, start - 1):
            return False
        try:
            return opened.stream.read(1) == b"\n"
        except (EOFError, OSError):
            return False

    def _read(
        self, store: Store, writer: BatchWriter, opened: sources.Opened, path: Path, file_id: int,
        start: int, tail: bytes | None,
    ) -> None:  # fmt: skip
        batch = Batch()
        checkpoint = Checkpoint(file_id, str(path), start, start, tail)
        disk_seen = opened.raw.tell()
        new_events = 0
        src = str(path)
        for pos, data, kind, detail, end in sources.iter_lines(opened.stream, start):
            self.stats.lines += 1
            self.stats.bytes_read += end - pos
            if kind == sources.LINE:
                if data.strip():
                    self._line(store, batch, src, file_id, pos, data)
                    if pos == start and tail is not None:
                        batch.resolved.append((file_id, pos))
                checkpoint.offset = checkpoint.size = end
                checkpoint.tail = None
            elif kind == sources.TOO_LONG:
                batch.dead.append((file_id, src, pos, "line_too_long", detail, data))
                checkpoint.offset = checkpoint.size = end
                checkpoint.tail = None
            elif kind == sources.TAIL:
                if not (pos == start and data == tail):
                    self._tail(store, batch, src, file_id, pos, data)
                checkpoint.offset, checkpoint.size, checkpoint.tail = pos, end, data
            else:  # CORRUPT
                batch.dead.append((file_id, src, pos, "truncated_compressed", detail, data))
                checkpoint.offset, checkpoint.size, checkpoint.tail = pos, end, None
            batch.nbytes += len(data)
            if len(batch) >= self.batch_events or batch.nbytes >= BATCH_BYTES:
                new_events += writer.write(batch, checkpoint)
                self.stats.events_read += len(batch.events)
                now = opened.raw.tell()
                self._report(now - disk_seen, len(batch.events))
                disk_seen, batch = now, Batch()
        writer.write(batch, checkpoint)
        self.stats.events_read += len(batch.events)
        self.stats.bytes_on_disk += opened.raw.tell()
        self._report(opened.raw.tell() - disk_seen, len(batch.events))

    def _report(self, nbytes: int, nevents: int) -> None:
        if self.progress is not None:
            self.progress(nbytes, nevents)

    def _line(self, store: Store, batch: Batch, src: str, file_id: int, pos: int, data: bytes) -> None:
        event = parse_line(data, sensor=self.sensor, file_id=file_id, offset=pos)
        if isinstance(event, Event):
            batch.events.append(event)
            return
        if pos == 0 and event.reason in ("invalid_json", "invalid_utf8"):
            for dl_id, dl_file, dl_offset, half in store.pending_dead_letters("partial_line"):
                joined = parse_line(half + data, sensor=self.sensor, file_id=dl_file, offset=dl_offset)
                if isinstance(joined, Event):
                    batch.events.append(joined)
                    batch.statuses.setdefault("joined", []).append(dl_id)
                    self.stats.lines_joined += 1
                    return
            event = Rejection(
                "partial_line_head",
                f"{event.detail}; first line of the file: may be the second half of a line split at rotation",
            )
        batch.dead.append((file_id, src, pos, event.reason, event.detail, data))

    def _tail(self, store: Store, batch: Batch, src: str, file_id: int, pos: int, data: bytes) -> None:
        """An unterminated last line: join it with a pending first line of another file, or keep it."""
        for dl_id, dl_file, _offset, half in store.pending_dead_letters("partial_line_head"):
            if dl_file == file_id:
                continue
            joined = parse_line(data + half, sensor=self.sensor, file_id=file_id, offset=pos)
            if isinstance(joined, Event):
                batch.events.append(joined)
                batch.statuses.setdefault("joined", []).append(dl_id)
                self.stats.lines_joined += 1
                return
        batch.dead.append(
            (file_id, src, pos, "partial_line", "no newline at end of file: incomplete or split at rotation", data)
        )


def ingest(
    engine: Engine, paths: list[str], *, sensor: str | None = None, progress: Progress | None = None,
    batch_events: int = BATCH_EVENTS,
) -> tuple[IngestStats, list[str] | None]:  # fmt: skip
    """Ingest ``paths``; return the statistics and the ids of sessions created or changed (None: too many)."""
    ingestor = Ingestor(engine, sensor=sensor, progress=progress, batch_events=batch_events)
    stats = ingestor.run(paths)
    return stats, ingestor.session_ids
