"""``cowrieprocessor enrich``: run the enrichment pass over the unique IPs that need it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cowrieprocessor.cli.context import AppState, state
from cowrieprocessor.cli.output import OutputFormat, ReportFormatOption, console, err_console, print_json, safe_text

if TYPE_CHECKING:
    from cowrieprocessor.tiers.run import EnrichRun


def _run(app_state: AppState, *, refresh_stale: bool = False, limit: int | None = None) -> EnrichRun:
    from cowrieprocessor.tiers.run import run_enrichment

    return run_enrichment(app_state.engine, app_state.settings, refresh_stale=refresh_stale, limit=limit)


def enrich_after_ingest(app_state: AppState, session_ids: list[str] | None) -> dict[str, Any]:
    """Called by ``ingest`` (unless ``--no-enrich``): the new sessions' IPs are exactly the ones the pass
    finds (no inventory data, or no snapshot), so the session list is not needed to select them. The run
    as ``ingest`` prints it (its JSON form)."""
    return _run(app_state).as_json()


def enrich_command(
    ctx: typer.Context,
    refresh_stale: Annotated[
        bool, typer.Option("--refresh-stale", help="Also re-ask sources whose answer expired (active IPs only).")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, max=2**62, help="Enrich at most N IPs in this run.")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=256, help="Worker processes (PostgreSQL; SQLite has one writer).")
    ] = 1,
    artifacts: Annotated[
        Path | None,
        typer.Option(
            "--artifacts", file_okay=False, exists=True, help="Cowrie's downloads directory: files' size and type."
        ),
    ] = None,
    no_artifacts: Annotated[
        bool, typer.Option("--no-artifacts", help="Skip files, URLs and payload hosts (docs/malware.md).")
    ] = False,
    fmt: ReportFormatOption = OutputFormat.table,
) -> None:
    """Enrich each unique IP once through the source cascade; write the three tiers and snapshots.

    Also, unless --no-artifacts: each downloaded file, URL and payload host once per artifact source."""
    app_state = state(ctx)
    engine = app_state.ready_engine()
    if workers > 1 and engine.dialect.name != "postgresql":
        err_console.print("[yellow]--workers needs PostgreSQL; SQLite runs one worker[/yellow]")
        workers = 1
    artifact_pass = None
    unavailable: dict[str, str] = {}
    if not no_artifacts:  # #19: inventories and host names before the IP pass, artifact sources after it
        from cowrieprocessor.tiers.run import build_artifact_pass

        artifact_pass = build_artifact_pass(app_state.engine, app_state.settings, unavailable, directory=artifacts)
    try:
        if artifact_pass is not None:
            artifact_pass.prepare()
        if workers > 1:
            from cowrieprocessor.tiers.run import run_workers

            run = run_workers(app_state.db_url, app_state.settings, workers, refresh_stale=refresh_stale, limit=limit)
        else:
            run = _run(app_state, refresh_stale=refresh_stale, limit=limit)
        data = run.as_json()
        if artifact_pass is not None:
            data["artifacts"] = {**artifact_pass.finish().as_json(), "unavailable": unavailable}
    finally:
        if artifact_pass is not None:
            artifact_pass.close()
    if fmt is OutputFormat.json:
        print_json(data)
        return
    print_report(data)
    if "artifacts" in data:
        print_artifacts(data["artifacts"])


def print_answers(outcomes: dict[str, dict[str, int]], title: str) -> None:
    """Per source asked: how many answers were found, not found, errors, skipped (nothing when none was asked)."""
    from rich.table import Table

    asked = {s: c for s, c in outcomes.items() if any(c.values())}
    if not asked:
        return
    table = Table(title=title)
    for column in ("source", "found", "not_found", "error", "skipped"):
        table.add_column(column, justify="right" if column != "source" else "left")
    for source, counts in asked.items():
        table.add_row(source, *(f"{counts.get(k, 0):,}" for k in ("found", "not_found", "error", "skipped")))
    console.print(table)


def print_report(data: dict[str, Any], *, snapshots: bool = True) -> None:
    """The pass in one line, the sources' answers when any source was asked, and which sources ran.

    Sources that are not configured are named in one line on stdout, not as a warning per source on stderr:
    a cron job's mail stays empty on a normal run; ``lookup`` says why each one is off.
    """

    taken = (
        f"{data['sessions_snapshotted']:,} session snapshots ({data['routed_snapshots']:,} from routing history); "
        if snapshots  # after ingest, its own table has them
        else ""
    )
    console.print(
        f"enriched {data['ips_enriched']:,} IPs ({data['bogons']:,} bogons) in {data['seconds']:.1f}s; {taken}"
        f"{data['history_windows_opened']:,} ASN history windows opened"
    )
    print_answers(data["outcomes"], "source answers")
    # "no key", "no paths": a source left off, said in one quiet line; anything else is a configured source
    # that cannot run - a warning on every run, since something is wrong that the operator should fix.
    off = [name for name, reason in data["unavailable"].items() if reason.startswith("no ")]
    for name, reason in data["unavailable"].items():
        if name not in off:
            err_console.print(
                f"[yellow]warning:[/yellow] {name} is configured but cannot run: {safe_text(reason)}", soft_wrap=True
            )
    if off:
        console.print(
            f"[dim]sources: {', '.join(data['sources'])}; not configured: {', '.join(off)} "
            "(`cowrieprocessor lookup 192.0.2.1` says why)[/dim]"
        )
    if data.get("ips_unanswered"):
        err_console.print(
            f"[yellow]{data['ips_unanswered']:,} IPs got no new answer[/yellow]: every source they need was skipped "
            "(daily budget spent, breaker open or paused) or failed; they are asked again by a later pass"
        )
    for holder, count in data.get("leases_taken_over", {}).items():
        err_console.print(f"took over the leases of {safe_text(holder)} (process gone): {count:,} IPs")
    for holder, lease in data.get("leased_elsewhere", {}).items():
        err_console.print(
            f"[yellow]{lease['ips']:,} IPs are leased by {safe_text(holder)}[/yellow] until {lease['until']} "
            "(another enrichment at work; a lease of a process that is gone ends then)"
        )


def print_artifacts(data: dict[str, Any]) -> None:
    """The artifact part of the run (#19): what it found and asked, and which artifact sources are off."""
    if not data["transfers"]:
        return  # no download or upload stored: nothing to say (a cron job's mail stays empty)
    console.print(
        f"artifacts: {data['files']:,} files, {data['urls']:,} URLs, {data['hosts']:,} payload hosts from "
        f"{data['transfers']:,} transfers; {data['hosts_resolved']:,} hosts resolved, "
        f"{data['addresses_new']:,} new addresses; {data['files_inspected']:,} files read from disk"
    )
    if data.get("busy"):
        console.print("artifact sources: another enrich is asking them now; this run asked none (the next one will)")
    print_answers(data["outcomes"], "artifact source answers")
    off = sorted(data.get("unavailable", {}))
    if off:
        console.print(f"[dim]artifact sources not configured: {safe_text(', '.join(off))} (docs/malware.md)[/dim]")


def register(app: typer.Typer) -> None:
    app.command("enrich")(enrich_command)
