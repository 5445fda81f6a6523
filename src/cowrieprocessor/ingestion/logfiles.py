"""Finding log files, opening them whatever their compression, naming them, and reading their lines.

* Paths may be files, directories (searched recursively for names containing ``.json``) or globs.
* Compression is detected from the first bytes (gzip, bzip2), never from the name.
* A file's *identity* is the SHA-256 of its first line (of the decompressed stream), so a renamed copy
  and a ``.gz``/``.bz2`` copy of the same log are the same file, a log that grew keeps its identity,
  and a log replaced under the same name gets a new one. Byte offsets are offsets in the decompressed
  stream. A compressed file cannot be seeked: resuming one means decompressing up to the checkpoint.
* A checkpoint also records a hash of the bytes just before it (:func:`window_hash`): a file rewritten
  with the same first line and padded to the old checkpoint differs there and is read again from the
  start, instead of being taken as grown.
"""

from __future__ import annotations

import bz2
import errno
import glob
import hashlib
import io
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

CHUNK = 1 << 20
IDENTITY_PREFIX = 64 * 1024
MAX_LINE = 1 << 20  # longer lines are dead letters (Cowrie lines are far shorter)
MAX_KEEP = 16 << 20  # bytes of an over-long line kept in its dead letter

LINE, TOO_LONG, TAIL, CORRUPT = 0, 1, 2, 3
#: Bytes before a checkpoint whose hash is kept with it.
HASH_WINDOW = 4096
_ROTATED = re.compile(r"\.json$")


@dataclass(frozen=True)
class Opened:
    stream: BinaryIO  # decompressed bytes
    raw: BinaryIO  # the file on disk, for progress
    compression: str


@dataclass
class Found:
    """What the arguments name: regular files to read, arguments that match nothing, and what cannot be
    read (``(path, why)``: an unreadable directory, a FIFO, a symlink loop...), to report and count."""

    files: list[Path]
    missing: list[str]
    unreadable: list[tuple[str, str]]


class Unreadable(Exception):
    """A file that cannot be opened or read (permission denied, an I/O error): reported, the run goes on."""


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn an operating-system error while opening or reading ``path`` into :class:`Unreadable`."""
    try:
        yield
    except OSError as exc:
        raise Unreadable(f"{exc.strerror or exc.__class__.__name__} ({exc.__class__.__name__})") from exc


def discover(paths: list[str]) -> tuple[list[Path], list[str]]:
    """The files to read, oldest rotation first, and the arguments that matched nothing."""
    found = discover_all(paths)
    return found.files, found.missing


def what_is(path: str) -> str | None:
    """Why ``path`` (that exists in some form) is not a file to read, or None for a regular file.

    ``None`` also for a name that does not exist at all (the caller reports it as missing)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "broken symbolic link" if os.path.islink(path) else None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        return f"cannot be examined: {exc.strerror or exc.__class__.__name__}"
    mode = info.st_mode
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kinds = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"))  # fmt: skip
    return next((f"not a regular file: {name}" for test, name in kinds if test(mode)), "not a regular file")


def discover_all(paths: list[str]) -> Found:
    """Every file the arguments name, oldest rotation first, and what is missing or cannot be read."""
    found: dict[Path, None] = {}
    missing: list[str] = []
    unreadable: list[tuple[str, str]] = []
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            matches = _walk(path, unreadable)
        elif path.is_file():
            matches = [path]
        elif (why := what_is(arg)) is not None:
            unreadable.append((arg, why))
            continue
        else:
            matches = [Path(p) for p in glob.glob(arg, recursive=True) if Path(p).is_file()]
        if not matches:
            missing.append(arg)
        for match in matches:
            found.setdefault(match.resolve(), None)
    return Found(sorted(found, key=_order), missing, unreadable)


