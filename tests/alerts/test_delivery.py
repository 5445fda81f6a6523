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


def test_failures_are_retried_with_backoff_then_sent(
    report_data: ReportData, webhook: WebhookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, webhook.url)
    settings = _one(report_data, retry_base_seconds=60, retry_max_seconds=600, max_attempts=5)
    engine = report_data.engine
    first = run_once(engine, settings, now=NOW)
    n = first.recorded
    assert n >= 2 and first.sent == n and not first.errors
    # a second batch of alerts meets a failing destination
    webhook.received.clear()
    webhook.statuses = [500] * 100
    later = run_once(engine, settings, now=T0 + 14 * DAY)
    assert later.retrying == later.recorded > 0 and later.sent == 0
    rows = listing(engine, ["pending"], 100)
    assert all(r["attempts"] == 1 and r["last_error"] == "attempt 1: HTTP 500" for r in rows)
    assert all(
        T0 + 14 * DAY + dt.timedelta(seconds=30) <= r["next_attempt_at"] <= T0 + 14 * DAY + dt.timedelta(seconds=60)
        for r in rows
    )  # backoff: half the base to the base (full jitter on the upper half)
    not_yet = run_once(engine, settings, now=T0 + 14 * DAY + dt.timedelta(seconds=10), evaluate_rules=False)
    assert (not_yet.sent, not_yet.retrying) == (0, 0)
    webhook.statuses = []
    due = run_once(engine, settings, now=T0 + 14 * DAY + dt.timedelta(seconds=61), evaluate_rules=False)
    assert due.sent == later.recorded and len(webhook.received) == later.recorded
    assert all(r["attempts"] == 2 and r["last_error"] is None for r in listing(engine, ["sent"], 100)[: later.recorded])


def test_given_up_after_max_attempts_with_the_error(
    report_data: ReportData, webhook: WebhookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, webhook.url)
    settings = _one(report_data, retry_base_seconds=1, retry_max_seconds=1, max_attempts=3)
    webhook.statuses = [503] * 1000
    now = NOW
    reports = []
    for _ in range(4):
        reports.append(run_once(report_data.engine, settings, now=now))
        now += dt.timedelta(seconds=5)
    failed = listing(report_data.engine, ["failed"], 100)
    assert len(failed) == reports[0].recorded and reports[2].failed == len(failed) and reports[3].failed == 0
    assert all(r["attempts"] == 3 and r["last_error"] == "attempt 3: HTTP 503" for r in failed)
    assert not any("SECRET-TOKEN" in e or "127.0.0.1" in e for r in reports for e in r.errors)
    assert webhook.received == []


def test_a_refused_request_is_not_retried_and_retry_after_is_honoured(
    report_data: ReportData, webhook: WebhookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, webhook.url)
    settings = _one(report_data, retry_base_seconds=1, retry_max_seconds=1)
    webhook.statuses = [400, 429]
    webhook.headers = {"Retry-After": "120"}
    report = run_once(report_data.engine, settings, now=NOW)
    assert report.failed == 1 and report.retrying == 1 and report.sent == report.recorded - 2
    (refused,) = listing(report_data.engine, ["failed"], 10)
    (limited,) = listing(report_data.engine, ["pending"], 10)
    assert refused["attempts"] == 1 and refused["last_error"] == "attempt 1: HTTP 400"
    assert limited["next_attempt_at"] >= NOW + dt.timedelta(seconds=120)


def test_a_missing_secret_fails_without_sending(report_data: ReportData, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    report = run_once(report_data.engine, _one(report_data), now=NOW)
    assert report.failed == report.recorded > 0 and report.sent == 0
    assert all("url_env" in r["last_error"] for r in listing(report_data.engine, ["failed"], 100))


class ManualClock(Clock):
    def __init__(self) -> None:
        self.t = 0.0
        super().__init__(monotonic=lambda: self.t)


def test_each_destination_has_its_own_token_bucket(
    report_data: ReportData, webhook: WebhookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, webhook.url)
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
    report_data: ReportData, webhook: WebhookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cowrieprocessor.alerts.ratelimit import BUCKETS

    monkeypatch.setenv(URL_ENV, webhook.url)
    settings = settings_with(
        rules=[{"name": "files", "type": "download"}],
        destinations={"slow": webhook_destination(burst=3, rate_per_second=0.01)},
        settle_seconds=0,
        first_lookback_hours=24 * 6,
    )
    assert run_once(report_data.engine, settings, now=NOW).sent == 3
    BUCKETS.clear()  # as a new cron run: its bucket starts from the outbox's last 300 s, not full
    assert run_once(report_data.engine, settings, now=NOW + dt.timedelta(seconds=1)).sent == 0
