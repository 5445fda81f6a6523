"""Benchmark of alerts: what one evaluation of every rule costs, what an idle ``run_once`` costs (``follow``
calls it after every batch it commits), and how fast the outbox drains to a local webhook.

    python bench/bench_alerts.py --db URL --generate [--sessions 1680000]   # fill an empty database first
    python bench/bench_alerts.py --db URL [--window-hours 24] [--idle-runs 20]

``--generate`` loads three-tier data at the seed's scale (``bench_data.py``) plus the detail rows of the last
``--details-days`` days (``bench_report.add_details``: logins, commands, downloads, planted keys). Then every
rule type is evaluated once over the newest ``--window-hours`` of sessions (a rule's first run), the same
``run_once`` is repeated with nothing new (the idle cost), and the alerts found are delivered to a webhook
on 127.0.0.1 with no rate limit (the outbox's own throughput: claim, POST, mark). Figures are printed.
Alerts state (outbox, watermarks) is emptied first, so runs can be repeated on one database.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import delete

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_data
import bench_report

from cowrieprocessor.alerts.ratelimit import BUCKETS
from cowrieprocessor.alerts.run import run_once
from cowrieprocessor.alerts.settings import AlertsSettings
from cowrieprocessor.config import Settings
from cowrieprocessor.report.period import newest_session
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import AlertOutbox, AlertWatermark

URL_ENV = "BENCH_ALERTS_WEBHOOK_URL"
RULES = [
    {"name": "keys", "type": "new_campaign_key"},
    {"name": "asns", "type": "new_asn"},
    {"name": "files", "type": "download"},
    {"name": "planted", "type": "planted_key_login"},
    {"name": "moved", "type": "moved_asn"},
    {"name": "silent", "type": "sensor_silent", "silent_minutes": 30},
]


class Sink(BaseHTTPRequestHandler):
    count = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Sink.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--generate", action="store_true")
    parser.add_argument("--sessions", type=int, default=1_680_000)
    parser.add_argument("--ips", type=int, default=300_000)
    parser.add_argument("--asns", type=int, default=15_000)
    parser.add_argument("--details-days", type=int, default=30)
    parser.add_argument("--window-hours", type=float, default=24.0)
    parser.add_argument("--idle-runs", type=int, default=20)
    args = parser.parse_args()

    engine = make_engine(args.db)
    if args.generate:
        t = time.perf_counter()
        bench_data.load(engine, sessions=args.sessions, ips=args.ips, asns=args.asns, campaign_sessions=2000)
        counts = bench_report.add_details(engine, args.details_days)
        print(f"generated in {time.perf_counter() - t:.0f} s; details: {counts}")
    with engine.begin() as conn:
        conn.execute(delete(AlertOutbox))
        conn.execute(delete(AlertWatermark))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ[URL_ENV] = f"http://127.0.0.1:{server.server_address[1]}/hook"
    destination = {"type": "webhook", "url_env": URL_ENV, "burst": 10_000, "rate_per_second": 1000}
    section = {
        "rules": RULES,
        "destinations": {"hook": destination},
        "settle_seconds": 0,
        "first_lookback_hours": args.window_hours,
    }
    settings = Settings(alerts=AlertsSettings.model_validate(section))
    newest = newest_session(engine)
    assert newest is not None, "an empty database: use --generate"
    now = newest + dt.timedelta(seconds=1)
    print(f"backend {engine.dialect.name}; newest session {newest:%Y-%m-%d %H:%M} UTC; window {args.window_hours} h")

    t = time.perf_counter()
    first = run_once(engine, settings, now=now, deliver=False)
    evaluate = time.perf_counter() - t
    found = ", ".join(f"{rule} {n}" for rule, n in first.found.items())
    print(f"evaluate every rule (first run, {args.window_hours} h of sessions): {evaluate:.2f} s; found {found}")

    idle = []
    for i in range(args.idle_runs):
        t = time.perf_counter()
        report = run_once(engine, settings, now=now + dt.timedelta(seconds=2 + i), deliver=True)
        idle.append(time.perf_counter() - t)
        assert report.recorded == 0 and (i > 0 or report.sent == first.recorded)
        if i == 0:
            drained = idle[0]
            print(f"deliver {report.sent} alerts to a local webhook: {drained:.2f} s, {report.sent / drained:.0f}/s")
    BUCKETS.clear()
    steady = idle[1:]
    print(
        f"idle run_once (nothing new, nothing due): median {statistics.median(steady) * 1000:.1f} ms, "
        f"max {max(steady) * 1000:.1f} ms over {len(steady)} runs; load average {os.getloadavg()[0]:.1f}"
    )
    assert Sink.count == first.recorded
    server.shutdown()
    engine.dispose()


if __name__ == "__main__":
    main()
