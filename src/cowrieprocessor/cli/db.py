"""``cowrieprocessor db ...``: schema upgrade, downgrade and status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cowrieprocessor.cli import db_verify
from cowrieprocessor.cli.context import state
from cowrieprocessor.cli.output import OutputFormat, console, err_console, print_json
from cowrieprocessor.storage import maintenance, schema
from cowrieprocessor.tiers import reconcile as reconcile_counters

app = typer.Typer(help="Manage the database schema: upgrade, downgrade, status.", no_args_is_help=True)

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="table for people, json for machines.", case_sensitive=False)
]


@app.command()
def upgrade(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="Target revision (v15, v16, v17, ... or head).")] = "head",
    fmt: FormatOption = OutputFormat.table,
    vacuum: Annotated[
        bool, typer.Option("--vacuum", help="SQLite: also VACUUM afterwards (gives freed pages back to the disk).")
    ] = False,
) -> None:
    """Create or upgrade the schema (one transaction: on failure nothing changes), then vacuum and analyse
    what it rewrote so queries are fast at once."""
    change = _migrate(lambda: schema.migrate(state(ctx).engine, to, vacuum_sqlite=vacuum))
    _report(fmt, "upgrade", change)


@app.command()
def downgrade(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="Target revision, e.g. v15.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Roll the schema back to an earlier revision (v16 -> v15 removes the three tiers)."""
    try:
        change = _migrate(lambda: schema.migrate(state(ctx).engine, to, down=True))
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    _report(fmt, "downgrade", change)


@app.command()
def status(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Show the schema revision and the row count of every table."""
    result = schema.status(state(ctx).engine)
    if fmt is OutputFormat.json:
        print_json(
            {
                "database": result.url,
                "backend": result.backend,
                "revision": result.revision,
                "head": result.head,
                "up_to_date": result.revision == result.head,
                "tables": result.tables,
            }
        )
        return
    console.print(f"database: {result.url}")
    console.print(f"revision: {result.revision or '(empty database)'}  (head: {result.head})")
    table = Table(title="tables")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in result.tables.items():
        table.add_row(name, f"{count:,}")
    console.print(table)


def _migrate(run: Callable[[], schema.Change]) -> schema.Change:
    try:
        return run()
    except maintenance.MaintenanceError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc


def _report(fmt: OutputFormat, action: str, change: schema.Change) -> None:
    if fmt is OutputFormat.json:
        report: dict[str, object] = {"action": action, "from": change.before, "to": change.after}
        report["maintenance"] = [s.as_json() for s in change.maintenance]
        if change.sqlite_free_bytes is not None:
            report["sqlite_free_bytes"] = change.sqlite_free_bytes
        print_json(report)
        return
    console.print(f"{action}: {change.before or '(empty)'} -> {change.after}")
    for step in change.maintenance:
        sizes = ""
        if step.size_before is not None and step.size_after is not None:
            sizes = f"  ({step.size_before / 2**20:,.0f} MiB -> {step.size_after / 2**20:,.0f} MiB)"
        tables = step.statement.removeprefix("ANALYZE ").split(", ")
        what = f"ANALYZE of {len(tables)} other tables" if len(tables) > 1 else step.statement  # JSON: all
        console.print(f"  ready: {what} in {step.seconds:.1f} s{sizes}")
    if change.sqlite_free_bytes:
        console.print(
            f"  {change.sqlite_free_bytes / 2**20:,.0f} MiB of the file are free pages, reused by later writes;"
            " `db upgrade --vacuum` gives them back to the disk (it copies the whole database)."
        )


@app.command()
def reconcile(
    ctx: typer.Context,
    fix: Annotated[bool, typer.Option("--fix", help="Repair every counter from the sessions.")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Recompute the inventory counters from the sessions and show the drift (exit 1 above 5 %)."""
    engine = state(ctx).engine
    drifts = reconcile_counters.measure(engine)
    if fix:
        reconcile_counters.fix(engine)
        after = reconcile_counters.measure(engine)
    rows = [d.as_json() for d in drifts]
    if fmt is OutputFormat.json:
        print_json({"counters": rows, "fixed": fix, "after_fix": [d.as_json() for d in after] if fix else None})
    else:
        table = Table(title="counter drift" + (" (before --fix)" if fix else ""))
        for column in ("counter", "rows", "rows_wrong", "drift", "ok"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["counter"], f"{row['rows']:,}", f"{row['rows_wrong']:,}", f"{row['drift']:.2%}",
                          "yes" if row["ok"] else "[red]NO[/red]")  # fmt: skip
        console.print(table)
        if fix:
            worst = max((d.drift for d in after), default=0.0)
            console.print(f"after --fix: largest drift {worst:.2%}")
    remaining = after if fix else drifts
    if any(d.drift > reconcile_counters.THRESHOLD for d in remaining):
        raise typer.Exit(1)


@app.command("classify-asns")
def classify_asns(ctx: typer.Context) -> None:
    """Type the ASNs that have no type yet from the stored enrichment, with the rule new ASNs get
    (the v15 -> v16 upgrade does this itself; databases upgraded before it did not)."""
    from cowrieprocessor.storage import asn_types

    engine = state(ctx).ready_engine()
    with engine.begin() as conn:
        typed = asn_types.classify_asns(conn)
    console.print(f"classified {typed:,} ASNs without a type")


db_verify.register(app)