def _walk(top: Path, unreadable: list[tuple[str, str]]) -> list[Path]:
    """Log files under ``top`` (names containing ``.json``); directories that cannot be listed, and
    ``.json`` names that are not regular files, go to ``unreadable``."""

    def refused(exc: OSError) -> None:
        unreadable.append((str(exc.filename or top), f"directory cannot be read: {exc.strerror or exc}"))

    matches = []
    for folder, _dirs, names in os.walk(top, onerror=refused, followlinks=False):
        for name in names:
            if ".json" not in name:
                continue
            candidate = Path(folder) / name
            why = what_is(str(candidate))
            if why is None and candidate.is_file():
                matches.append(candidate)
            elif why is not None:
                unreadable.append((str(candidate), why))
    return matches


def _order(path: Path) -> tuple[str, str]:
    """``cowrie.json.2025-02-24`` < ``cowrie.json.2025-02-25`` < ``cowrie.json`` (the live file)."""
    name = re.sub(r"\.(gz|bz2)$", "", path.name)
    return (str(path.parent), name + ".~" if _ROTATED.search(name) else name)


class Decompressed(io.RawIOBase):
    """The decompressed bytes of a gzip/bzip2 file (multi-member too).

    Unlike ``GzipFile``, a truncated or corrupt file yields every byte that could be decompressed
    before the error is raised, so no complete line before the damage is lost.
    """

    def __init__(self, raw: BinaryIO, factory: Callable[[], Any]) -> None:
        self.raw, self.factory = raw, factory
        self.dec = factory()
        self.buf = b""
        self.done = False
        self.error: Exception | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        want = CHUNK if size is None or size < 0 else size
        while len(self.buf) < want and not self.done:
            chunk = self.raw.read(1 << 16)
            if not chunk:
                self.done = True
                if not self.dec.eof:
                    self.error = EOFError("compressed file ended before the end-of-stream marker")
                break
            try:
                out = self.dec.decompress(chunk)
                while self.dec.eof and self.dec.unused_data:
                    rest = self.dec.unused_data
                    self.dec = self.factory()
                    out += self.dec.decompress(rest)
            except (OSError, EOFError, zlib.error) as exc:
                self.done, self.error, out = True, exc, b""
            self.buf += out
        if not self.buf and self.error is not None:
            raise self.error
        result, self.buf = self.buf[:want], self.buf[want:]
        return result


def open_log(path: Path) -> Opened:
    raw = path.open("rb")
    magic = raw.read(3)
    raw.seek(0)
    if magic[:2] == b"\x1f\x8b":
        return Opened(Decompressed(raw, lambda: zlib.decompressobj(wbits=31)), raw, "gzip")  # type: ignore[arg-type]
    if magic == b"BZh":
        return Opened(Decompressed(raw, bz2.BZ2Decompressor), raw, "bzip2")  # type: ignore[arg-type]
    return Opened(raw, raw, "none")


def identity(path: Path) -> str | None:
    """``L:<sha256 of the first line>``; ``P:<sha256>`` for a file with no complete line; None if empty."""
    opened = open_log(path)
    head = b""
    try:
        while len(head) < IDENTITY_PREFIX:
            try:
                part = opened.stream.read(IDENTITY_PREFIX - len(head))
            except (EOFError, OSError, zlib.error):
                break
            if not part:
                break
            head += part
        if not head:  # undecodable from the first byte: named by its bytes on disk
            opened.raw.seek(0)
            head = opened.raw.read(IDENTITY_PREFIX)
            if head:
                return "X:" + hashlib.sha256(head).hexdigest()
    finally:
        opened.stream.close()
        opened.raw.close()
    if not head:
        return None
    end = head.find(b"\n")
    if end < 0:
        return "P:" + hashlib.sha256(head).hexdigest()
    return "L:" + hashlib.sha256(head[: end + 1]).hexdigest()


