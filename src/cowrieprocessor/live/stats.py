"""What a ``follow`` process counts: one object, read by the status row, ``--status`` and the metrics endpoint."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

#: Events per second are averaged over this many seconds.
RATE_WINDOW = 60.0


@dataclass
class FollowStats:
    paths: list[str] = field(default_factory=list)
    interval: float = 1.0
    ticks: int = 0
    batches: int = 0  # ticks that committed new events
    events_read: int = 0
    events_new: int = 0
    events_duplicate: int = 0
    sessions_new: int = 0
    sessions_snapshotted: int = 0  # at ingest (IP enriched already) and by the passes
    dead_letters: int = 0
    lines_pending: int = 0
    rotations: int = 0
    truncations: int = 0
    files_unreadable: int = 0
    enrich_passes: int = 0
    online_passes: int = 0
    ips_enriched: int = 0
    provider_errors: int = 0
    alert_runs: int = 0
    alerts_sent: int = 0
    alert_errors: int = 0
    lag_bytes: int = 0
    lag_seconds: float = 0.0
    events_per_second: float = 0.0
    last_batch_at: float | None = None  # Unix time
    last_batch_seconds: float = 0.0  # how long the last tick with new events took, enrichment included
    last_error: str | None = None
    _recent: deque[tuple[float, int]] = field(default_factory=deque, repr=False)
    #: Held while counting: the background enrichment pass counts too.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add_events(self, count: int, now: float | None = None) -> None:
        """Count new events for the rate (a sliding window of :data:`RATE_WINDOW` seconds)."""
        now = time.time() if now is None else now
        if count:
            self._recent.append((now, count))
        while self._recent and self._recent[0][0] < now - RATE_WINDOW:
            self._recent.popleft()
        self.events_per_second = round(sum(n for _, n in self._recent) / RATE_WINDOW, 2)

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            data = {k: v for k, v in vars(self).items() if k not in ("_recent", "lock")}
        data["paths"] = list(self.paths)
        return data
