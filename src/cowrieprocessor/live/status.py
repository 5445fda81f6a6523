"""The ``follow_status`` row: written by ``follow`` every few seconds, read by ``follow --status``.

A row says ``running`` until its process writes ``stopped`` (or ``failed``) on the way out; a ``kill -9``
leaves ``running`` behind, so a reader calls a row whose heartbeat is older than :data:`STALE_INTERVALS`
intervals ``gone``.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any

from sqlalchemy import Engine, select

from cowrieprocessor.live.stats import FollowStats
from cowrieprocessor.storage.models import FollowStatus

#: A running row not written for this many intervals (and at least :data:`STALE_MIN_SECONDS`) is stale.
STALE_INTERVALS = 5
STALE_MIN_SECONDS = 30.0
TABLE = FollowStatus.__table__


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _utc(ts: float | None) -> dt.datetime | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC)


def write(engine: Engine, name: str, state: str, stats: FollowStats, started_at: dt.datetime, now: dt.datetime) -> None:
    """Insert or replace the row of ``name`` in one short transaction."""
    values: dict[str, Any] = {
        "worker": worker_name(),
        "state": state,
        "started_at": started_at,
        "updated_at": now,
        "last_batch_at": _utc(stats.last_batch_at),
        "body": stats.as_dict(),
    }
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(FollowStatus).values(name=name, **values)
        statement: Any = pg.on_conflict_do_update(index_elements=["name"], set_=values)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(FollowStatus).values(name=name, **values)
        statement = lite.on_conflict_do_update(index_elements=["name"], set_=values)
    with engine.begin() as conn:
        conn.execute(statement)


def read(engine: Engine, now: dt.datetime, name: str | None = None) -> list[dict[str, Any]]:
    """Every follower's row (or ``name``'s), with ``state`` ``gone`` for a running row whose heartbeat is old."""
    query = select(TABLE).order_by(TABLE.c.name)
    if name is not None:
        query = query.where(TABLE.c.name == name)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    out = []
    for row in rows:
        body = dict(row["body"] or {})
        updated = row["updated_at"]
        age = (now - updated).total_seconds()
        stale_after = max(STALE_MIN_SECONDS, STALE_INTERVALS * float(body.get("interval") or 1.0))
        state = "gone" if row["state"] == "running" and age > stale_after else row["state"]
        out.append(
            {
                "name": row["name"],
                "state": state,
                "worker": row["worker"],
                "started_at": row["started_at"],
                "updated_at": updated,
                "heartbeat_age_seconds": round(age, 1),
                "last_batch_at": row["last_batch_at"],
                **{k: v for k, v in body.items() if k not in ("last_batch_at",)},
            }
        )
    return out
