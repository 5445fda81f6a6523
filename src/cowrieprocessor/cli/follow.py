"""``cowrieprocessor follow [PATH...]``: tail Cowrie's live log into the database; ``follow --status``."""

from __future__ import annotations

import datetime as dt
import signal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cowrieprocessor.cli import output
from cowrieprocessor.cli.context import AppState, state
from cowrieprocessor.cli.output import ColumnsOption, FormatOption, OutputFormat
from cowrieprocessor.errors import InputNotFound, UsageError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cowrieprocessor.alerts.run import AlertRunReport
    from cowrieprocessor.config import Settings
    from cowrieprocessor.live.loop import AlertHook

STATUS_COLUMNS = [
    "name", "state", "worker", "lag_seconds", "lag_bytes", "events_per_second", "events_new", "sessions_new",
    "dead_letters", "provider_errors", "alerts_sent", "last_batch_at", "updated_at", "heartbeat_age_seconds",
    "last_error",
]  # fmt: skip


def follow_command(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Live logs (cowrie.json) or their directories. Rotations next to them are read too.",
            show_default=False,
        ),
    ] = None,
    show_status: Annotated[
        bool, typer.Option("--status", help="Show the followers' status (from another process) and exit.")
    ] = False,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="This follower's name in the status (default: follow; --status: all).", show_default=False
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option("--interval", min=0.05, max=3600, help="Seconds between two looks at the logs.")
    ] = 1.0,
    sensor: Annotated[
        str | None, typer.Option("--sensor", help="Sensor name for every event (default: each event's own).")
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option("--batch", min=100, max=10_000_000, help="Events per transaction at most (catching up)."),
    ] = None,
    no_enrich: Annotated[bool, typer.Option("--no-enrich", help="Do not enrich new sessions' IPs.")] = False,
    online_every: Annotated[
        float, typer.Option("--online-every", min=1, max=86_400, help="Seconds between passes of online sources.")
    ] = 60.0,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port", min=1, max=65_535, help="Serve Prometheus metrics on this port.", show_default=False
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option("--metrics-host", help="Address of the metrics endpoint (keep it local).")
    ] = "127.0.0.1",
    max_ticks: Annotated[int | None, typer.Option("--max-ticks", min=1, hidden=True)] = None,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Follow Cowrie's live log: read new lines every second, enrich new IPs, alert; stop on SIGTERM/SIGINT.

    Nothing is lost or read twice across Cowrie's rotation, a restart or a kill -9 of either (the same
    checkpoints as ingest). --status shows every follower of the database: lag, events/s, dead letters,
    provider errors, last batch; exit 1 when one is gone or failed.
    """
    app_state = state(ctx)
    if show_status:
        _print_status(app_state, name, columns, fmt)
        return
    if not paths:
        raise InputNotFound("give the live log or its directory", "e.g. follow /var/log/cowrie/cowrie.json")
    _check_paths(paths)
    engine = app_state.ready_engine(create=True)
    from cowrieprocessor.live.loop import Follower, FollowOptions

    options = FollowOptions(
        paths=list(paths), name=name or "follow", interval=interval, sensor=sensor, batch_events=batch,
        enrich=not no_enrich, online_every=online_every, online_limit=max(1, app_state.settings.enrich.batch_size),
        max_ticks=max_ticks,
    )  # fmt: skip
    follower = Follower(engine, app_state.settings, options, alerts=alert_hook(app_state.settings))
    server = _serve_metrics(follower, metrics_port, metrics_host) if metrics_port is not None else None
    previous = {sig: signal.signal(sig, follower.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        stats = follower.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if server is not None:
            server.shutdown()
    data = stats.as_dict()
    if fmt is OutputFormat.json:
        output.print_json(data)
    else:
        output.console.print(
            f"stopped: {stats.events_new:,} new events, {stats.sessions_new:,} new sessions, "
            f"{stats.dead_letters:,} dead letters, {stats.rotations} rotations, {stats.truncations} truncations"
        )


def _check_paths(paths: list[str]) -> None:
    """A live log may not exist yet (Cowrie not started), but its directory must."""
    from cowrieprocessor.live.tail import live_path

    for arg in paths:
        path = live_path(arg)
        if not path.parent.is_dir():
            raise InputNotFound(f"no such directory: {path.parent}", "give the live log or its directory")
        if path.exists() and not path.is_file():
            raise InputNotFound(f"{path}: not a regular file")


def _serve_metrics(follower: Any, port: int, host: str) -> Any:
    from cowrieprocessor.live.metrics import serve

    try:
        return serve(follower.stats, port, host)
    except OSError as exc:
        raise UsageError(f"--metrics-port {port}: {exc.strerror or exc}", "choose a free local port") from exc


def alert_hook(settings: Settings) -> AlertHook | None:
    """``alerts.run_once`` after every batch when ``[alerts]`` has a rule with a destination; None otherwise."""
    section = settings.alerts
    if not any(rule.enabled and section.destinations_of(rule) for rule in section.rules):
        return None
    from cowrieprocessor.alerts import run_once

    def hook(engine: Engine, settings: Settings, now: dt.datetime) -> AlertRunReport:
        return run_once(engine, settings, now=now)

    return hook


def _print_status(app_state: AppState, name: str | None, columns: str | None, fmt: OutputFormat) -> None:
    from cowrieprocessor.live import status

    rows = status.read(app_state.engine, dt.datetime.now(dt.UTC), name)
    output.print_rows(
        rows, fmt, title="followers", columns=STATUS_COLUMNS, pick=columns,
        empty_message="No follower has run on this database" + (f" under the name {name!r}." if name else "."),
        priority=("name", "state", "lag_seconds", "events_per_second", "dead_letters", "provider_errors"),
    )  # fmt: skip
    if not rows or any(r["state"] in ("gone", "failed") for r in rows):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("follow")(follow_command)
