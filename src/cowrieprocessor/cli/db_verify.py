"""``cowrieprocessor db verify``: the live database against the baseline recorded before the last upgrade.

Every baseline metric must be at least what it was (data may grow, never shrink); at v16 the three tiers
must also be whole: no session without its IP inventory row, no session whose stored enrichment names an
ASN without ``snapshot_asn``. Works after ``db downgrade --to v15`` too (the baseline table is kept).
Also renders the upgrade's per-phase progress on a terminal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import typer

from cowrieprocessor.cli import output
from cowrieprocessor.cli.context import state
from cowrieprocessor.cli.output import OutputFormat, ReportFormatOption
from cowrieprocessor.errors import UsageError

if TYPE_CHECKING:
    from rich.progress import TaskID
    from sqlalchemy import Connection, Engine

    from cowrieprocessor.storage import backfill


@dataclass(frozen=True)
class Check:
    metric: str
    baseline: int | str | None
    live: int | str | None
    intact: bool | None  # None: informational, not a loss either way
    note: str = ""


@dataclass(frozen=True)
class Verification:
    revision: str | None
    baseline_from: str | None
    baseline_recorded_at: str | None
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.intact is not False for c in self.checks)


def _latest_baseline(conn: Connection) -> tuple[dict[str, int], str | None, str | None]:
    from sqlalchemy import text

    rows = conn.execute(
        text(
            "SELECT metric, value, from_revision, recorded_at FROM migration_baseline "
            "WHERE id IN (SELECT MAX(id) FROM migration_baseline GROUP BY metric) ORDER BY id"
        )
    ).all()
    if not rows:
        return {}, None, None
    return {r.metric: int(r.value) for r in rows}, rows[-1].from_revision, utc_text(rows[-1].recorded_at)


def utc_text(value: object) -> str:
    """A stored time as ISO 8601 in UTC with its offset: SQLite hands raw SQL its naive UTC text."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return (moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)).isoformat()


def _tier_checks(conn: Connection) -> list[Check]:
    from sqlalchemy import text

    from cowrieprocessor.storage import backfill
    from cowrieprocessor.storage.legacy import LegacySQL

    sql = LegacySQL(conn.dialect.name)
    missing = (
        f"SELECT COUNT(*) FROM (SELECT q.snapshot_asn, {sql.snapshot_asn('q.r')} AS stored FROM "
        f"(SELECT snapshot_asn, {sql.root('enrichment', 'source_ip')} AS r FROM session_summaries "
        f"WHERE enrichment IS NOT NULL) q) s WHERE s.stored IS NOT NULL AND s.snapshot_asn IS NULL"
    )
    orphans = backfill.orphans(conn)
    no_snapshot = int(conn.execute(text(missing)).scalar_one())
    return [
        Check("orphan_sessions", 0, orphans, orphans == 0, "sessions whose source IP is not in ip_inventory"),
        Check(
            "sessions_missing_snapshot_asn",
            0,
            no_snapshot,
            no_snapshot == 0,
            "stored enrichment names an ASN, snapshot_asn is empty",
        ),
    ]


def verify(engine: Engine) -> Verification:
    """Compare the live database with the latest baseline (raises LookupError when there is none)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    from cowrieprocessor.storage import backfill

    with engine.connect() as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
        if not inspect(conn).has_table("migration_baseline"):
            raise LookupError("no baseline recorded: this database was never upgraded from v15")
        baseline, from_revision, recorded_at = _latest_baseline(conn)
        if not baseline:
            raise LookupError("the baseline table is empty")
        live = backfill.measure(conn)
        checks = [
            Check(
                name,
                value,
                live.get(name),
                live.get(name, -1) >= value,
                "" if live.get(name) == value else "grew since the baseline",
            )
            for name, value in baseline.items()
            if name != "schema_revision"
        ]
        checks.append(Check("schema_revision", from_revision, revision, None, "informational"))
        if inspect(conn).has_table("ip_inventory"):
            checks.extend(_tier_checks(conn))
    return Verification(revision, from_revision, recorded_at, checks)


def _status(check: Check) -> str:
    return {True: "intact", False: "NOT INTACT", None: "info"}[check.intact]


def print_verification(result: Verification, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        output.print_json({
            "ok": result.ok, "revision": result.revision, "baseline_from": result.baseline_from,
            "baseline_recorded_at": result.baseline_recorded_at,
            "checks": [{**asdict(c), "status": _status(c)} for c in result.checks],
        })  # fmt: skip
        return
    rows = [
        {"metric": c.metric, "baseline": c.baseline, "live": c.live, "status": _status(c), "note": c.note}
        for c in result.checks
    ]
    title = f"db verify: revision {result.revision} vs baseline of {result.baseline_recorded_at}"
    output.print_rows(rows, fmt, title=title, columns=list(rows[0]) if rows else None, priority=("metric", "status"))
    verdict = "[green]all metrics intact[/green]" if result.ok else "[bold red]data loss detected[/bold red]"
    output.console.print(verdict)


class ProgressRenderer:
    """Shows ``backfill`` progress as rich bars on stderr: rows done, rate, time left, per phase."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.description:<14}"), BarColumn(), TextColumn("{task.completed:>12,.0f} rows"),
            TextColumn("{task.fields[rate]:>14}"), TimeRemainingColumn(), console=output.err_console,
        )  # fmt: skip
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, p: backfill.Progress) -> None:
        if not self.tasks:
            self.progress.start()
        if p.phase not in self.tasks:
            self.tasks[p.phase] = self.progress.add_task(p.phase, total=p.total, rate="")
        rate = f"{p.done / p.elapsed:,.0f} rows/s" if p.elapsed > 0 and p.done else ""
        total = p.total if p.total is not None else (p.done if p.finished else None)
        self.progress.update(self.tasks[p.phase], completed=p.done, total=total, rate=rate)

    def close(self) -> None:
        if self.tasks:
            self.progress.stop()


def register(app: typer.Typer) -> None:
    """Add ``verify`` to the ``db`` group, and progress rendering for its upgrades on a terminal."""

    @app.callback()
    def _progress(ctx: typer.Context) -> None:
        if not output.err_console.is_terminal:
            return
        from cowrieprocessor.storage import backfill

        renderer = ProgressRenderer()
        manager = backfill.reporting(renderer)
        manager.__enter__()

        def _close() -> None:
            renderer.close()
            manager.__exit__(None, None, None)

        ctx.call_on_close(_close)

    @app.command("verify")
    def verify_command(ctx: typer.Context, fmt: ReportFormatOption = OutputFormat.table) -> None:
        """Compare the database with the baseline recorded before the last upgrade; exit 1 on any loss."""
        try:
            result = verify(state(ctx).raw_engine)
        except LookupError as exc:
            raise UsageError(str(exc), "verify compares with the baseline a v15 -> v16 upgrade records") from exc
        print_verification(result, fmt)
        if not result.ok:
            raise typer.Exit(1)
