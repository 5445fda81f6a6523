"""v19: every Cowrie version's sessions read alike: normalised client versions, credential lists.

Revision ID: v19
Revises: v18

``session_summaries`` gains ``client_version_normalised`` (what client-version campaigns group by: no bytes
repr, TLS/HTTP probes by kind), ``client_non_ssh`` (the client did not speak SSH) and
``credential_list_hash`` (SHA-256 of the ordered username/password pairs the session tried, a campaign key
with its covering index by snapshot ASN); ``auth_attempts`` an index on ``username`` (sessions that tried a
username). Existing sessions are filled in from what the database holds: the logged client version, the
stored login attempts, and - for sessions whose duration or protocol an older reader left NULL - their raw
``cowrie.session.closed`` events and ``system`` fields; sessions without a connect event get their source port
again without forwarding requests. Downgrading drops the columns and indexes only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from cowrieprocessor.ingestion import fields
from cowrieprocessor.storage import snapshot_guard
from cowrieprocessor.storage.textsafe import escape_text, unescape_text

revision = "v19"
down_revision = "v18"
branch_labels = None
depends_on = None
#: Tables this revision rewrites or fills, vacuumed and analysed after it commits (``storage.maintenance``).
rewrites = {"upgrade": ("session_summaries",), "downgrade": ("session_summaries",)}

COLUMNS = ("client_version_normalised", "client_non_ssh", "credential_list_hash")
_PAGE = 5000


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("session_summaries", sa.Column("client_version_normalised", sa.Text()))
    op.add_column("session_summaries", sa.Column("client_non_ssh", sa.Boolean()))
    op.add_column("session_summaries", sa.Column("credential_list_hash", sa.String(64)))
    _backfill(bind)
    op.create_index(
        "ix_session_summaries_client_version_normalised", "session_summaries", ["client_version_normalised"]
    )
    op.create_index("ix_session_summaries_credential_list_hash", "session_summaries", ["credential_list_hash"])
    op.create_index(
        "ix_session_summaries_asn_credentials",
        "session_summaries",
        ["snapshot_asn", "credential_list_hash", "source_ip", "first_event_at", "last_event_at"],
        postgresql_where=sa.text("credential_list_hash IS NOT NULL"),
        sqlite_where=sa.text("credential_list_hash IS NOT NULL"),
    )
    op.create_index("ix_auth_attempts_username", "auth_attempts", ["username"])


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.drop_index("ix_auth_attempts_username", table_name="auth_attempts")
    if sqlite:
        snapshot_guard.remove(bind)  # the table rebuild below would drop the trigger
    with op.batch_alter_table("session_summaries") as batch:
        batch.drop_index("ix_session_summaries_asn_credentials")
        batch.drop_index("ix_session_summaries_credential_list_hash")
        batch.drop_index("ix_session_summaries_client_version_normalised")
        for column in COLUMNS:
            batch.drop_column(column)
    if sqlite:
        snapshot_guard.install(bind)


def _pages(bind: sa.Connection, statement: str) -> Iterator[Sequence[Any]]:
    result = bind.execute(sa.text(statement).execution_options(stream_results=True, yield_per=_PAGE))
    while rows := result.fetchmany(_PAGE):
        yield rows


def _update(bind: sa.Connection, assignments: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        bind.execute(sa.text(f"UPDATE session_summaries SET {assignments} WHERE session_id = :sid"), rows)


def _backfill(bind: sa.Connection) -> None:
    """The new columns, and durations/protocols older readers missed, from what the database holds."""
    updates: list[dict[str, Any]] = []
    versions = "SELECT session_id, client_version FROM session_summaries WHERE client_version IS NOT NULL"
    for page in _pages(bind, versions):
        for sid, version in page:
            norm, non_ssh = fields.client_version(unescape_text(version))
            updates.append({"sid": sid, "n": escape_text(norm) if norm is not None else None, "x": non_ssh})
    _update(bind, "client_version_normalised = :n, client_non_ssh = :x", updates)

    tried: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
    attempts = (
        "SELECT session_id, username, password FROM auth_attempts WHERE password IS NOT NULL "
        "ORDER BY session_id, event_time, id"
    )
    for page in _pages(bind, attempts):
        for sid, user, password in page:
            tried[sid].append((unescape_text(user) if user is not None else None, unescape_text(password)))
    lists = [{"sid": sid, "h": fields.credential_list_hash(pairs)} for sid, pairs in tried.items()]
    _update(bind, "credential_list_hash = :h", lists)

    durations: dict[str, int] = {}
    protocols: dict[str, str] = {}
    closed = (
        "SELECT r.session_id, r.eventid, r.raw_line FROM raw_events r JOIN session_summaries s "
        "ON s.session_id = r.session_id WHERE (s.duration_ms IS NULL AND r.eventid = 'cowrie.session.closed') "
        "OR s.protocol IS NULL"
    )
    for page in _pages(bind, closed):
        for sid, eventid, raw in page:
            try:
                data = orjson.loads(bytes(raw))
            except orjson.JSONDecodeError:
                continue
            if not isinstance(data, dict):
                continue
            if eventid == "cowrie.session.closed":
                ms = fields.duration_ms(data)
                if ms is not None:
                    durations[sid] = max(ms, durations.get(sid, 0))
            protocol = fields.logged_protocol(data) or fields.inferred_protocol(eventid, data)
            if protocol is not None:
                protocols.setdefault(sid, protocol)
    _update(bind, "duration_ms = :d", [{"sid": s, "d": d} for s, d in durations.items()])
    _update(bind, "protocol = :p", [{"sid": s, "p": p} for s, p in protocols.items()])
    _source_ports_without_connect(bind)


def _source_ports_without_connect(bind: sa.Connection) -> None:
    """Sessions with no ``cowrie.session.connect`` took their source port from any event before v19, forwarding
    requests included: take it again from the first event that carries it with that meaning, or none."""
    events = (
        "SELECT r.session_id, r.eventid, r.raw_line FROM raw_events r WHERE r.session_id IN "
        "(SELECT s.session_id FROM session_summaries s WHERE s.source_port IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM raw_events c WHERE c.session_id = s.session_id AND c.eventid = 'cowrie.session.connect')) "
        "ORDER BY r.session_id, r.event_time, r.source_offset, r.event_uid"
    )
    ports: dict[str, int | None] = {}
    for page in _pages(bind, events):
        for sid, eventid, raw in page:
            ports.setdefault(sid, None)
            if ports[sid] is not None or eventid.startswith(fields.FORWARDING_EVENTS):
                continue
            try:
                data = orjson.loads(bytes(raw))
            except orjson.JSONDecodeError:
                continue
            port = data.get("src_port") if isinstance(data, dict) else None
            if type(port) is int and 0 <= port <= 65535:
                ports[sid] = port
    _update(bind, "source_port = :p", [{"sid": s, "p": p} for s, p in ports.items()])
