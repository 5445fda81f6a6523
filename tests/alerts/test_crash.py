"""Kill -9 at each point of an alert's life, then run again: nothing is lost, nothing is sent twice except in
the one window no sender can close (accepted, not yet marked), where the repeat carries the same idempotency
key. Two senders at once never send the same alert (SKIP LOCKED on PostgreSQL, the write lock on SQLite)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from cowrieprocessor.alerts import run_once
from cowrieprocessor.alerts.outbox import listing
from tests.alerts.conftest import URL_ENV, WebhookServer, settings_with, webhook_destination
from tests.analysis.conftest import T0
from tests.report.conftest import ReportData

DAY = dt.timedelta(days=1)
NOW = T0 + 5.5 * DAY
SECTION = {
    "rules": [{"name": "keys", "type": "new_campaign_key"}, {"name": "files", "type": "download"}],
    "destinations": {"hook": webhook_destination()},
    "settle_seconds": 0,
    "first_lookback_hours": 24 * 6,
    "claim_seconds": 60,
}
ROOT = Path(__file__).resolve().parents[2]


def child(db_url: str, webhook: WebhookServer, mode: str, now: dt.datetime = NOW) -> subprocess.Popen[str]:
    env = {**os.environ, URL_ENV: webhook.url, "CP_TEST_ALERTS_SETTINGS": json.dumps(SECTION)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.alerts.crash_child", db_url, now.isoformat(), mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def killed(process: subprocess.Popen[str]) -> None:
    _, err = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL, err


def statuses(report_data: ReportData) -> Counter[str]:
    return Counter(r["status"] for r in listing(report_data.engine, [], 10_000))


def test_killed_after_recording(report_data: ReportData, db_url: str, webhook: WebhookServer) -> None:
    killed(child(db_url, webhook, "after-record"))
    recorded = statuses(report_data)
    assert recorded["pending"] > 0 and set(recorded) == {"pending"} and webhook.received == []
    report = run_once(report_data.engine, settings_with(**SECTION), now=NOW)
    assert report.recorded == 0  # the watermark moved with the rows: nothing found again
    assert report.sent == recorded["pending"] == len(set(webhook.keys())) == len(webhook.received)


def test_killed_after_claiming_before_sending(report_data: ReportData, db_url: str, webhook: WebhookServer) -> None:
    killed(child(db_url, webhook, "after-claim"))
    held = statuses(report_data)
    assert held["sending"] > 0 and webhook.received == []
    settings = settings_with(**SECTION)
    during = run_once(report_data.engine, settings, now=NOW + dt.timedelta(seconds=30))
    assert during.sent == held["pending"]  # the dead sender's claims are left alone until their lease ends
    after = run_once(report_data.engine, settings, now=NOW + dt.timedelta(seconds=61))
    assert after.sent == held["sending"]
    assert len(webhook.received) == len(set(webhook.keys())) == sum(held.values())
    assert statuses(report_data) == Counter({"sent": sum(held.values())})


def test_killed_after_sending_before_marking(report_data: ReportData, db_url: str, webhook: WebhookServer) -> None:
    killed(child(db_url, webhook, "after-send"))
    assert len(webhook.received) == 1  # accepted by the destination, then the sender died
    first_key = webhook.keys()[0]
    run_once(report_data.engine, settings_with(**SECTION), now=NOW + dt.timedelta(seconds=61))
    keys = Counter(webhook.keys())
    # the one alert in the window is sent again, with the same key (the receiver drops it); every other once
    assert keys[first_key] == 2 and all(n == 1 for k, n in keys.items() if k != first_key)
    assert statuses(report_data) == Counter({"sent": len(keys)})


def test_two_senders_at_once_never_send_the_same_alert(
    report_data: ReportData, db_url: str, webhook: WebhookServer
) -> None:
    recorded = run_once(report_data.engine, settings_with(**SECTION), now=NOW, deliver=False).recorded
    assert recorded > 5
    webhook.delay = 0.3  # slow enough that both senders are claiming while the other sends
    senders = [child(db_url, webhook, "deliver") for _ in range(2)]
    outputs = [json.loads(p.communicate(timeout=120)[0]) for p in senders]
    assert all(p.returncode == 0 for p in senders)
    assert sum(o["sent"] for o in outputs) == recorded and all(o["sent"] > 0 for o in outputs)  # shared
    assert len(webhook.received) == len(set(webhook.keys())) == recorded
