"""One process at a time asks the artifact sources, so two ``enrich`` runs at once (cron and a person) never
ask for the same hash, URL or host twice.

The IP pass claims IPs with leases; artifact subjects are few and cheap to list, but each call spends a small
daily budget (VirusTotal's free tier: 500 a day), so the whole asking step is taken by one process: a
PostgreSQL session-level advisory lock, or an exclusive ``flock`` on a file beside the SQLite database. Both
end with the process (``kill -9`` included). A run that finds the step taken skips it and says so; the next
run asks what is still due.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, func, select

from cowrieprocessor.storage import dialects

#: The advisory lock's key: "cowrieprocessor artifacts" in a 63-bit number (any constant shared by all runs).
LOCK_KEY = 0x636F7772_69617274


@contextmanager
def asking_alone(engine: Engine) -> Iterator[bool]:
    """True inside the block when this process holds the artifact sources; False when another one does."""
    if dialects.of(engine).files:
        database = engine.url.database
        if not database or database == ":memory:":
            yield True  # a database no other process can open
            return
        with open(f"{database}.artifacts.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with engine.connect() as conn:
        held = bool(conn.execute(select(func.pg_try_advisory_lock(LOCK_KEY))).scalar())
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(select(func.pg_advisory_unlock(LOCK_KEY)))
                conn.commit()
