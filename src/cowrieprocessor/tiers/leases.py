"""Who holds the enrichment leases, and whether that process still exists.

A worker is named ``host:pid``. A lease normally ends when its batch is written; a worker killed with
``kill -9`` leaves its IPs leased until ``[enrich] claim_minutes`` pass. A pass on the same host can tell
that such a holder is gone (no such process, or a zombie) and take its leases over at once; holders on
other hosts, or alive, are reported with their lease end instead, so "enriched 0 IPs" never goes unexplained.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def is_gone(holder: str, me: str) -> bool:
    """True if ``holder`` names a process on this host that no longer runs (``me``: the caller's own id,
    which holds no lease when its pass starts - a lease under it was left by an earlier process whose pid
    was reused)."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if holder == me:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's live process
        return False
    return _zombie(int(pid))


def _zombie(pid: int) -> bool:
    """A process killed but not yet reaped by its parent exists only as an exit status."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
