"""Delivery: retried with backoff, given up after max_attempts with the error kept, rate-limited per destination,
a refused secret-less destination stops at once - and the error text never holds the webhook's URL."""

from __future__ import annotations

import datetime as dt

import pytest

from cowrieprocessor.alerts import run_once
from cowrieprocessor.alerts.outbox import listing
from cowrieprocessor.config import Settings
from cowrieprocessor.enrichment.ratelimit import Clock
from tests.alerts.conftest import URL_ENV, WebhookServer, settings_with, webhook_destination
from tests.analysis.conftest import T0
from tests.report.conftest import ReportData

DAY = dt.timedelta(days=1)
NOW = T0 + 5.5 * DAY
ONE_KEY = [{"name": "keys", "type": "new_campaign_key", "kinds": ["ssh_key"]}]


def _one(report_data: ReportData, **destination: object) -> Settings:
    return settings_with(
        rules=ONE_KEY,
        destinations={"hook": webhook_destination(**destination)},
        settle_seconds=0,
        first_lookback_hours=24 * 6,
    )


def test_failures_are_retried_with_backoff_then_sent(report_data: ReportData, webhook: WebhookServer) -> None:
    settings = _one(report_data, retry_base_seconds=60, retry_max_seconds=600, max_attempts=5)
    engine = report_data.engine
    webhook.statuses = [500]
    first = run_once(engine, settings, now=NOW)
    n = first.recorded
    assert n >= 3 and first.retrying == 1 and first.sent == 0
    # a destination failing with a 5xx is left alone for the rest of the run: no timeout per alert
    assert first.deferred == {"hook": n - 1} and first.errors == ["hook: HTTP 500"]
    (failed,) = [r for r in listing(engine, ["pending"], 100) if r["attempts"] == 1]
    assert failed["last_error"] == "attempt 1: HTTP 500"
    assert NOW + dt.timedelta(seconds=30) <= failed["next_attempt_at"] <= NOW + dt.timedelta(seconds=60)  # jitter
    assert all(r["attempts"] == 0 for r in listing(engine, ["pending"], 100) if r["id"] != failed["id"])
    paused = run_once(engine, settings, now=NOW + dt.timedelta(seconds=10), evaluate_rules=False)
    assert (paused.sent, paused.retrying) == (0, 0)  # this process pauses the destination until the retry time
    later = NOW + dt.timedelta(seconds=61)
    assert run_once(engine, settings, now=later, evaluate_rules=False).sent == n
    assert len(webhook.received) == len(set(webhook.keys())) == n
    retried = next(r for r in listing(engine, ["sent"], 100) if r["id"] == failed["id"])
    assert retried["attempts"] == 2 and retried["last_error"] is None


def test_given_up_after_max_attempts_with_the_error(report_data: ReportData, webhook: WebhookServer) -> None:
    settings = settings_with(
        rules=[{"name": "planted", "type": "planted_key_login"}],
        destinations={"hook": webhook_destination(retry_base_seconds=1, retry_max_seconds=1, max_attempts=3)},
        settle_seconds=0,
        first_lookback_hours=24 * 6,
    )
    webhook.statuses = [503] * 1000
    now = NOW
    reports = []
    for _ in range(4):
        reports.append(run_once(report_data.engine, settings, now=now))
        now += dt.timedelta(seconds=5)
    (failed,) = listing(report_data.engine, ["failed"], 100)
    assert [r.failed for r in reports] == [0, 0, 1, 0] and [r.retrying for r in reports] == [1, 1, 0, 0]
    assert failed["attempts"] == 3 and failed["last_error"] == "attempt 3: HTTP 503"
    assert not any("SECRET-TOKEN" in e or "127.0.0.1" in e for r in reports for e in r.errors)
    assert webhook.received == []


def test_a_refused_request_is_not_retried_and_retry_after_is_honoured(
    report_data: ReportData, webhook: WebhookServer
) -> None:
    settings = _one(report_data, retry_base_seconds=1, retry_max_seconds=1)
    webhook.statuses = [400, 429]
    webhook.headers = {"Retry-After": "120"}
    report = run_once(report_data.engine, settings, now=NOW)
    assert report.failed == 1 and report.retrying == 1 and report.sent == 0  # 400: the next alert still goes
    assert report.deferred == {"hook": report.recorded - 2}
    (refused,) = listing(report_data.engine, ["failed"], 10)
    (limited,) = [r for r in listing(report_data.engine, ["pending"], 10) if r["attempts"] == 1]
    assert refused["attempts"] == 1 and refused["last_error"] == "attempt 1: HTTP 400"
    assert limited["next_attempt_at"] >= NOW + dt.timedelta(seconds=120)
    webhook.headers = {}
    early = run_once(report_data.engine, settings, now=NOW + dt.timedelta(seconds=60), evaluate_rules=False)
    assert early.sent == 0  # paused for the Retry-After
    late = run_once(report_data.engine, settings, now=NOW + dt.timedelta(seconds=121), evaluate_rules=False)
    assert late.sent == report.recorded - 1


def test_a_missing_secret_fails_without_sending(report_data: ReportData, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    report = run_once(report_data.engine, _one(report_data), now=NOW)
    assert report.failed == report.recorded > 0 and report.sent == 0
    assert all("url_env" in r["last_error"] for r in listing(report_data.engine, ["failed"], 100))


class ManualClock(Clock):
    def __init__(self) -> None:
        self.t = 0.0
        super().__init__(monotonic=lambda: self.t)


def test_each_destination_has_its_own_token_bucket(report_data: ReportData, webhook: WebhookServer) -> None:
    settings = settings_with(
        rules=[{"name": "everything", "type": "new_campaign_key"}, {"name": "files", "type": "download"}],
        destinations={
            "slow": webhook_destination(burst=2, rate_per_second=0.5),
            "fast": webhook_destination(burst=100, rate_per_second=100),
        },
        settle_seconds=0,
        first_lookback_hours=24 * 6,
    )
    clock = ManualClock()
    first = run_once(report_data.engine, settings, now=NOW, clock=clock)
    per_destination = first.recorded // 2
    assert per_destination > 6
    assert first.sent == per_destination + 2 and first.rate_limited == {"slow": 1}
    again = run_once(report_data.engine, settings, now=NOW, clock=clock)
    assert again.sent == 0 and again.rate_limited == {"slow": 1}
    clock.t += 4.0  # two more tokens at 0.5/s
    assert run_once(report_data.engine, settings, now=NOW, clock=clock).sent == 2
    clock.t += 1000.0  # the bucket refills to its burst, not beyond
    assert run_once(report_data.engine, settings, now=NOW, clock=clock).sent == 2
    assert len(listing(report_data.engine, ["pending"], 1000)) == per_destination - 6


def test_a_new_process_starts_with_what_the_destination_accepted_lately(
    report_data: ReportData, webhook: WebhookServer
) -> None:
    from cowrieprocessor.alerts.ratelimit import BUCKETS

    settings = settings_with(
        rules=[{"name": "files", "type": "download"}],
        destinations={"slow": webhook_destination(burst=3, rate_per_second=0.01)},
        settle_seconds=0,
        first_lookback_hours=24 * 6,
    )
    assert run_once(report_data.engine, settings, now=NOW).sent == 3
    BUCKETS.clear()  # as a new cron run: its bucket starts from the outbox's last 300 s, not full
    assert run_once(report_data.engine, settings, now=NOW + dt.timedelta(seconds=1)).sent == 0
