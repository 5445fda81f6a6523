"""``cowrieprocessor ingest PATH...`` and ``cowrieprocessor dead-letters list|redrive``."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cowrieprocessor.cli import enrich, output
from cowrieprocessor.cli.context import AppState, state
from cowrieprocessor.cli.output import ColumnsOption, FormatOption, OutputFormat, ReportFormatOption
from cowrieprocessor.errors import InputNotFound

if TYPE_CHECKING:
    from cowrieprocessor.ingestion.pipeline import IngestStats


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
        typer.Option(
            "--batch",
            min=100,
            max=10_000_000,
            help="Events per transaction (default: 10,000 SQLite, 30,000 PostgreSQL).",
        ),
    ] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Also ingest the bundled sample logs (a first look, no logs needed).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing but warnings and errors (for cron); see the exit code.")
    ] = False,
    fmt: ReportFormatOption = OutputFormat.table,
) -> None:
    """Read Cowrie JSON logs (plain, .gz, .bz2) into the database: idempotent and incremental.

    Then enriches the new sessions' IPs (unless --no-enrich) and prints what it did, where the database is,
    and what to ask next. Exit 1 when an argument matched no file (the others are still read).
    """
    from cowrieprocessor.ingestion import logfiles
    from cowrieprocessor.ingestion.pipeline import ingest
    from cowrieprocessor.samples import sample_paths

    paths = list(paths or []) + ([str(p) for p in sample_paths()] if sample else [])
    if not paths:
        raise InputNotFound("give log files, directories or globs (or --sample)", "e.g. ingest /var/log/cowrie")
    found = logfiles.discover_all(paths)
    files = found.files
    if not files:  # before a database is created or opened: nothing to read is a usage error
        problems = [_missing(m) for m in found.missing] + [f"{arg}: {why}" for arg, why in found.unreadable]
        raise InputNotFound("; ".join(problems))
    app_state = state(ctx)
    app_state.quiet = quiet
    app_state.ready_engine(create=True)
    show_progress = fmt is OutputFormat.table and output.err_console.is_terminal and not quiet
    if show_progress:
        stats = _with_progress(app_state, paths, sensor, batch, files)
    else:
        stats = ingest(
            app_state.engine, paths, sensor=sensor, batch_events=batch, snapshot_hours=_snapshot_hours(app_state)
        )
    enrichment = None if no_enrich else enrich.enrich_after_ingest(app_state, stats.session_ids)
    from cowrieprocessor.cli import first_look

    attribution = None if enrichment is None else first_look.summary(app_state.engine)
    if enrichment is not None:
        enrichment["attribution"] = attribution
    _print_summary(app_state, stats, fmt, enrichment, quiet=quiet)
    people = fmt is not OutputFormat.json and not quiet
    if people and attribution is not None:
        first_look.print_summary(attribution)
    if sample:  # the README's main command ends with the sample's report
        from cowrieprocessor.cli import report as report_cli

        report_cli.write_sample_report(app_state.engine, quiet_stdout=fmt is OutputFormat.json, silent=quiet)
    if people:
        _next_steps(stats, enrichment)
    if stats.missing or stats.unreadable:
        raise typer.Exit(1)


def _missing(arg: str) -> str:
    """Why an argument matched nothing, in the user's terms (what cannot be read says why itself)."""
    if Path(arg).is_dir():
        return f"{arg}: a directory without Cowrie logs (files named *.json*)"
    return f"no such file, directory or glob match: {arg}"


