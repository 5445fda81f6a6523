"""One alert run: evaluate every rule over what is new since its watermark, record, then deliver what is due.

``run_once`` is the whole contract for a caller: ``alerts run`` (cron) calls it once, ``follow`` calls it after
each batch it commits. Evaluation reads the stored data; recording moves a rule's watermark and inserts its
alerts in one transaction (a crash leaves both or neither); delivery claims due alerts per destination under
a lease, within the destination's token bucket, and records each outcome.

What is new: the window ends at the newest session stored (the data's time, like the digest), but not later
than ``now - settle_seconds``: a session that just started may still plant a key or fetch a file, so it waits
for the next run. Data ingested later for a time before a rule's watermark is not alerted on (the report of
its period shows it).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine

from cowrieprocessor.alerts import outbox
from cowrieprocessor.alerts.destinations import DeliveryFailed, Destination, build
from cowrieprocessor.alerts.ratelimit import BUCKETS
from cowrieprocessor.alerts.rules import evaluate
from cowrieprocessor.alerts.settings import AlertsSettings, DestinationSettings, RuleSettings
from cowrieprocessor.config import Settings
from cowrieprocessor.enrichment.base import utcnow
from cowrieprocessor.enrichment.ratelimit import SYSTEM_CLOCK, Clock, RetryPolicy
from cowrieprocessor.report.period import newest_session
from cowrieprocessor.tiers.leases import worker_id

log = logging.getLogger(__name__)
TICK = dt.timedelta(microseconds=1)
#: Most alerts one claim takes (fewer when the lease is short for the destination's timeout).
MAX_BATCH = 20
#: ``sensor_silent`` reads every session of its look-back: at most this often per process and rule.
SILENT_CHECK_EVERY = dt.timedelta(seconds=60)
#: When this process last evaluated each rule of each database (``evaluate_every_seconds``).
_EVALUATED: dict[tuple[str, str], dt.datetime] = {}
#: Destinations this process leaves alone until a time, after a transient failure (database, name).
_PAUSED: dict[tuple[str, str], dt.datetime] = {}


@dataclass
class AlertRunReport:
    """What one run did. ``found``: alerts per rule this run; ``recorded``: new outbox rows; ``skipped``:
    rules another run evaluated at the same time; the rest count delivery attempts by outcome."""

    found: dict[str, int] = field(default_factory=dict)
    recorded: int = 0
    skipped: list[str] = field(default_factory=list)
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    rate_limited: dict[str, int] = field(default_factory=dict)
    #: Claimed alerts given back unsent after their destination failed transiently (tried next run).
    deferred: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def run_once(
    engine: Engine,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    evaluate_rules: bool = True,
    deliver: bool = True,
    clock: Clock = SYSTEM_CLOCK,
) -> AlertRunReport:
    """Evaluate every rule over what is new since its watermark, record the alerts, deliver what is due.

    ``now`` (aware; default the clock; injectable for tests and replays) dates the run: the settle time,
    leases, backoff and silent sensors count from it. ``evaluate_rules`` / ``deliver`` turn either half off.
    Database errors propagate."""
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware time")
    report = AlertRunReport()
    alerts = settings.alerts
    if evaluate_rules:
        evaluate_all(engine, alerts, now, report)
    if deliver:
        deliver_due(engine, alerts, now, report, clock=clock)
    return report


def window_end(engine: Engine, alerts: AlertsSettings, now: dt.datetime) -> dt.datetime:
    settled = now - dt.timedelta(seconds=alerts.settle_seconds)
    newest = newest_session(engine)
    return settled if newest is None else min(newest + TICK, settled)


def evaluate_all(engine: Engine, alerts: AlertsSettings, now: dt.datetime, report: AlertRunReport) -> None:
    if not any(rule.enabled and alerts.destinations_of(rule) for rule in alerts.rules):
        return  # no [alerts] configured: a live loop's call costs no query
    until = window_end(engine, alerts, now)
    for rule in alerts.rules:
        destinations = alerts.destinations_of(rule)
        if not rule.enabled or not destinations:
            continue
        evaluate_rule(engine, alerts, rule, destinations, until, now, report)


def evaluate_rule(
    engine: Engine,
    alerts: AlertsSettings,
    rule: RuleSettings,
    destinations: list[str],
    until: dt.datetime,
    now: dt.datetime,
    report: AlertRunReport,
) -> None:
    # a live loop calls run_once after every batch: a rule is evaluated at most every evaluate_every_seconds
    # (sensor_silent, which reads its whole look-back, at most once a minute) by one process
    key = engine.url.render_as_string(hide_password=True), rule.name
    every = dt.timedelta(seconds=alerts.evaluate_every_seconds)
    if rule.type == "sensor_silent":
        every = max(every, SILENT_CHECK_EVERY)
    last = _EVALUATED.get(key)
    if last is not None and dt.timedelta(0) <= now - last < every:
        return
    if rule.type == "sensor_silent":  # the clock, not a window: its alerts' ids make a repeat a no-op
        _EVALUATED[key] = now
        found = evaluate(engine, rule, until, until, now)
        with engine.begin() as conn:
            report.recorded += outbox.add(conn, [(a, d) for a in found for d in destinations], now)
        report.found[rule.name] = len(found)
        return
    with engine.connect() as conn:
        previous = outbox.watermark(conn, rule.name)
    since = previous or until - dt.timedelta(hours=alerts.first_lookback_hours)
    if until <= since:
        report.found[rule.name] = 0
        return
    _EVALUATED[key] = now
    found = evaluate(engine, rule, since, until, now)
    with engine.begin() as conn:
        added = outbox.record(conn, rule.name, previous, until, [(a, d) for a in found for d in destinations], now)
    if added is None:
        report.skipped.append(rule.name)
        return
    report.found[rule.name] = len(found)
    report.recorded += added


def deliver_due(
    engine: Engine, alerts: AlertsSettings, now: dt.datetime, report: AlertRunReport, *, clock: Clock = SYSTEM_CLOCK
) -> None:
    worker = worker_id()
    for name, settings in sorted(alerts.destinations.items()):
        deliver_destination(engine, alerts, name, settings, now, report, worker=worker, clock=clock)


def deliver_destination(
    engine: Engine,
    alerts: AlertsSettings,
    name: str,
    settings: DestinationSettings,
    now: dt.datetime,
    report: AlertRunReport,
    *,
    worker: str,
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    database = engine.url.render_as_string(hide_password=True)
    paused = _PAUSED.get((database, name))
    if paused is not None and now < paused:
        return  # it failed transiently a moment ago: this process leaves it alone until the retry time
    refill = dt.timedelta(seconds=settings.burst / settings.rate_per_second)
    bucket = BUCKETS.get(
        database,
        name,
        settings.rate_per_second,
        settings.burst,
        lambda: outbox.sent_since(engine, name, now - refill),
        clock,
    )
    lease = dt.timedelta(seconds=alerts.claim_seconds)
    # claims in small batches: a batch is sent well within its lease even when every send times out, and a
    # long queue is shared between concurrent senders instead of held by the first
    batch = max(1, min(MAX_BATCH, int(alerts.claim_seconds / (2 * settings.timeout_seconds))))
    policy = RetryPolicy(settings.max_attempts, settings.retry_base_seconds, settings.retry_max_seconds)
    outcomes = _Outcomes(engine, settings, policy, now, report, worker)
    destination: Destination | None = None
    try:
        while True:
            limit = min(batch, bucket.available())
            if limit == 0:
                if outbox.has_due(engine, name, now, settings.max_attempts):
                    report.rate_limited[name] = report.rate_limited.get(name, 0) + 1
                return
            claimed = outbox.claim(
                engine, name, worker=worker, now=now, lease=lease, limit=limit, max_attempts=settings.max_attempts
            )
            if not claimed:
                return
            if destination is None:
                try:
                    destination = build(name, settings)
                except OSError as exc:  # an unreadable url_file / password_file: tried again later
                    problem = DeliveryFailed(f"secret file unreadable ({exc.__class__.__name__})")
                    for item in claimed:
                        outcomes.failed(item, problem)
                    return
            for index, item in enumerate(claimed):
                bucket.try_take()
                retry_at = outcomes.send(destination, item)
                if retry_at is not None:
                    # down or overloaded: the rest waits (this process pauses the destination until the failed
                    # alert's retry time) instead of a timeout each
                    _PAUSED[(database, name)] = retry_at
                    rest = claimed[index + 1 :]
                    outbox.release(engine, rest, worker=worker)
                    report.deferred[name] = report.deferred.get(name, 0) + len(rest)
                    return
    finally:
        if destination is not None:
            destination.close()


@dataclass
class _Outcomes:
    """Records what became of each alert sent to one destination in one run: the outbox row, the retry time
    (its policy), the run's report."""

    engine: Engine
    settings: DestinationSettings
    policy: RetryPolicy
    now: dt.datetime
    report: AlertRunReport
    worker: str

    def send(self, destination: Destination, item: outbox.Claimed) -> dt.datetime | None:
        """Send one alert and record the outcome. A time when the destination failed in a way that says the
        next alerts would fail too (a timeout, a refused connection, a 5xx or 429): the failed alert's retry
        time."""
        try:
            destination.send(item.alert)
        except DeliveryFailed as exc:
            retry_at = self.failed(item, exc)
            return None if exc.permanent else retry_at or self.now
        except Exception as exc:  # a destination's bug must not stop the other alerts: recorded, retried
            log.warning("alert destination %s failed unexpectedly: %s", item.destination, exc.__class__.__name__)
            self.failed(item, DeliveryFailed(f"unexpected {exc.__class__.__name__}"))
            return None
        if outbox.mark_sent(self.engine, item, worker=self.worker, now=self.now):
            self.report.sent += 1
        else:
            self.report.errors.append(
                f"{item.destination}: alert {item.alert.id[:16]} was sent after its claim expired"
            )
        return None

    def failed(self, item: outbox.Claimed, exc: DeliveryFailed) -> dt.datetime | None:
        """Record a failed attempt; its retry time (None: given up)."""
        retry_at: dt.datetime | None = None
        if not exc.permanent and item.attempts < self.settings.max_attempts:
            delay = max(self.policy.backoff(item.attempts - 1), exc.retry_after or 0.0)
            retry_at = self.now + dt.timedelta(seconds=delay)
        error = f"attempt {item.attempts}: {exc}"
        status = outbox.mark_failed(self.engine, item, error, worker=self.worker, now=self.now, retry_at=retry_at)
        if status == "failed":
            self.report.failed += 1
        else:
            self.report.retrying += 1
        self.report.errors.append(f"{item.destination}: {exc}")
        return retry_at
