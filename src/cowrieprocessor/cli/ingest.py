"""``cowrieprocessor ingest PATH...`` and ``cowrieprocessor dead-letters list|redrive``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from cowrieprocessor.cli import enrich
from cowrieprocessor.cli import report as report_cli
from cowrieprocessor.cli.context import AppState, state
from cowrieprocessor.cli.output import OutputFormat, console, err_console, print_json, print_rows, safe_text
from cowrieprocessor.ingestion import deadletters, sources
from cowrieprocessor.ingestion.pipeline import IngestStats, ingest
from cowrieprocessor.samples import sample_paths

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="table for people, json for machines.", case_sensitive=False)
]


def ingest_command(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None, typer.Argument(help="Log files, directories (recursive) or globs.", show_default=False)
    ] = None,
    sensor: Annotated[
        str | None, typer.Option("--sensor", help="Sensor name for every event (default: each event's own).")
    ] = None,
    no_enrich: Annotated[bool, typer.Option("--no-enrich", help="Do not enrich the new sessions afterwards.")] = False,
    batch: Annotated[
        int | None,
        typer.Option("--batch", min=100, help="Events per transaction (default: 10,000 SQLite, 30,000 PostgreSQL)."),
    ] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Also ingest the bundled sample logs (a first look, no logs needed).")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Read Cowrie JSON logs (plain, .gz, .bz2) into the database: idempotent and incremental."""
    paths = list(paths or []) + ([str(p) for p in sample_paths()] if sample else [])
    if not paths:
        err_console.print("[red]error:[/red] give log files, directories or globs (or --sample)")
        raise typer.Exit(2)
    app_state = state(ctx)
    app_state.ready_engine(create=True)
    show_progress = fmt is OutputFormat.table and err_console.is_terminal
    if show_progress:
        stats, session_ids = _with_progress(app_state, paths, sensor, batch)
    else:
        stats, session_ids = ingest(
            app_state.engine, paths, sensor=sensor, batch_events=batch, snapshot_hours=_snapshot_hours(app_state)
        )
    enrichment = None if no_enrich else enrich.enrich_after_ingest(app_state, session_ids)
    _print_summary(stats, fmt, enrichment)
    if sample:  # the README's main command ends with the sample's report
        report_cli.write_sample_report(app_state.engine, quiet_stdout=fmt is OutputFormat.json)
    if stats.missing:
        raise typer.Exit(1)


def _with_progress(
    app_state: AppState, paths: list[str], sensor: str | None, batch: int | None
) -> tuple[IngestStats, list[str] | None]:
    files, _ = sources.discover(paths)
    total = sum(p.stat().st_size for p in files)
    columns = (
        TextColumn("ingest"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TextColumn("{task.fields[events]:,} events, {task.fields[rate]:,.0f} events/s"), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("ingest", total=total, events=0, rate=0.0)
        seen = [0]

        def advance(nbytes: int, nevents: int) -> None:
            seen[0] += nevents
            elapsed = progress.tasks[0].elapsed or 0.0
            progress.update(task, advance=nbytes, events=seen[0], rate=seen[0] / elapsed if elapsed else 0.0)

        return ingest(
            app_state.engine, paths, sensor=sensor, progress=advance, batch_events=batch,
            snapshot_hours=_snapshot_hours(app_state),
        )  # fmt: skip


def _snapshot_hours(app_state: AppState) -> float:
    """Live sessions of IPs enriched already get their snapshot at ingest, within the pass's live window."""
    return app_state.settings.enrich.live_snapshot_hours


def _print_summary(stats: IngestStats, fmt: OutputFormat, enrichment: dict[str, Any] | None) -> None:
    data = stats.as_dict()
    if fmt is OutputFormat.json:
        print_json({**data, "enrichment": enrichment})
        return
    table = Table(title="ingest", show_header=False)
    table.add_column("what")
    table.add_column("value")
    rows = [
        ("files", f"{stats.files_seen} seen, {stats.files_read} read, {stats.files_unchanged} unchanged, "
                  f"{stats.files_restarted} replaced/truncated, {stats.files_empty} empty"),
        ("bytes on disk", f"{stats.bytes_on_disk:,}"),
        ("events", f"{stats.events_read:,} read, {stats.events_new:,} new, {stats.events_duplicate:,} already stored"),
        ("unknown eventids", f"{stats.unknown_eventids:,}"),
        ("sessions", f"{stats.sessions_new:,} new ({stats.sessions_snapshotted:,} with their snapshot), "
                     f"{stats.sessions_updated:,} updated"),
        ("dead letters", f"{stats.dead_letters:,} (split lines joined: {stats.lines_joined})"),
        ("time", f"{stats.seconds:.1f} s, {data['events_per_second']:,} events/s, {data['mb_per_second']} MB/s"),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for arg in stats.missing:
        err_console.print(f"[red]no such file, directory or match:[/red] {safe_text(arg)}")
    if stats.sessions_mixed_sensors:
        examples = ", ".join(safe_text(sid) for sid in stats.mixed_sensor_examples)
        err_console.print(
            f"[yellow]{stats.sessions_mixed_sensors:,} session(s) hold events from more than one sensor[/yellow] "
            f"(e.g. {examples}): two sensors' sessions share an id (Cowrie's ids are 48 random bits), or one "
            "sensor was ingested under two names. Each such summary mixes both."
        )
    if enrichment is not None:
        enrich.print_report(enrichment)


dead_app = typer.Typer(help="Input that could not be ingested: list it, re-drive it.", no_args_is_help=True)


@dead_app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="pending, joined, resolved, redriven or all.")] = "pending",
    reason: Annotated[str | None, typer.Option(help="Only this reason (e.g. invalid_json).")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Dead letters with reason, source file, byte offset and a preview of the bytes."""
    rows = deadletters.list_dead_letters(
        state(ctx).engine, status=None if status == "all" else status, reason=reason, limit=limit
    )
    print_rows(rows, fmt, title="dead letters", empty_message="No dead letters.")


@dead_app.command("redrive")
def redrive_command(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Option("--id", help="Only these ids (repeatable).")] = None,
    reason: Annotated[str | None, typer.Option(help="Only this reason.")] = None,
    sensor: Annotated[str | None, typer.Option(help="Sensor name for re-driven events.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Parse pending dead letters again; ingest what is now valid, join split-line halves."""
    result = deadletters.redrive(state(ctx).engine, ids=ids, reason=reason, sensor=sensor)
    data = {
        "examined": result.examined, "redriven": result.redriven, "joined": result.joined,
        "still_pending": result.still_pending, "events_new": result.events_new,
    }  # fmt: skip
    if fmt is OutputFormat.json:
        print_json(data)
    else:
        console.print(", ".join(f"{k}: {v}" for k, v in data.items()))


def register(app: typer.Typer) -> None:
    """Add ``ingest`` and the ``dead-letters`` group to ``app``."""
    app.command("ingest")(ingest_command)
    app.add_typer(dead_app, name="dead-letters")