def _with_progress(
    app_state: AppState, paths: list[str], sensor: str | None, batch: int | None, files: list[Path]
) -> IngestStats:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    from cowrieprocessor.ingestion.pipeline import ingest

    total = sum(_size(p) for p in files)
    columns = (
        TextColumn("ingest"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TextColumn("{task.fields[events]:,} events, {task.fields[rate]:,.0f} events/s"), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=output.err_console, transient=True) as progress:
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


def _size(path: Path) -> int:
    """A file's size for the progress bar; 0 when it cannot be examined (the run reports it as unreadable)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _snapshot_hours(app_state: AppState) -> float:
    """Live sessions of IPs enriched already get their snapshot at ingest, within the pass's live window."""
    return app_state.settings.enrich.live_snapshot_hours


def _print_summary(
    app_state: AppState, stats: IngestStats, fmt: OutputFormat, enrichment: dict[str, Any] | None, *, quiet: bool
) -> None:
    data = stats.as_dict()
    if fmt is OutputFormat.json:
        output.print_json({**data, "database": _where(app_state), "enrichment": enrichment})
        return
    for arg in stats.missing:
        output.err_console.print(f"[red]{output.safe_text(_missing(arg))}[/red]")
    for item in stats.unreadable:
        output.err_console.print(
            f"[red]cannot read[/red] {output.safe_text(item['path'])}: {output.safe_text(item['error'])} (skipped)"
        )
    if stats.sessions_mixed_sensors:
        examples = ", ".join(output.safe_text(sid) for sid in stats.mixed_sensor_examples)
        output.err_console.print(
            f"[yellow]{stats.sessions_mixed_sensors:,} session(s) hold events from more than one sensor[/yellow] "
            f"(e.g. {examples}): two sensors' sessions share an id (Cowrie's ids are 48 random bits), or one "
            "sensor was ingested under two names. Each such summary mixes both."
        )
    if quiet:
        return
    from rich.table import Table

    output.console.print(f"database: {output.safe_text(_where(app_state))}", soft_wrap=True)
    table = Table(title="ingest", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("value")
    snapshots = stats.sessions_snapshotted + (enrichment["sessions_snapshotted"] if enrichment else 0)
    rows = [
        ("files", f"{stats.files_seen} seen, {stats.files_read} read, {stats.files_unchanged} unchanged, "
                  f"{stats.files_restarted} replaced/truncated, {stats.files_empty} empty"),
        ("events", f"{stats.events_read:,} read ({stats.bytes_on_disk:,} bytes on disk), {stats.events_new:,} new, "
                   f"{stats.events_duplicate:,} already stored, {stats.unknown_eventids:,} of unknown eventid"),
        ("sessions", f"{stats.sessions_new:,} new, {stats.sessions_updated:,} updated"),
        ("snapshots", f"{snapshots:,} sessions got their attack-time snapshot ({stats.sessions_snapshotted:,} at "
                      f"ingest, {snapshots - stats.sessions_snapshotted:,} by enrichment)"),
        ("dead letters", f"{stats.dead_letters:,} (split lines joined: {stats.lines_joined}, "
                         f"lines pending: {stats.lines_pending})"),
        ("unreadable", f"{len(stats.unreadable):,} files or directories (listed above)" if stats.unreadable else "0"),
        ("time", f"{stats.seconds:.1f} s, {data['events_per_second']:,} events/s, {data['mb_per_second']} MB/s"),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    output.console.print(table)
    if enrichment is not None:
        enrich.print_report(enrichment, snapshots=False)


def _where(app_state: AppState) -> str:
    from sqlalchemy.engine import make_url

    from cowrieprocessor.storage import dialects

    url = make_url(app_state.db_url)
    return url.database or "" if dialects.of(url.get_backend_name()).files else url.render_as_string(hide_password=True)


def _next_steps(stats: IngestStats, enrichment: dict[str, Any] | None) -> None:
    steps = ["cowrieprocessor query overview", "cowrieprocessor query persistent-ips --min-days 1"]
    # the embedded dataset has AS numbers (#22): only a run with it switched off and nothing else lacks them
    asn_sources = {"embedded", "maxmind", "routing_history", "cymru"} & set(enrichment["sources"] if enrichment else ())
    if asn_sources or enrichment is None:
        steps.append("cowrieprocessor query top-asns")
    if stats.dead_letters:
        steps.append("cowrieprocessor dead-letters list")
    if enrichment is None:
        steps.append("cowrieprocessor enrich")
    # each step is a command to copy: one to a line, never split between lines
    output.console.print("next: " + "\n      ".join(f"[bold]{s}[/bold]" for s in steps), soft_wrap=True)
    if enrichment is not None and not asn_sources:
        output.console.print(
            "[dim]no ASN source is on, so IPs have no AS numbers: keep [providers.embedded] on, add "
            + output.safe_text("[providers.maxmind] (.mmdb files) or enable [providers.cymru] (README, Configuration)")
            + "[/dim]"
        )


dead_app = typer.Typer(help="Input that could not be ingested: list it, re-drive it.", no_args_is_help=True)


class DeadStatus(enum.StrEnum):
    pending = "pending"
    joined = "joined"
    resolved = "resolved"
    redriven = "redriven"
    all = "all"


@dead_app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[DeadStatus, typer.Option(help="Only dead letters in this state.")] = DeadStatus.pending,
    reason: Annotated[str | None, typer.Option(help="Only this reason (e.g. invalid_json).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000_000, help="At most this many, oldest first.")] = 100,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Dead letters with reason, source file, byte offset and a preview of the bytes.

    Columns: id, status, reason, source, offset, bytes, detail, preview, created_at.
    """
    from cowrieprocessor.ingestion import deadletters

    rows = deadletters.list_dead_letters(
        state(ctx).engine, status=None if status is DeadStatus.all else status.value, reason=reason, limit=limit
    )
    names = ["id", "status", "reason", "source", "offset", "bytes", "detail", "preview", "created_at"]
    output.print_rows(
        rows, fmt, title="dead letters", empty_message="No dead letters.", columns=names, pick=columns,
        priority=("id", "reason", "source", "offset", "detail", "preview"),
    )  # fmt: skip


@dead_app.command("redrive")
def redrive_command(
    ctx: typer.Context,
    ids: Annotated[
        list[int] | None, typer.Option("--id", min=1, max=2**63 - 1, help="Only these ids (repeatable).")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Only this reason.")] = None,
    sensor: Annotated[str | None, typer.Option(help="Sensor name for re-driven events.")] = None,
    fmt: ReportFormatOption = OutputFormat.table,
) -> None:
    """Parse pending dead letters again; ingest what is now valid, join split-line halves."""
    from cowrieprocessor.ingestion import deadletters

    result = deadletters.redrive(state(ctx).engine, ids=ids, reason=reason, sensor=sensor)
    data = {
        "examined": result.examined, "redriven": result.redriven, "joined": result.joined,
        "still_pending": result.still_pending, "events_new": result.events_new,
    }  # fmt: skip
    if not result.examined:
        output.err_console.print("no pending dead letter matches (`dead-letters list` shows them)")
    if fmt is OutputFormat.json:
        output.print_json(data)
    else:
        output.console.print(", ".join(f"{k}: {v}" for k, v in data.items()))


def register(app: typer.Typer) -> None:
    """Add ``ingest`` and the ``dead-letters`` group to ``app``."""
    app.command("ingest")(ingest_command)
    app.add_typer(dead_app, name="dead-letters")
