"""A separate process for the crash and concurrency tests: one alert run that dies (SIGKILL, no cleanup) at a
chosen point, or runs to its end.

    python -m tests.alerts.crash_child DB_URL NOW MODE   (settings: JSON in $CP_TEST_ALERTS_SETTINGS)

MODE: ``after-record`` dies once the alerts are recorded, before any is claimed; ``after-claim`` dies when the
first claimed alert is about to be sent; ``after-send`` dies after the destination accepted the first alert,
before it is marked sent; ``deliver`` only delivers, to its end; ``run`` evaluates and delivers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
from typing import Any

from cowrieprocessor.alerts import outbox
from cowrieprocessor.alerts import run as alert_run
from cowrieprocessor.alerts.destinations import webhook
from cowrieprocessor.alerts.settings import AlertsSettings
from cowrieprocessor.config import Settings
from cowrieprocessor.storage.engine import make_engine


def die(*_: Any, **__: Any) -> Any:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    url, now_text, mode = sys.argv[1:4]
    settings = Settings(alerts=AlertsSettings.model_validate(json.loads(os.environ["CP_TEST_ALERTS_SETTINGS"])))
    now = dt.datetime.fromisoformat(now_text)
    if mode == "after-record":
        alert_run.deliver_due = die  # type: ignore[assignment]
    elif mode == "after-claim":
        webhook.WebhookDestination.send = die  # type: ignore[method-assign]
    elif mode == "after-send":
        outbox.mark_sent = die  # type: ignore[assignment]
    engine = make_engine(url)
    report = alert_run.run_once(engine, settings, now=now, evaluate_rules=mode != "deliver")
    print(json.dumps({"sent": report.sent, "recorded": report.recorded, "errors": report.errors}))


if __name__ == "__main__":
    main()
