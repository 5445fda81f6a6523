"""Stream realistic Cowrie 3.1.4 logs to disk: seeded, time-ordered across interleaved sessions, rotated daily.

Sessions arrive in start order; their events wait in a heap until no later-starting session can precede
them, so memory holds only the sessions in flight, whatever the size of the output.
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import heapq
import queue
import random
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal, Protocol

from cowrieprocessor.synthetic.addresses import AddressPool
from cowrieprocessor.synthetic.campaigns import Campaign, make_campaigns
from cowrieprocessor.synthetic.session_events import Event, Sensor, SessionFactory

Compression = Literal["none", "gz", "bz2"]
DEFAULT_START = dt.datetime(2025, 2, 20, tzinfo=dt.UTC)
EVENTS_PER_SESSION = 6.0  # measured mean of the mix below; only used to spread `events=N` over the window
# Behaviour of a new address: scanners dominate real sensors, then brute-forcers, then campaign bots.
ROLE_WEIGHTS = (("scanner", 0.48), ("brute", 0.40), ("bot", 0.12))


@dataclass
class GenerationResult:
    files: list[Path]
    events: int
    sessions: int
    unique_ips: int
    bytes_written: int  # uncompressed JSON bytes
    seconds: float
    first_event: dt.datetime | None = None
    last_event: dt.datetime | None = None
    eventids: dict[str, int] = field(default_factory=dict)

    @property
    def sessions_per_ip(self) -> float:
        return self.sessions / self.unique_ips if self.unique_ips else 0.0


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...
    def close(self) -> None: ...


class _BackgroundWriter:
    """Compress and write on a worker thread (zlib/bz2 release the GIL): generation and compression overlap."""

    def __init__(self, fh: _Sink) -> None:
        self.fh = fh
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)  # bounded: memory stays flat
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="synthetic-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (chunk := self.queue.get()) is not None:
                self.fh.write(chunk)
        except BaseException as exc:  # re-raised in the producer by write()/close()
            self.error = exc
            while self.queue.get() is not None:  # drain so the producer never blocks forever
                pass

    def write(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(data)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        self.fh.close()
        if self.error is not None:
            raise self.error


def _open(path: Path, compression: Compression) -> IO[bytes] | _BackgroundWriter:
    path.parent.mkdir(parents=True, exist_ok=True)
    if compression == "gz":
        # mtime=0: the same arguments give byte-identical .gz files too.
        return _BackgroundWriter(gzip.GzipFile(path, "wb", compresslevel=6, mtime=0))
    if compression == "bz2":
        # Level 1 (100k blocks): same format, about twice as fast as 9 on these repetitive lines.
        return _BackgroundWriter(bz2.open(path, "wb", compresslevel=1))
    return path.open("wb", buffering=1 << 20)


class _Output:
    """Where each line goes: one file, or Cowrie's daily rotation (``cowrie.json`` + ``cowrie.json.DATE``)."""

    def __init__(self, target: Path, rotate_daily: bool, compression: Compression, last_day: str) -> None:
        self.target, self.rotate, self.compression, self.last_day = target, rotate_daily, compression, last_day
        self.day: str | None = None
        self.fh: IO[bytes] | _BackgroundWriter | None = None
        self.buffer: list[str] = []
        self.files: list[Path] = []

    def path_for(self, day: str) -> tuple[Path, Compression]:
        if not self.rotate:
            return self.target, self.compression
        if day >= self.last_day:  # the live file: plain, holds the last day (and any spill past midnight)
            return self.target / "cowrie.json", "none"
        suffix = {"none": "", "gz": ".gz", "bz2": ".bz2"}[self.compression]
        return self.target / f"cowrie.json.{day}{suffix}", self.compression

    def switch(self, day: str) -> None:
        path, compression = self.path_for(day)
        if self.files and path == self.files[-1]:
            self.day = day
            return
        self.flush()
        if self.fh is not None:
            self.fh.close()
        self.fh = _open(path, compression)
        self.files.append(path)
        self.day = day

    def flush(self) -> None:
        if self.buffer and self.fh is not None:
            self.fh.write("".join(self.buffer).encode())
            self.buffer.clear()

    def close(self) -> None:
        self.flush()
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def _sensors(sensors: int | Sequence[str], rng: random.Random) -> list[Sensor]:
    names = [f"honeypot-{i + 1:02d}" for i in range(sensors)] if isinstance(sensors, int) else list(sensors)
    if not names:
        raise ValueError("at least one sensor is needed")
    return [
        Sensor(
            name=name,
            uuid=str(uuid.UUID(int=rng.getrandbits(128), version=1)),
            ipv4=f"172.31.{rng.randrange(0, 256)}.{rng.randrange(2, 255)}",
            ipv6=f"2600:1f18:{rng.randrange(0x10000):x}:{rng.randrange(0x10000):x}::{rng.randrange(2, 0xFFFF):x}",
        )
        for name in names
    ]


