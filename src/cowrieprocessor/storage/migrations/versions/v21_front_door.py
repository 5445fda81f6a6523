"""v21: port forwarding, exploit attempts and how each file arrived, first-class instead of raw events only.

Revision ID: v21
Revises: v20

Adds ``port_forwards`` (``cowrie.direct-tcpip.request``/``.data``: destination, payload and its size),
``exploit_attempts`` (``cowrie.telnet.exploit_attempt``/``_success``), the session counters
``forward_requests``, ``forward_bytes``, ``exploit_attempts``, ``exploit_success`` and
``file_transfers.method`` (fetch, redirect, stdin, scp, sftp); rules in :mod:`cowrieprocessor.ingestion.activity`.

The upgrade backfills all of them from ``raw_events`` (one pass over the table, reading only the lines of
those eventids), so an existing database answers ``query tunnels`` at once. Downgrading drops them; the raw
events keep everything.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from cowrieprocessor.ingestion.activity import (
    EVENTIDS,
    EXPLOIT_COLUMNS,
    FORWARD_COLUMNS,
    summarise_activity,
    transfer_method,
)
from cowrieprocessor.ingestion.events import Event
from cowrieprocessor.storage.types import UTCDateTime

revision = "v21"
down_revision = "v20"
branch_labels = None
depends_on = None
#: Tables this revision rewrites or fills, vacuumed and analysed after it commits (``storage.maintenance``).
rewrites = {
    "upgrade": ("session_summaries", "file_transfers", "port_forwards", "exploit_attempts"),
    "downgrade": ("file_transfers",),
}

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TRANSFER_EVENTIDS = (
    "cowrie.session.file_download", "cowrie.session.file_download.failed", "cowrie.session.file_upload",
)  # fmt: skip
SESSION_COLUMNS = (
    ("forward_requests", sa.Integer(), "0"),
    ("forward_bytes", sa.BigInteger(), "0"),
    ("exploit_attempts", sa.Integer(), "0"),
    ("exploit_success", sa.Boolean(), "false"),
)
PAGE = 5000


def _key(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _detail(table: str, *columns: sa.Column[Any]) -> None:
    op.create_table(
        table,
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("event_uid", _key(32), nullable=False),
        sa.Column(
            "session_id",
            _key(64),
            sa.ForeignKey(
                "session_summaries.session_id", name=f"fk_{table}_session_id_session_summaries", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("event_time", UTCDateTime(), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.UniqueConstraint("event_uid", name=f"uq_{table}_event_uid"),
    )
    op.create_index(f"ix_{table}_session_id", table, ["session_id"])


def upgrade() -> None:
    for name, type_, default in SESSION_COLUMNS:
        op.add_column("session_summaries", sa.Column(name, type_, server_default=sa.text(default), nullable=False))
    op.add_column("file_transfers", sa.Column("method", sa.String(16)))
    _detail(
        "port_forwards",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("destination", sa.String(255)),
        sa.Column("destination_port", sa.Integer()),
        sa.Column("origin_ip", sa.String(255)),
        sa.Column("origin_port", sa.Integer()),
        sa.Column("payload", sa.Text()),
        sa.Column("payload_bytes", sa.BigInteger()),
    )
    op.create_index("ix_port_forwards_destination", "port_forwards", ["destination", "destination_port"])
    _detail(
        "exploit_attempts",
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("cve", sa.String(32)),
        sa.Column("name", sa.Text()),
        sa.Column("value", sa.Text()),
        sa.Column("username", sa.Text()),
        sa.Column("original_username", sa.Text()),
        sa.Column("attempted_command", sa.Text()),
    )
    backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table("exploit_attempts")
    op.drop_table("port_forwards")
    with op.batch_alter_table("file_transfers") as batch:
        batch.drop_column("method")
    for name, _, _ in reversed(SESSION_COLUMNS):
        op.drop_column("session_summaries", name)


# ------------------------------------------------------------------------------------------- backfill ---

_RAW = sa.table(
    "raw_events",
    sa.column("id", sa.BigInteger()),
    sa.column("event_uid", sa.String()),
    sa.column("session_id", sa.String()),
    sa.column("eventid", sa.String()),
    sa.column("event_time", UTCDateTime()),
    sa.column("raw_line", sa.LargeBinary()),
)
_SESSIONS = sa.table("session_summaries", sa.column("session_id", sa.String()))


def _table(name: str, columns: tuple[str, ...]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, UTCDateTime() if c == "event_time" else None) for c in columns))


_FORWARDS = _table("port_forwards", FORWARD_COLUMNS)
_EXPLOITS = _table("exploit_attempts", EXPLOIT_COLUMNS)
_COUNTS = """
UPDATE session_summaries SET
  forward_requests = (SELECT COUNT(*) FROM port_forwards f
                      WHERE f.session_id = session_summaries.session_id AND f.kind = 'request'),
  forward_bytes = (SELECT COALESCE(SUM(f.payload_bytes), 0) FROM port_forwards f
                   WHERE f.session_id = session_summaries.session_id),
  exploit_attempts = (SELECT COUNT(*) FROM exploit_attempts e
                      WHERE e.session_id = session_summaries.session_id AND e.outcome = 'attempt'),
  exploit_success = EXISTS (SELECT 1 FROM exploit_attempts e
                            WHERE e.session_id = session_summaries.session_id AND e.outcome = 'success')
WHERE session_id IN (SELECT session_id FROM port_forwards UNION SELECT session_id FROM exploit_attempts)
"""


def _data(raw: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:  # lone surrogate escapes: the standard library accepts them
        value = json.loads(raw.decode("utf-8"))
    return value if isinstance(value, dict) else {}


def _event(uid: str, session: str, eventid: str, time: dt.datetime, data: dict[str, Any]) -> Event:
    return Event(uid, session, eventid, time, None, None, data, None, b"", None, None)


def backfill(bind: sa.Connection) -> None:
    """Detail rows, session counters and transfer methods of the events already stored (page by page)."""
    eventids = sorted(EVENTIDS | set(TRANSFER_EVENTIDS))
    query = (
        sa.select(_RAW.c.id, _RAW.c.event_uid, _RAW.c.session_id, _RAW.c.eventid, _RAW.c.event_time, _RAW.c.raw_line)
        .join(_SESSIONS, _SESSIONS.c.session_id == _RAW.c.session_id)
        .where(_RAW.c.eventid.in_(eventids), _RAW.c.id > sa.bindparam("after"))
        .order_by(_RAW.c.id)
        .limit(PAGE)
    )
    after = 0
    while rows := bind.execute(query, {"after": after}).all():
        after = rows[-1].id
        events, methods = [], []
        for r in rows:
            data = _data(bytes(r.raw_line))
            if r.eventid in EVENTIDS:
                events.append(_event(r.event_uid, r.session_id, r.eventid, r.event_time, data))
            else:
                methods.append({"uid": r.event_uid, "method": transfer_method(r.eventid, data)})
        activity = summarise_activity(events)
        for table, columns, found in ((_FORWARDS, FORWARD_COLUMNS, activity.forwards),
                                      (_EXPLOITS, EXPLOIT_COLUMNS, activity.exploits)):  # fmt: skip
            if found:
                bind.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in found])
        if methods:
            bind.execute(sa.text("UPDATE file_transfers SET method = :method WHERE event_uid = :uid"), methods)
    bind.execute(sa.text(_COUNTS))
