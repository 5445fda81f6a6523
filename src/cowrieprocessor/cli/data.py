"""``cowrieprocessor data update|status``: keep the offline datasets current (the only commands that download).

``update`` fetches RouteViews prefix-to-AS files (by date, kept: routing history grows), DB-IP Lite ASN and
country (monthly) and, with ``MAXMIND_LICENSE_KEY``, GeoLite2; each is verified and switched to atomically
(``enrichment.updater``). ``status`` lists what is installed, with the embedded data as the floor, and warns
about datasets older than ``[data] max_age_days``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cowrieprocessor.cli import output
from cowrieprocessor.cli.context import state
from cowrieprocessor.cli.output import FormatOption, OutputFormat

if TYPE_CHECKING:
    from cowrieprocessor.enrichment import datasets

app = typer.Typer(
    help="Offline datasets: fetch current ones (the only network use), see their age.", no_args_is_help=True
)


@app.command("update")
def update_command(
    ctx: typer.Context,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Only this dataset (repeatable), e.g. dbip-asn-lite.")
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Download current datasets, verify each, and switch to it atomically; a failure changes nothing."""
    from cowrieprocessor.enrichment.updater import Updater

    settings = state(ctx).settings.data
    updater = Updater(settings)
    known = set(updater.steps())
    unknown = sorted(set(only or []) - known)
    if unknown:
        raise typer.BadParameter(f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        outcomes = updater.run(set(only) if only else None)
    except (OSError, ValueError) as exc:
        output.err_console.print(f"[red]error:[/red] {output.safe_text(exc)}")
        raise typer.Exit(2) from exc
    failed = [o for o in outcomes if o.status == "failed"]
    if fmt is OutputFormat.json:
        output.print_json({"directory": str(updater.directory), "datasets": [o.as_json() for o in outcomes]})
    else:
        output.print_rows([o.as_json() for o in outcomes], fmt, title=f"data update: {updater.directory}")
    if failed:
        output.err_console.print(f"[red]{len(failed)} dataset(s) not updated[/red]: the previous data stays in use.")
        raise typer.Exit(1)


def status_rows(settings: datasets.DataSettings, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Each installed dataset and the embedded floor: date, age in days, size, and whether it is old."""
    from cowrieprocessor.enrichment import datasets, embedded

    directory = settings.resolved_directory()
    manifest = datasets.read_manifest(directory)
    rows = []
    for name, entry in sorted(manifest["datasets"].items()):
        date = dt.date.fromisoformat(str(entry["date"]))
        files = [directory / f for f in entry.get("files", [])]
        rows.append(
            {
                "dataset": name,
                "date": date.isoformat(),
                "age_days": datasets.age_days(date, today),
                "bytes": sum(f.stat().st_size for f in files if f.is_file()),
                "files": len(files) if "snapshots" not in entry else int(entry["snapshots"]),
                "present": all(f.is_file() for f in files),
            }
        )
    record = embedded.manifest()
    floor = dt.date.fromisoformat(str(record["data_date"]))
    rows.append(
        {
            "dataset": "embedded (floor)",
            "date": floor.isoformat(),
            "age_days": datasets.age_days(floor, today),
            "bytes": sum(int(f["bytes"]) for f in record["files"].values()),
            "files": len(record["files"]),
            "present": True,
        }
    )
    for row in rows:
        row["old"] = row["age_days"] > settings.max_age_days
    if len(rows) > 1:  # the floor's age matters only while nothing newer is installed
        rows[-1]["old"] = False
    return rows


@app.command("status")
def status_command(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Installed datasets with their date, age and size; warns about those older than [data] max_age_days."""
    settings = state(ctx).settings.data
    try:
        rows = status_rows(settings)
    except ValueError as exc:
        output.err_console.print(f"[red]error:[/red] {output.safe_text(exc)}")
        raise typer.Exit(2) from exc
    directory = settings.resolved_directory()
    if fmt is OutputFormat.json:
        output.print_json({"directory": str(directory), "max_age_days": settings.max_age_days, "datasets": rows})
        return
    output.print_rows(rows, fmt, title=f"datasets in {directory}")
    if fmt is OutputFormat.table:
        if len(rows) == 1:
            output.console.print(
                "Only the embedded data is installed: `cowrieprocessor data update` fetches current data."
            )
        for row in rows:
            if row["old"]:
                output.err_console.print(
                    f"[yellow]warning:[/yellow] {row['dataset']} is {row['age_days']} days old "
                    f"(more than {settings.max_age_days:g}): run `cowrieprocessor data update`"
                )
            if not row["present"]:
                output.err_console.print(
                    f"[yellow]warning:[/yellow] {row['dataset']}: files missing; run `data update`"
                )


def register(root: typer.Typer) -> None:
    """Add the ``data`` group to ``root``."""
    root.add_typer(app, name="data")
