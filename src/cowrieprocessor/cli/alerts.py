"""``cowrieprocessor alerts run|list|test``: alerts for cron (``follow`` calls the same ``run_once``).

``run`` evaluates every rule of ``[alerts]`` over what is new since its watermark, records the alerts, and
delivers what is due; ``list`` shows the outbox; ``test`` sends a harmless test alert to one destination,
without recording anything.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer

from cowrieprocessor.cli import output
from cowrieprocessor.cli.context import state
from cowrieprocessor.cli.output import ColumnsOption, FormatOption, OutputFormat
from cowrieprocessor.errors import UsageError

app = typer.Typer(
    help="Alerts on first-seen things: evaluate and deliver, list the outbox, test a destination.", no_args_is_help=True
)

LIST_COLUMNS = (
    "id",
    "status",
    "rule",
    "destination",
    "kind",
    "subject",
    "seen_at",
    "attempts",
    "sent_at",
    "next_attempt_at",
    "last_error",
    "alert_id",
)


class Status(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


def _no_rules_hint(ctx: typer.Context) -> None:
    alerts = state(ctx).settings.alerts
    if not alerts.rules or not alerts.destinations:
        raise UsageError(
            "no alert rules or destinations are configured",
            "add [[alerts.rules]] and [alerts.destinations.NAME] to the --config file (see docs/alerts.md)",
        )


@app.command("run")
def run_command(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Evaluate every rule once, record new alerts, send what is due (for cron; `follow` does it live)."""
    _no_rules_hint(ctx)
    from cowrieprocessor.alerts.run import run_once

    app_state = state(ctx)
    report = run_once(app_state.ready_engine(), app_state.settings)
    summary: dict[str, Any] = {
        "found": report.found,
        "recorded": report.recorded,
        "sent": report.sent,
        "retrying": report.retrying,
        "failed": report.failed,
        "rate_limited": report.rate_limited,
        "skipped_rules": report.skipped,
        "errors": report.errors,
    }
    if fmt is OutputFormat.json:
        output.print_json(summary)
    elif fmt is OutputFormat.csv:
        output.print_rows([{k: v for k, v in summary.items() if not isinstance(v, dict | list)}], fmt)
    else:
        found = ", ".join(f"{output.safe_text(rule)} {n}" for rule, n in sorted(report.found.items())) or "no rule ran"
        output.console.print(f"found: {found}")
        output.console.print(
            f"recorded {report.recorded}, sent {report.sent}, retrying {report.retrying}, failed {report.failed}"
        )
        for name in sorted(report.rate_limited):
            output.console.print(
                f"[yellow]{output.safe_text(name)}: rate limit reached; the rest waits for the next run[/yellow]"
            )
        for error in report.errors:
            output.err_console.print(f"[red]{output.safe_text(error)}[/red]")
    if report.errors:
        raise typer.Exit(1)


@app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[
        list[Status] | None, typer.Option("--status", help="Only alerts in this state (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 100,
    fmt: FormatOption = OutputFormat.table,
    columns: ColumnsOption = None,
) -> None:
    """The outbox, newest first. Columns: id, status, rule, destination, kind, subject, seen_at, attempts,
    sent_at, next_attempt_at, last_error, alert_id."""
    from cowrieprocessor.alerts.outbox import listing

    rows = listing(state(ctx).ready_engine(), [s.value for s in status or []], limit)
    output.print_rows(
        rows,
        fmt,
        title="alerts",
        columns=LIST_COLUMNS,
        pick=columns,
        empty_message="No alerts recorded.",
        priority=("id", "status", "rule", "destination", "subject"),
    )


@app.command("test")
def test_command(
    ctx: typer.Context,
    destination: Annotated[str, typer.Argument(help="A destination named in [alerts.destinations].")],
) -> None:
    """Send a harmless test alert to DESTINATION now (nothing is recorded); exit 1 if it is not accepted."""
    import datetime as dt
    import uuid

    from cowrieprocessor.alerts.destinations import DeliveryFailed, build
    from cowrieprocessor.alerts.model import Alert

    alerts = state(ctx).settings.alerts
    if destination not in alerts.destinations:
        known = ", ".join(sorted(alerts.destinations)) or "none configured"
        raise UsageError(f"no alert destination {destination!r}", f"destinations: {known}")
    now = dt.datetime.now(dt.UTC)
    alert = Alert(
        "test",
        "test",
        "cowrieprocessor test alert",
        {"label": "a test: nothing happened on your sensors", "first_seen": now.isoformat()},
        now,
        discriminator=uuid.uuid4().hex,
    )
    target = build(destination, alerts.destinations[destination])
    try:
        target.send(alert)
    except DeliveryFailed as exc:
        output.err_console.print(f"[red]{output.safe_text(destination)}: not accepted: {output.safe_text(exc)}[/red]")
        raise typer.Exit(1) from None
    finally:
        target.close()
    output.console.print(f"{output.safe_text(destination)}: test alert accepted (id {alert.id[:16]})")
