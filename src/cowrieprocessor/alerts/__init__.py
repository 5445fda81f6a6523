"""Alerts: rules that find first-seen things, an outbox that records each alert before it is sent, and the
destinations that deliver it (a JSON webhook, a Slack-compatible chat webhook, mail over SMTP).

The entry point for a live loop (``follow``) and for cron (``alerts run``) is :func:`run_once`. This package
imports nothing heavy at import time: the configuration (``alerts.settings``) is loaded by every command.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cowrieprocessor.alerts.run import AlertRunReport
    from cowrieprocessor.config import Settings
    from cowrieprocessor.enrichment.ratelimit import Clock

__all__ = ["run_once"]


def run_once(
    engine: Engine,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    evaluate_rules: bool = True,
    deliver: bool = True,
    clock: Clock | None = None,
) -> AlertRunReport:
    """Evaluate every rule over what is new since its watermark, record the alerts, deliver what is due.

    ``now`` (aware; default the clock) dates the run: the settle time, leases, backoff and silent sensors
    count from it. ``evaluate_rules`` / ``deliver`` turn either half off. Database errors propagate."""
    from cowrieprocessor.alerts.run import run_once as _run_once
    from cowrieprocessor.enrichment.ratelimit import SYSTEM_CLOCK

    return _run_once(
        engine, settings, now=now, evaluate_rules=evaluate_rules, deliver=deliver, clock=clock or SYSTEM_CLOCK
    )
