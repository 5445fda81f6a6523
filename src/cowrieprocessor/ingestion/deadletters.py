"""Listing dead letters and re-driving them (after a fix, or once the other half of a split line exists).

Re-driving parses the stored bytes again; what is now an event is written exactly like an ingested one
(same idempotency key, same session recomputation) and the dead letter is marked ``redriven``; halves
of a line split at rotation are tried against each other and marked ``joined``. The rest stays pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from cowrieprocessor.ingestion.events import Event, parse_line
from cowrieprocessor.ingestion.store import open_store
from cowrieprocessor.ingestion.writer import Batch, BatchWriter
from cowrieprocessor.storage.models import DeadLetter

PARTIAL = ("partial_line", "partial_line_head")


def list_dead_letters(
    engine: Engine, *, status: str | None = "pending", reason: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    query = select(DeadLetter).order_by(DeadLetter.id).limit(limit)
    if status:
        query = query.where(DeadLetter.status == status)
    if reason:
        query = query.where(DeadLetter.reason == reason)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        {
            "id": r["id"],
            "status": r["status"],
            "reason": r["reason"],
            "source": r["source_path"],
            "offset": r["source_offset"],
            "bytes": len(r["raw"]),
            "detail": r["detail"],
            "preview": r["raw"][:80].decode("utf-8", "replace"),
            "created_at": r["created_at"],
        }
        for r in rows
    ]


@dataclass
class RedriveResult:
    examined: int = 0
    redriven: int = 0
    joined: int = 0
    still_pending: int = 0
    events_new: int = 0


def redrive(
    engine: Engine, *, ids: list[int] | None = None, reason: str | None = None, sensor: str | None = None
) -> RedriveResult:
    query = select(
        DeadLetter.id, DeadLetter.source_file_id, DeadLetter.source_offset, DeadLetter.reason, DeadLetter.raw
    ).where(DeadLetter.status == "pending")
    if ids:
        query = query.where(DeadLetter.id.in_(ids))
    if reason:
        query = query.where(DeadLetter.reason == reason)
    with engine.connect() as conn:
        letters = [tuple(r) for r in conn.execute(query.order_by(DeadLetter.id))]
    result = RedriveResult(examined=len(letters))
    batch = Batch()
    heads = [lt for lt in letters if lt[3] == "partial_line_head"]
    used: set[int] = set()
    for dl_id, file_id, offset, why, raw in letters:
        event = parse_line(bytes(raw), sensor=sensor, file_id=file_id, offset=offset)
        if isinstance(event, Event):
            batch.events.append(event)
            batch.statuses.setdefault("redriven", []).append(dl_id)
            result.redriven += 1
            used.add(dl_id)
            continue
        if why != "partial_line":
            continue
        for h_id, _h_file, _h_offset, _h_why, h_raw in heads:
            if h_id in used:
                continue
            joined = parse_line(bytes(raw) + bytes(h_raw), sensor=sensor, file_id=file_id, offset=offset)
            if isinstance(joined, Event):
                batch.events.append(joined)
                batch.statuses.setdefault("joined", []).extend([dl_id, h_id])
                result.joined += 2
                used.update((dl_id, h_id))
                break
    result.still_pending = result.examined - len(used)
    store = open_store(engine)
    try:
        result.events_new = BatchWriter(store).write(batch)
    finally:
        store.close()
    return result
