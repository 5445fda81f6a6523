"""The least time SQLite can take to store what a load of Cowrie events produces: a floor under ingestion.

    .venv/bin/python bench/ingest_floor.py --db sqlite:///PATH [--batch 10000] [--batch 30000]

``PATH`` is a SQLite database that ingestion has filled (``bench_ingest.py`` leaves none behind; make one
with ``cowrieprocessor --db sqlite:///PATH ingest LOG --no-enrich``). Every row ingestion wrote
(inventory, summaries, raw events, details) is read into memory, then written again into a fresh
database with the same schema: in batches of ``--batch`` events, each one transaction, with the loader's
multi-row ``INSERT``s (about 4,000 bound parameters each), in WAL mode with ``synchronous=NORMAL``, and the
WAL copied back by the loader's own checkpointing thread (``ingestion.store.Checkpointer``) on the other core.
No line is parsed and no session summarised; the time runs to the last checkpoint's end.

Events divided by that time is the most events per second any loader can store on this machine with this
schema, whatever its parsing costs. The rows are held in memory: about 1.5 GB per million events.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cowrieprocessor.ingestion.store import Checkpointer  # noqa: E402

#: Parents before children, so that every foreign key is met when its row goes in.
TABLES = ("ip_inventory", "session_summaries", "raw_events", "auth_attempts", "commands", "file_transfers", "ssh_keys")
MAX_PARAMS = 4000  # what the loader binds per statement (ingestion.store._MAX_PARAMS)
LOADER_WAL_PAGES = 65536  # the loader's automatic checkpoint length (ingestion.store._WAL_LIMIT)

Rows = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def read(path: str) -> tuple[list[str], Rows]:
    """The schema and every stored row of the ingestion tables (without surrogate ids or generated columns)."""
    conn = sqlite3.connect(path)
    try:
        schema = [
            r[0]
            for r in conn.execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            )
        ]
        data: Rows = {}
        for table in TABLES:
            generated = {r[1] for r in conn.execute(f"PRAGMA table_xinfo({table})") if r[6] in (2, 3)}
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] != "id" and r[1] not in generated]
            data[table] = (cols, conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY rowid").fetchall())
        return schema, data
    finally:
        conn.close()


def plan(data: Rows, batches: int) -> dict[str, list[list[tuple[Any, ...]]]]:
    """Rows per batch: the IPs first, sessions in the order they were stored, details never before their session."""
    out: dict[str, list[list[tuple[Any, ...]]]] = {t: [[] for _ in range(batches)] for t in TABLES}
    out["ip_inventory"][0] = data["ip_inventory"][1]
    sessions = data["session_summaries"][1]
    batch_of: dict[str, int] = {}
    for i, row in enumerate(sessions):
        b = i * batches // len(sessions)
        out["session_summaries"][b].append(row)
        batch_of[row[0]] = b
    for table in TABLES[2:]:
        cols, rows = data[table]
        key = cols.index("session_id")
        for i, row in enumerate(rows):
            b = i * batches // len(rows)
            out[table][b if table == "raw_events" else max(b, batch_of.get(row[key], 0))].append(row)
    return out


def write(schema: list[str], data: Rows, batch: int, path: Path) -> dict[str, Any]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    events = len(data["raw_events"][1])
    batches = events // batch + 1
    parts = plan(data, batches)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA wal_autocheckpoint={LOADER_WAL_PAGES}")  # as the loader: a safety net only
        for statement in schema:
            conn.execute(statement)
        checkpointer = Checkpointer(str(path))
        started = time.perf_counter()
        for b in range(batches):
            checkpointer.settle()
            conn.execute("BEGIN")
            for table in TABLES:
                cols, rows = data[table][0], parts[table][b]
                per = MAX_PARAMS // len(cols)
                one = "(" + ", ".join("?" * len(cols)) + ")"
                for i in range(0, len(rows), per):
                    chunk = rows[i : i + per]
                    conn.execute(
                        f"INSERT INTO {table} ({', '.join(cols)}) VALUES {', '.join([one] * len(chunk))}",
                        [v for row in chunk for v in row],
                    )
            conn.execute("COMMIT")
            checkpointer.wake()
        checkpointer.stop()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        seconds = time.perf_counter() - started
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return {"seconds": round(seconds, 2), "events_per_second_ceiling": round(events / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="an ingested SQLite database")
    parser.add_argument("--batch", type=int, action="append", help="events per transaction (default 10,000)")
    args = parser.parse_args()
    source = make_url(args.db).database or ""
    if not os.path.exists(source):
        sys.exit(f"no such database: {source}")
    schema, data = read(source)
    result: dict[str, Any] = {
        "events": len(data["raw_events"][1]),
        "rows": {t: len(rows) for t, (_, rows) in data.items()},
    }
    target = Path(f"{source}.floor")
    for batch in args.batch or [10_000]:
        result[f"batch_{batch}"] = write(schema, data, batch, target)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
