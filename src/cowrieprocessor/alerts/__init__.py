"""Alerts: rules that find first-seen things, an outbox that records each alert before it is sent, and the
destinations that deliver it (a JSON webhook, a Slack-compatible chat webhook, mail over SMTP).

The entry point for a live loop (``follow``) and for cron (``alerts run``) is :func:`run_once`. This package
imports nothing heavy at import time: the configuration (``alerts.settings``) is loaded by every command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cowrieprocessor.alerts.run import run_once as run_once

__all__ = ["run_once"]


def __getattr__(name: str) -> Any:
    """``run_once`` loads ``alerts.run`` (SQLAlchemy, the destinations) on first use only."""
    if name == "run_once":
        from cowrieprocessor.alerts.run import run_once

        return run_once
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