def window_hash(lines: list[bytes]) -> str | None:
    """``n:hash`` of the last ``n`` (<= :data:`HASH_WINDOW`) bytes of ``lines``, each read whole with its
    newline (the bytes just before a checkpoint that follows them); None without lines. Trims ``lines``
    to the ones it used, so the caller's list stays small."""
    parts: list[bytes] = []
    size = 0
    for data in reversed(lines):
        parts.append(data)
        size += len(data) + 1
        if size >= HASH_WINDOW:
            break
    if not parts:
        return None
    del lines[: len(lines) - len(parts)]
    blob = (b"\n".join(reversed(parts)) + b"\n")[-HASH_WINDOW:]
    return f"{len(blob)}:{hashlib.sha256(blob).hexdigest()[:48]}"


def same_before(opened: Opened, offset: int, before: str | None) -> bool:
    """The bytes before ``offset`` are the ones hashed in ``before`` (without a hash: the byte before
    ``offset`` is still a newline, the check of checkpoints written before v20)."""
    size, _, digest = (before or "").partition(":")
    n = int(size) if size.isdigit() and digest else 1
    if not 0 < n <= offset or not skip_to(opened, offset - n):
        return False
    try:
        blob = opened.stream.read(n)
    except (EOFError, OSError, zlib.error):
        return False
    if not digest:
        return blob == b"\n"
    return len(blob) == n and hashlib.sha256(blob).hexdigest()[:48] == digest


def skip_to(opened: Opened, offset: int) -> bool:
    """Position the decompressed stream at ``offset``; False if the stream is shorter than that."""
    if offset == 0:
        return True
    if opened.compression == "none":
        size = opened.raw.seek(0, io.SEEK_END)
        opened.raw.seek(offset)
        return size >= offset
    remaining = offset
    try:
        while remaining:
            got = len(opened.stream.read(min(remaining, CHUNK)))
            if not got:
                return False
            remaining -= got
    except (EOFError, OSError, zlib.error):
        return False
    return True


Piece = tuple[int, bytes, int, str, int]


def iter_lines(stream: BinaryIO, offset: int, max_line: int = MAX_LINE) -> Iterator[Piece]:
    """``(offset, bytes, kind, detail, end)`` for each line (without its newline) from ``offset`` on.

    ``kind`` is LINE, TOO_LONG (bytes cut to MAX_KEEP, detail gives the real length), TAIL (the last
    bytes, not newline-terminated) or CORRUPT (the stream broke: bytes read since the last newline).
    Memory stays bounded whatever the input: an endless line is kept only up to MAX_KEEP bytes.
    """
    buf = b""
    pos = offset
    long_len = 0  # > 0 while inside an over-long line
    while True:
        try:
            chunk = stream.read(CHUNK)
        except (EOFError, OSError, zlib.error) as exc:
            yield (pos, buf, CORRUPT, f"{exc.__class__.__name__}: {exc}"[:300], pos + len(buf))
            return
        if not chunk:
            if long_len:
                yield (pos, buf, TOO_LONG, f"unterminated line of {long_len} bytes at end of file", pos + long_len)
            elif buf:
                yield (pos, buf, TAIL, "", pos + len(buf))
            return
        if long_len:
            cut = chunk.find(b"\n")
            if cut < 0:
                long_len += len(chunk)
                if len(buf) < MAX_KEEP:
                    buf += chunk[: MAX_KEEP - len(buf)]
                continue
            long_len += cut
            if len(buf) < MAX_KEEP:
                buf += chunk[: min(cut, MAX_KEEP - len(buf))]
            yield (pos, buf, TOO_LONG, f"line of {long_len} bytes (limit {max_line})", pos + long_len + 1)
            pos += long_len + 1
            buf, long_len, chunk = b"", 0, chunk[cut + 1 :]
        data = buf + chunk if buf else chunk
        lines = data.split(b"\n")
        buf = lines.pop()
        for line in lines:
            end = pos + len(line) + 1
            if len(line) > max_line:
                yield (pos, line[:MAX_KEEP], TOO_LONG, f"line of {len(line)} bytes (limit {max_line})", end)
            else:
                yield (pos, line, LINE, "", end)
            pos = end
        if len(buf) > max_line:
            long_len = len(buf)
            buf = buf[:MAX_KEEP]
