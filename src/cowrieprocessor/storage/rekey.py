"""Re-keying stored events when the definition of an event's identity changes (v20: bytes -> content).

Events stored under the old key would otherwise be taken as new the next time their lines are read
(a file restarted, a re-encoded copy), and every counter would double. Each ``raw_events`` row gets the
key its line has today, and the detail rows made from it (``auth_attempts``, ``commands``,
``file_transfers``, ``ssh_keys`` - the latter with their per-key sub-keys) follow. Rows the new key would
make collide (a re-encoded copy stored twice under the old keys) keep their old key: the migration never
deletes data, and such a pair was counted twice before it ran.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import orjson
from sqlalchemy import Connection, text

from cowrieprocessor.ingestion.events import event_uid

BATCH = 5000
DETAIL_TABLES = ("auth_attempts", "commands", "file_transfers", "ssh_keys")
MAX_KEYS_PER_EVENT = 256


def content_uid(raw: bytes) -> str | None:
    """The content key of a stored line (None if it no longer parses as a JSON object)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            return None
    return event_uid(data) if isinstance(data, dict) else None


def bytes_uid(raw: bytes) -> str:
    """The key before v20: the hash of the line's bytes."""
    return hashlib.sha256(raw).hexdigest()[:32]


def sub_uid(uid: str, index: int) -> str:
    """The key of an event's ``index``-th SSH key row (as ``ingestion.summaries`` makes it)."""
    return uid if index == 0 else hashlib.sha256(f"{uid}:{index}".encode()).hexdigest()[:32]


def rekey(conn: Connection, uid_of: Callable[[bytes], str | None]) -> int:
    """Give every stored event the key ``uid_of`` its line; returns how many keys changed."""
    conn.execute(
        text("CREATE TEMPORARY TABLE uid_map (id BIGINT PRIMARY KEY, old_uid VARCHAR(32), new_uid VARCHAR(32))")
    )
    last = 0
    while True:
        rows = conn.execute(
            text("SELECT id, event_uid, raw_line FROM raw_events WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        changed = []
        for row_id, old, raw in rows:
            new = uid_of(bytes(raw))
            if new is not None and new != old:
                changed.append({"id": row_id, "old": old, "new": new})
        if changed:
            conn.execute(text("INSERT INTO uid_map (id, old_uid, new_uid) VALUES (:id, :old, :new)"), changed)
    conn.execute(text("CREATE INDEX ix_uid_map_old ON uid_map (old_uid)"))
    # a new key already held by a stored row, or wanted by two rows: those rows keep their old key
    conn.execute(
        text(
            "DELETE FROM uid_map WHERE id IN (SELECT m.id FROM uid_map m JOIN raw_events r ON r.id = m.id "
            "JOIN raw_events o ON o.event_time = r.event_time AND o.event_uid = m.new_uid)"
        )
    )
    conn.execute(
        text(
            "DELETE FROM uid_map WHERE id NOT IN (SELECT min(m.id) FROM uid_map m JOIN raw_events r ON r.id = m.id "
            "GROUP BY r.event_time, m.new_uid)"
        )
    )
    keys = _key_moves(conn)
    conn.execute(
        text(
            "UPDATE raw_events SET event_uid = (SELECT m.new_uid FROM uid_map m WHERE m.id = raw_events.id) "
            "WHERE id IN (SELECT id FROM uid_map)"
        )
    )
    for table in DETAIL_TABLES:
        conn.execute(
            text(
                f"UPDATE {table} SET event_uid = (SELECT m.new_uid FROM uid_map m WHERE m.old_uid = {table}.event_uid) "
                f"WHERE event_uid IN (SELECT old_uid FROM uid_map) "
                f"AND NOT EXISTS (SELECT 1 FROM uid_map m JOIN {table} t ON t.event_uid = m.new_uid "
                f"WHERE m.old_uid = {table}.event_uid)"
            )
        )
    if keys:
        conn.execute(text("UPDATE ssh_keys SET event_uid = :new WHERE event_uid = :old"), keys)
    moved = int(conn.execute(text("SELECT count(*) FROM uid_map")).scalar_one())
    conn.execute(text("DROP TABLE uid_map"))
    return moved


def _key_moves(conn: Connection) -> list[dict[str, str]]:
    """The SSH key rows past an event's first (sub-keys derived from the event's key) that must follow it."""
    held = {r[0] for r in conn.execute(text("SELECT event_uid FROM ssh_keys"))}
    if not held:
        return []
    pairs = conn.execute(
        text(
            "SELECT m.old_uid, m.new_uid FROM uid_map m JOIN raw_events r ON r.id = m.id "
            "WHERE r.session_id IN (SELECT session_id FROM ssh_keys)"
        )
    ).all()
    moves = []
    for old, new in pairs:
        for index in range(1, MAX_KEYS_PER_EVENT):
            key = sub_uid(old, index)
            if key not in held:
                break
            moves.append({"old": key, "new": sub_uid(new, index)})
    return moves
