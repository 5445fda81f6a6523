"""``cowrieprocessor db verify``: prints :func:`cowrieprocessor.storage.verify.verify`'s report (exit 1 on a
loss); also renders the upgrade's per-phase progress on a terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cowrieprocessor.cli import output
from cowrieprocessor.cli.context import state
from cowrieprocessor.cli.output import OutputFormat, ReportFormatOption

if TYPE_CHECKING:
    from rich.progress import TaskID

    from cowrieprocessor.storage import backfill
    from cowrieprocessor.storage.verify import Verification


def print_verification(result: Verification, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        output.print_json(result.as_json())
        return
    rows = [
        {"metric": c.metric, "baseline": c.baseline, "live": c.live, "status": c.status, "note": c.note}
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
        from cowrieprocessor.storage.verify import verify

        result = verify(state(ctx).raw_engine)
        print_verification(result, fmt)
        if not result.ok:
            raise typer.Exit(1)