def _sessions(
    rng: random.Random, factory: SessionFactory, pool: AddressPool, campaigns: list[Campaign], n_sensors: int,
    start_us: int, window_us: int, expected_sessions: float,
) -> Iterator[tuple[int, list[Event]]]:  # fmt: skip
    """Sessions in start order (exponential gaps: a Poisson arrival process over the window)."""
    roles: dict[str, int] = {}  # address -> role index (2 = bot) or campaign index + 10
    mean_gap = window_us / max(expected_sessions, 1.0)
    weights = [w for _, w in ROLE_WEIGHTS]
    campaign_weights = [1.0 / (i + 1) for i in range(len(campaigns))]  # a few campaigns dominate
    sensor_weights = [1.0 / (i + 1) ** 0.5 for i in range(n_sensors)]
    t = float(start_us)
    while True:  # arrivals may run a little past the window: that spill lands in the live cowrie.json
        t += rng.expovariate(1.0 / mean_gap)
        ip, new = pool.next_address()
        if new:
            role = rng.choices(range(3), weights)[0]
            if role == 2:
                role = 10 + rng.choices(range(len(campaigns)), campaign_weights)[0]
            roles[ip] = role
        role = roles[ip]
        sensor = rng.choices(range(n_sensors), sensor_weights)[0] if n_sensors > 1 else 0
        start = int(t)
        r = rng.random()
        if role == 0:
            evs = factory.scan(start, ip, sensor) if r < 0.93 else factory.brute(start, ip, sensor)
        elif role == 1:
            evs = factory.brute(start, ip, sensor) if r < 0.85 else factory.scan(start, ip, sensor)
        else:
            c = campaigns[role - 10]
            evs = factory.campaign(start, ip, sensor, c) if r < 0.8 else factory.brute(start, ip, sensor)
        yield sensor, evs


def generate(
    path: str | Path,
    *,
    events: int | None = None,
    sessions: int | None = None,
    seed: int = 0,
    start: dt.datetime = DEFAULT_START,
    days: float = 1.0,
    sensors: int | Sequence[str] = 1,
    compression: Compression = "none",
    rotate_daily: bool = True,
) -> GenerationResult:
    """Write Cowrie JSON logs; the same arguments always give byte-identical files.

    ``path`` is a directory with ``rotate_daily`` (one sub-directory per sensor when there are several),
    else the single file to write. Give ``events`` (stop once at least that many are written; sessions are
    never cut) or ``sessions``. ``compression`` applies to rotated ``cowrie.json.DATE`` files (the live
    ``cowrie.json`` stays plain, as on a sensor) or to the single file.
    """
    if (events is None) == (sessions is None):
        raise ValueError("give exactly one of events= or sessions=")
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if compression not in ("none", "gz", "bz2"):
        raise ValueError(f"unknown compression {compression!r}")
    began = time.perf_counter()
    rng = random.Random(seed)
    sensor_list = _sensors(sensors, rng)
    campaigns = make_campaigns(rng)
    factory = SessionFactory(rng, sensor_list, salt=rng.getrandbits(48))
    pool = AddressPool(rng)
    start_us = int(start.timestamp() * 1_000_000)
    window_us = int(days * 86_400 * 1_000_000)
    expected = sessions if sessions is not None else (events or 0) / EVENTS_PER_SESSION
    last_day = dt.datetime.fromtimestamp((start_us + window_us - 1) / 1e6, dt.UTC).strftime("%Y-%m-%d")

    target = Path(path)
    multi = rotate_daily and len(sensor_list) > 1
    outputs = [_Output(target / s.name if multi else target, rotate_daily, compression, last_day) for s in sensor_list]
    if not multi:
        outputs = [outputs[0]] * len(sensor_list)

    heap: list[tuple[int, int, int, list[Event], int]] = []  # (time, seq, event index, events, output)
    written = nbytes = n_sessions = 0
    eventids: dict[str, int] = {}
    last_sec, stamp, day = -1, "", ""
    first_us = last_us = None

    def emit_until(limit: float) -> None:
        nonlocal written, nbytes, last_sec, stamp, day, first_us, last_us
        while heap and heap[0][0] <= limit:
            t, seq, i, evs, out_i = heap[0]
            _, head, tail = evs[i]
            sec, micro = divmod(t, 1_000_000)
            if sec != last_sec:
                last_sec = sec
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(sec))
                day = stamp[:10]
            out = outputs[out_i]
            if out.day != day:
                out.switch(day)
            line = f"{head}{stamp}{micro:06d}Z{tail}"
            out.buffer.append(line)
            if len(out.buffer) >= 4096:
                out.flush()
            nbytes += len(line)
            written += 1
            if first_us is None:
                first_us = t
            last_us = t
            if i + 1 < len(evs):
                heapq.heapreplace(heap, (evs[i + 1][0], seq, i + 1, evs, out_i))
            else:
                heapq.heappop(heap)

    try:
        produced = 0
        for out_i, evs in _sessions(rng, factory, pool, campaigns, len(sensor_list), start_us, window_us, expected):
            if sessions is not None and n_sessions >= sessions:
                break
            if events is not None and produced >= events:
                break
            emit_until(evs[0][0] - 1)
            n_sessions += 1
            produced += len(evs)
            heapq.heappush(heap, (evs[0][0], n_sessions, 0, evs, out_i))
            for _, head, _ in evs:
                k = head.index('"eventid":"') + 11
                eid = head[k : head.index('"', k)]
                eventids[eid] = eventids.get(eid, 0) + 1
        emit_until(float("inf"))
    finally:
        for out in {id(o): o for o in outputs}.values():
            out.close()
    files = [f for out in {id(o): o for o in outputs}.values() for f in out.files]
    return GenerationResult(
        files=files,
        events=written,
        sessions=n_sessions,
        unique_ips=pool.unique,
        bytes_written=nbytes,
        seconds=time.perf_counter() - began,
        first_event=dt.datetime.fromtimestamp(first_us / 1e6, dt.UTC) if first_us is not None else None,
        last_event=dt.datetime.fromtimestamp(last_us / 1e6, dt.UTC) if last_us is not None else None,
        eventids=dict(sorted(eventids.items())),
    )
