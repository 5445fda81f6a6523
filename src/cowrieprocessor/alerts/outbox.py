"""The outbox: every alert is a row before it is sent, and its row says where its delivery stands.

States: ``pending`` -> (claim) ``sending`` -> ``sent``; a failure puts it back to ``pending`` with a later
``next_attempt_at`` (backoff), or ``failed`` after the destination's ``max_attempts``.

Claiming is one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``: on PostgreSQL two
senders skip each other's rows; on SQLite the statement holds the single write lock. A claim is a lease: a
sender that dies leaves its rows ``sending`` until ``claimed_until``, then another run sends them again, with
the same idempotency key (the alert's id). Marking ``sent`` is conditional on still holding the claim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cowrieprocessor.alerts.model import Alert
from cowrieprocessor.storage.models import AlertOutbox, AlertWatermark

#: The longest error text kept (a body of a failed answer is not needed, and could be large).
MAX_ERROR = 500


@dataclass(frozen=True)
class Claimed:
    """A claimed row: what to send and how many attempts it has had (this one included)."""

    row_id: int
    destination: str
    attempts: int
    alert: Alert


def _insert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def watermark(conn: Connection, rule: str) -> dt.datetime | None:
    value = conn.execute(select(AlertWatermark.until).where(AlertWatermark.rule == rule)).scalar_one_or_none()
    return value


def record(
    conn: Connection,
    rule: str,
    previous: dt.datetime | None,
    until: dt.datetime,
    found: Sequence[tuple[Alert, str]],
    now: dt.datetime,
) -> int | None:
    """Move ``rule``'s watermark from ``previous`` to ``until`` and record the ``(alert, destination)`` pairs,
    in the caller's transaction. None when another run moved the watermark first (roll back: it recorded these
    alerts itself); otherwise how many rows were new (a pair already recorded is left as it is)."""
    w = AlertWatermark
    if previous is None:
        moved = conn.execute(
            _insert(conn)(w)
            .values(rule=rule, until=until, updated_at=now)
            .on_conflict_do_nothing(index_elements=["rule"])
            .returning(w.rule)
        ).first()
    else:
        moved = conn.execute(
            update(w).where(w.rule == rule, w.until == previous).values(until=until, updated_at=now).returning(w.rule)
        ).first()
    if moved is None:
        return None
    return add(conn, found, now)


def add(conn: Connection, found: Sequence[tuple[Alert, str]], now: dt.datetime) -> int:
    """Insert the pairs not recorded yet; how many were new."""
    new = 0
    for alert, destination in found:
        stmt = (
            _insert(conn)(AlertOutbox)
            .values(
                alert_id=alert.id,
                destination=destination,
                rule=alert.rule,
                kind=alert.kind,
                subject=alert.subject,
                details=alert.details,
                seen_at=alert.seen_at,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["destination", "alert_id"])
            .returning(AlertOutbox.id)
        )
        new += conn.execute(stmt).first() is not None
    return new


def _due(destination: str, now: dt.datetime, max_attempts: int) -> Any:
    o = AlertOutbox
    return and_(
        o.destination == destination,
        or_(
            and_(o.status == "pending", o.next_attempt_at <= now),
            and_(o.status == "sending", o.claimed_until < now, o.attempts < max_attempts),
        ),
    )


def has_due(engine: Engine, destination: str, now: dt.datetime, max_attempts: int) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(select(AlertOutbox.id).where(_due(destination, now, max_attempts)).limit(1)).first()
            is not None
        )


def claim(
    engine: Engine,
    destination: str,
    *,
    worker: str,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int,
    max_attempts: int,
) -> list[Claimed]:
    """Take up to ``limit`` due alerts of ``destination`` (oldest first) that nobody else holds."""
    if limit <= 0:
        return []
    o = AlertOutbox
    due = select(o.id).where(_due(destination, now, max_attempts)).order_by(o.id).limit(limit)
    candidates = due.with_for_update(skip_locked=True)
    stmt = (
        update(o)
        .where(o.id.in_(candidates.scalar_subquery()))
        .values(status="sending", claimed_by=worker, claimed_until=now + lease, attempts=o.attempts + 1)
        .returning(o.id, o.alert_id, o.rule, o.kind, o.subject, o.details, o.seen_at, o.attempts)
    )
    with engine.begin() as conn:
        give_up_abandoned(conn, destination, now, max_attempts)
        rows = conn.execute(stmt).all()
    claimed = [
        Claimed(
            row_id=r.id,
            destination=destination,
            attempts=r.attempts,
            alert=Alert(r.rule, r.kind, r.subject, dict(r.details or {}), r.seen_at, stored_id=r.alert_id),
        )
        for r in rows
    ]
    return sorted(claimed, key=lambda c: c.row_id)


def give_up_abandoned(conn: Connection, destination: str, now: dt.datetime, max_attempts: int) -> int:
    """Rows whose last allowed attempt was claimed by a sender that never came back: ``failed``."""
    o = AlertOutbox
    result = conn.execute(
        update(o)
        .where(o.destination == destination, o.status == "sending", o.claimed_until < now, o.attempts >= max_attempts)
        .values(
            status="failed",
            claimed_by=None,
            claimed_until=None,
            last_error="the sender holding the last attempt stopped before recording its outcome",
        )
    )
    return int(result.rowcount or 0)


def mark_sent(engine: Engine, item: Claimed, *, worker: str, now: dt.datetime) -> bool:
    """Record the delivery; False if the claim was lost meanwhile (another sender took the row over)."""
    o = AlertOutbox
    with engine.begin() as conn:
        result = conn.execute(
            update(o)
            .where(o.id == item.row_id, o.status == "sending", o.claimed_by == worker)
            .values(status="sent", sent_at=now, claimed_by=None, claimed_until=None, last_error=None)
        )
    return bool(result.rowcount)


def release(engine: Engine, items: Sequence[Claimed], *, worker: str) -> None:
    """Give claimed alerts back unsent (their attempt does not count): due again at once."""
    if not items:
        return
    o = AlertOutbox
    with engine.begin() as conn:
        conn.execute(
            update(o)
            .where(o.id.in_([i.row_id for i in items]), o.status == "sending", o.claimed_by == worker)
            .values(status="pending", claimed_by=None, claimed_until=None, attempts=o.attempts - 1)
        )


def mark_failed(
    engine: Engine, item: Claimed, error: str, *, worker: str, now: dt.datetime, retry_at: dt.datetime | None
) -> str:
    """Record a failed attempt: back to ``pending`` until ``retry_at``, or ``failed`` when ``retry_at`` is None."""
    o = AlertOutbox
    status = "failed" if retry_at is None else "pending"
    with engine.begin() as conn:
        conn.execute(
            update(o)
            .where(o.id == item.row_id, o.status == "sending", o.claimed_by == worker)
            .values(
                status=status,
                next_attempt_at=retry_at or now,
                claimed_by=None,
                claimed_until=None,
                last_error=error[:MAX_ERROR],
            )
        )
    return status


def sent_since(engine: Engine, destination: str, since: dt.datetime) -> int:
    """Alerts ``destination`` accepted since ``since`` (seeds a new process's rate limiter)."""
    o = AlertOutbox
    stmt = select(func.count()).where(o.destination == destination, o.sent_at >= since)
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def listing(engine: Engine, statuses: Sequence[str], limit: int) -> list[dict[str, Any]]:
    """Recorded alerts, newest first, for ``alerts list``."""
    o = AlertOutbox
    stmt = select(
        o.id,
        o.status,
        o.rule,
        o.kind,
        o.destination,
        o.subject,
        o.seen_at,
        o.attempts,
        o.created_at,
        o.sent_at,
        o.next_attempt_at,
        o.last_error,
        o.alert_id,
    ).order_by(o.id.desc())
    if statuses:
        stmt = stmt.where(o.status.in_(list(statuses)))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt.limit(limit)).mappings()]
