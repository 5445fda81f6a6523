"""How brute-force campaigns share credential lists, measured on ingested logs (issue #20's figures).

    python bench/credential_lists.py ../shared/data/real-cowrie [--db URL]

Ingests the paths (into a throwaway SQLite database unless ``--db`` names one), then prints per sensor and
in total: sessions that tried passwords, distinct credential lists (``credential_list_hash``: the ordered
username/password pairs), how many sessions share their list with another session, the same for lists of
two or more pairs, the top lists with their first pairs, and for a few common passwords how many sessions
tried them against how many keep them as their password (what ``--password`` found before).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from sqlalchemy import Engine, text

from cowrieprocessor.ingestion import ingest
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.textsafe import unescape_text

LISTS = """
SELECT s.credential_list_hash, COUNT(*) AS sessions, COUNT(DISTINCT s.source_ip) AS ips, MIN(s.session_id) AS example,
       MAX(a.n) AS pairs
FROM session_summaries s
JOIN (SELECT session_id, COUNT(*) AS n FROM auth_attempts WHERE password IS NOT NULL GROUP BY session_id) a
  ON a.session_id = s.session_id
WHERE s.credential_list_hash IS NOT NULL {sensor}
GROUP BY s.credential_list_hash
"""


def figures(engine: Engine, sensor: str | None) -> None:
    where = "AND s.sensor = :sensor" if sensor else ""
    with engine.connect() as conn:
        rows = conn.execute(text(LISTS.format(sensor=where)), {"sensor": sensor}).all()
        total = sum(r.sessions for r in rows)
        shared = sum(r.sessions for r in rows if r.sessions > 1)
        multi = [r for r in rows if r.pairs >= 2]
        multi_total = sum(r.sessions for r in multi)
        multi_shared = [r for r in multi if r.sessions > 1]
        print(f"== {sensor or 'all sensors'}")
        print(f"sessions that tried passwords: {total:,}; distinct credential lists: {len(rows):,}")
        print(f"sessions sharing their list with another session: {shared:,} ({shared / max(total, 1):.1%})")
        print(
            f"lists of 2+ pairs: {multi_total:,} sessions, {len(multi):,} distinct, "
            f"{sum(r.sessions for r in multi_shared):,} sessions in {len(multi_shared):,} shared lists"
        )
        for title, group in (("top lists", rows), ("top lists of 2+ pairs", multi)):
            print(f"{title}:")
            for r in sorted(group, key=lambda r: (-r.sessions, r.credential_list_hash))[:5]:
                pairs = conn.execute(
                    text(
                        "SELECT username, password FROM auth_attempts WHERE session_id = :s AND password IS NOT NULL "
                        "ORDER BY event_time, id"
                    ),
                    {"s": r.example},
                ).all()
                shown = ", ".join(f"{unescape_text(u or '')}/{unescape_text(p)}" for u, p in pairs[:4])
                more = f" ... ({len(pairs)} pairs)" if len(pairs) > 4 else ""
                print(f"  {r.sessions:>6,} sessions {r.ips:>5,} IPs  {r.credential_list_hash[:16]}  {shown}{more}")


def tried_vs_kept(engine: Engine, passwords: list[str]) -> None:
    from cowrieprocessor.analysis.keys import hash_password

    print("== password: sessions that tried it / sessions whose summary keeps it")
    with engine.connect() as conn:
        for pw in passwords:
            h = hash_password(pw)
            tried = conn.execute(
                text("SELECT COUNT(DISTINCT session_id) FROM auth_attempts WHERE password_hash = :h"), {"h": h}
            ).scalar_one()
            kept = conn.execute(
                text("SELECT COUNT(*) FROM session_summaries WHERE password_hash = :h"), {"h": h}
            ).scalar_one()
            print(f"  {pw!r:>12}: {tried:,} / {kept:,}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--db", help="database URL (default: a throwaway SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.db or f"sqlite:///{Path(tmp) / 'lists.sqlite'}")
        if schema.current_revision(engine) is None:
            schema.upgrade(engine)
        stats = ingest(engine, args.paths)
        print(f"ingested {stats.events_new:,} new events, {stats.sessions_new:,} new sessions")
        with engine.connect() as conn:
            sensors = [r[0] for r in conn.execute(text("SELECT DISTINCT sensor FROM session_summaries ORDER BY 1"))]
        for sensor in sensors:
            figures(engine, sensor)
        figures(engine, None)
        tried_vs_kept(engine, ["123456", "admin", "root", "password", ""])
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
