"""``cowrieprocessor db ...``: schema upgrade, downgrade and status, verify and reconcile."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.markup import escape

from cowrieprocessor.cli import db_verify
from cowrieprocessor.cli.context import state
from cowrieprocessor.cli.output import OutputFormat, ReportFormatOption, console, err_console, print_json, print_rows
from cowrieprocessor.errors import UsageError

if TYPE_CHECKING:
    from cowrieprocessor.storage.schema import Change

app = typer.Typer(
    help="The database: upgrade, downgrade, status, verify (after an upgrade), reconcile (counters).",
    no_args_is_help=True,
)

T = TypeVar("T")


def _quietly(step: Callable[[], T]) -> T:
    """Run a migration step without SQLAlchemy's reflection warnings (e.g. that it skips the expression
    index during a batch rebuild): they are about its internals, not something the user can act on."""
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        return step()


def _target(to: str, *, base: bool = False) -> str:
    """A revision the user named, checked: ``head`` for upgrades, ``base`` (no schema) for downgrades."""
    from cowrieprocessor.storage import schema

    known = schema.known_revisions()
    if to not in (*known, "head" if not base else "base"):
        raise UsageError(f"unknown revision {to!r}", f"known: {', '.join(known)} (or {'base' if base else 'head'})")
    return known[-1] if to == "head" else to


@app.command()
def upgrade(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="Target revision (v15, v16, v17, ... or head).")] = "head",
    fmt: ReportFormatOption = OutputFormat.table,
    vacuum: Annotated[
        bool, typer.Option("--vacuum", help="SQLite: also VACUUM afterwards (gives freed pages back to the disk).")
    ] = False,
) -> None:
    """Create or upgrade the schema (one transaction: on failure nothing changes), then vacuum and analyse
    what it rewrote so queries are fast at once."""
    from cowrieprocessor.storage import schema

    target = _target(to)
    app_state = state(ctx)
    app_state.may_create = True
    engine = app_state.raw_engine
    before = schema.current_revision(engine)
    known = schema.known_revisions()
    if before is not None and before not in known:
        raise UsageError(f"the database is at {before}, newer than this program knows", "upgrade cowrieprocessor")
    if before is not None and known.index(before) > known.index(target):
        raise UsageError(
            f"the database is at {before}, already past {target}",
            f"to go back: `cowrieprocessor db downgrade --to {target}`",
        )
    change = _migrate(lambda: schema.migrate(engine, target, vacuum_sqlite=vacuum))
    _report(fmt, "upgrade", change)


@app.command()
def downgrade(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="Target revision, e.g. v15.")],
    fmt: ReportFormatOption = OutputFormat.table,
) -> None:
    """Roll the schema back to an earlier revision (v16 -> v15 removes the three tiers)."""
    from cowrieprocessor.storage import schema

    target = _target(to, base=True)
    engine = state(ctx).raw_engine
    before = schema.current_revision(engine)
    known = schema.known_revisions()
    if before is None:
        raise UsageError("the database has no schema to downgrade")
    if before in known and target in known and known.index(before) < known.index(target):
        raise UsageError(f"the database is at {before}, before {target}", f"`cowrieprocessor db upgrade --to {target}`")
    change = _migrate(lambda: schema.migrate(engine, target, down=True))
    _report(fmt, "downgrade", change)


@app.command()
def status(ctx: typer.Context, fmt: ReportFormatOption = OutputFormat.table) -> None:
    """Show where the database is, its schema revision and the row count of every table."""
    from rich.table import Table

    from cowrieprocessor.storage import schema

    result = schema.status(state(ctx).raw_engine)
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
    console.print(f"database: {result.url}", soft_wrap=True)
    console.print(f"revision: {result.revision or '(empty database)'}  (head: {result.head})")
    if result.revision != result.head:
        console.print("[yellow]not at head: run `cowrieprocessor db upgrade`[/yellow]")
    table = Table(title="tables")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in result.tables.items():
        table.add_row(name, f"{count:,}")
    console.print(table)


def _migrate(run: Callable[[], Change]) -> Change:
    """Run a migration quietly; a failed vacuum/analyse after the committed change exits 1 with its remedy."""
    from cowrieprocessor.storage import maintenance

    try:
        return _quietly(run)
    except maintenance.MaintenanceError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc


def _report(fmt: OutputFormat, action: str, change: Change) -> None:
    if fmt is OutputFormat.json:
        report: dict[str, object] = {"action": action, "from": change.before, "to": change.after}
        report["maintenance"] = [s.as_json() for s in change.maintenance]
        if change.sqlite_free_bytes is not None:
            report["sqlite_free_bytes"] = change.sqlite_free_bytes
        print_json(report)
        return
    if change.before == change.after:
        console.print(f"{action}: already at {change.after}")
    else:
        console.print(f"{action}: {change.before or '(empty)'} -> {change.after}")
    for step in change.maintenance:
        sizes = ""
        if step.size_before is not None and step.size_after is not None:
            sizes = f"  ({step.size_before / 2**20:,.0f} MiB -> {step.size_after / 2**20:,.0f} MiB)"
        tables = step.statement.removeprefix("ANALYZE ").split(", ")
        what = f"ANALYZE of {len(tables)} other tables" if len(tables) > 1 else step.statement  # JSON: all
        console.print(f"  ready: {what} in {step.seconds:.1f} s{sizes}")
    if change.sqlite_free_bytes and change.sqlite_free_bytes >= 2**20:  # a mebibyte or more is worth a word
        console.print(
            f"  {change.sqlite_free_bytes / 2**20:,.0f} MiB of the file are free pages, reused by later writes;"
            " `db upgrade --vacuum` gives them back to the disk (it copies the whole database)."
        )


@app.command()
def reconcile(
    ctx: typer.Context,
    fix: Annotated[bool, typer.Option("--fix", help="Repair every counter from the sessions.")] = False,
    fmt: ReportFormatOption = OutputFormat.table,
) -> None:
    """Recompute the inventory counters from the sessions and show the drift (exit 1 above 5 %)."""
    from cowrieprocessor.tiers import reconcile as reconcile_counters

    engine = state(ctx).engine
    drifts = reconcile_counters.measure(engine)
    if fix:
        reconcile_counters.fix(engine)
        after = reconcile_counters.measure(engine)
    rows = [d.as_json() for d in drifts]
    if fmt is OutputFormat.json:
        print_json({"counters": rows, "fixed": fix, "after_fix": [d.as_json() for d in after] if fix else None})
    else:
        shown = [{**row, "drift": f"{row['drift']:.2%}", "ok": "yes" if row["ok"] else "NO"} for row in rows]
        print_rows(shown, fmt, title="counter drift" + (" (before --fix)" if fix else ""),
                   columns=["counter", "rows", "rows_wrong", "drift", "ok"])  # fmt: skip
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
