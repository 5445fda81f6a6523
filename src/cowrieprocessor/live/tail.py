"""Watching a live log by ``stat`` alone, and noticing when it was rotated or truncated.

What was read is never tracked here: the file checkpoints of ingestion are (a file is named by its first
line, so ``cowrie.json`` renamed to ``cowrie.json.2026-12-06`` keeps its checkpoint). This module only says
*when* to read and *what*: the live file when its inode, size or modification time moved, and its rotated
siblings (``cowrie.json.*`` in the same directory) when it was renamed away, replaced or truncated - the
rest of the old content is there (Cowrie's ``DailyLogFile`` renames; ``logrotate copytruncate`` copies).
An idle tick costs one ``stat`` per watched file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from cowrieprocessor.ingestion import logfiles

#: Names of compressed rotations: never the continuation of a live file (Cowrie does not compress).
COMPRESSED = (".gz", ".bz2", ".xz", ".zst")
LIVE_NAME = "cowrie.json"
#: Bytes of a new file examined for a complete first line (its identity; ``logfiles.IDENTITY_PREFIX``).
HEAD_BYTES = logfiles.IDENTITY_PREFIX


class Change(Enum):
    NONE = "none"  # nothing new since the last read
    GREW = "grew"  # same file, more bytes (or first sight of it)
    ROTATED = "rotated"  # the name now points to another file, or to none: the old one was renamed away
    TRUNCATED = "truncated"  # same file, fewer bytes than read (copytruncate)


#: How long a renamed live file is still watched for lines its writer adds before it reopens the new one
#: (``logrotate`` without ``copytruncate`` renames, then signals the writer; Cowrie closes before it renames).
DRAIN_SECONDS = 300.0


@dataclass
class Watched:
    """One live log path and what it looked like when last read."""

    path: Path
    key: tuple[int, int] | None = None  # (device, inode) last read
    size: int = 0
    mtime_ns: int = 0
    ready: bool = False  # its first line is complete (until then its identity is not final)
    #: Renamed live files still watched, until their deadline (``time.monotonic``).
    draining: list[tuple[Watched, float]] = field(default_factory=list)

    def look(self) -> tuple[Change, os.stat_result | None]:
        """What changed since the last :meth:`mark`; the current ``stat`` (None: no file there now)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return (Change.ROTATED if self.key is not None else Change.NONE), None
        key = (st.st_dev, st.st_ino)
        if self.key is not None and key != self.key:
            return Change.ROTATED, st
        if self.key is not None and st.st_size < self.size:
            return Change.TRUNCATED, st
        if key == self.key and st.st_size == self.size and st.st_mtime_ns == self.mtime_ns:
            return Change.NONE, st
        return Change.GREW, st

    def mark(self, st: os.stat_result) -> None:
        """Everything up to ``st`` was read (``st`` taken before reading: later bytes show as growth)."""
        self.key, self.size, self.mtime_ns = (st.st_dev, st.st_ino), st.st_size, st.st_mtime_ns

    def forget(self, now: float) -> None:
        """The file at the path is another one now (or none): start afresh with whatever comes next, and keep
        an eye on the old one under its new name for :data:`DRAIN_SECONDS`."""
        renamed = find_inode(self.path.parent, self.key) if self.key is not None else None
        self.draining = [(w, until) for w, until in self.draining if until > now]
        if renamed is not None:
            old = Watched(renamed, self.key, self.size, self.mtime_ns, ready=True)
            self.draining.append((old, now + DRAIN_SECONDS))
        self.key, self.size, self.mtime_ns, self.ready = None, 0, 0, False

    def drained(self, now: float) -> list[tuple[Watched, os.stat_result]]:
        """The renamed files that grew since they were read (and are still the same file), with their ``stat``."""
        grown = []
        self.draining = [(w, until) for w, until in self.draining if until > now]
        for old, _until in self.draining:
            change, st = old.look()
            if change is Change.GREW and st is not None:
                grown.append((old, st))
        return grown

    def unread(self) -> int:
        """Bytes on disk beyond what was read (0 when the file is gone)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return 0
        if self.key != (st.st_dev, st.st_ino):
            return st.st_size
        return max(0, st.st_size - self.size)


def find_inode(folder: Path, key: tuple[int, int] | None) -> Path | None:
    """The name in ``folder`` of the file ``key`` (device, inode), if it is still there."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return None
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == key:
            return Path(entry.path)
    return None


def live_path(arg: str) -> Path:
    """A PATH argument as the live log: a directory means its ``cowrie.json``."""
    path = Path(arg).expanduser()
    path = path / LIVE_NAME if path.is_dir() else path
    return path.parent.resolve() / path.name  # absolute, as ingestion names its rotations


def first_line_complete(path: Path) -> bool:
    """Whether the file's first line has its newline: only then is its identity (and checkpoint) final."""
    try:
        with path.open("rb") as fh:
            return b"\n" in fh.read(HEAD_BYTES)
    except OSError:
        return False


def siblings(live: Path) -> list[Path]:
    """The live file's uncompressed rotations next to it (``cowrie.json.2026-12-06``, ``cowrie.json.1``),
    oldest first as ingestion orders them."""
    prefix = live.name + "."
    try:
        entries = list(os.scandir(live.parent))
    except OSError:
        return []
    found = [
        Path(e.path)
        for e in entries
        if e.name.startswith(prefix) and not e.name.endswith(COMPRESSED) and e.is_file(follow_symlinks=False)
    ]
    return logfiles.discover_all([str(p) for p in found]).files
