"""``cowrieprocessor report``: the period's self-contained HTML page, its figures as JSON, or the digest of
what is new since the last digest of a name (Markdown for mail and chat, or JSON)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cowrieprocessor.cli.context import state
from cowrieprocessor.cli.options import parse_time
from cowrieprocessor.cli.output import console, err_console, print_json, safe_text

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cowrieprocessor.report import Period, Report

DEFAULT_OUT = "cowrieprocessor-report.html"


class ReportFormat(enum.StrEnum):
    html = "html"
    json = "json"
    markdown = "markdown"


def report_command(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Sessions from this time (ISO-8601, UTC). Default: 7 days before --until."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Sessions before this time. Default: just after the newest session.")
    ] = None,
    sensors: Annotated[list[str] | None, typer.Option("--sensor", help="Only this sensor (repeatable).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help=f"The HTML file to write (default ./{DEFAULT_OUT}).")
    ] = None,
    fmt: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            case_sensitive=False,
            help="html (a file; the default), json (figures), markdown (digest only; its default).",
            show_default=False,
        ),
    ] = None,
    since_last: Annotated[
        str | None,
        typer.Option("--since-last", help="Digest: what is new since the last digest of this NAME (then recorded)."),
    ] = None,
    run: Annotated[int | None, typer.Option("--run", min=1, help="With --since-last: show past run N again.")] = None,
) -> None:
    """The period's report as ONE self-contained HTML file (no server, no network), or a digest of what is new."""
    from cowrieprocessor.report import build_report, digest, resolve
    from cowrieprocessor.report.render import render_markdown

    app_state = state(ctx)
    engine = app_state.ready_engine()
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    if since_last is not None:
        if fmt is ReportFormat.html or out is not None or sensors:
            raise typer.BadParameter(
                "a digest is --format markdown or json, printed, for every sensor", param_hint="--since-last"
            )
        try:
            body = (
                digest.replay(engine, since_last, run)
                if run is not None
                else digest.next_digest(engine, since_last, since=start, until=end)
            )
        except digest.DigestError as exc:
            err_console.print(f"[red]error:[/red] {safe_text(exc)}")
            raise typer.Exit(2) from exc
        if fmt is ReportFormat.json:
            print_json(body)
        else:
            typer.echo(render_markdown(body), nl=False)
        return
    fmt = fmt or ReportFormat.html
    if run is not None:
        raise typer.BadParameter("--run replays a digest: give --since-last NAME too", param_hint="--run")
    if fmt is ReportFormat.markdown:
        raise typer.BadParameter("markdown is the digest's format: add --since-last NAME", param_hint="--format")
    try:
        period = resolve(engine, start, end, tuple(sensors or ()))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    report = build_report(engine, period)
    if fmt is ReportFormat.json:
        print_json(report_json(report))
        return
    path = write_report(report, out or Path(DEFAULT_OUT))
    console.print(
        f"report of {report.totals['sessions']:,} sessions, {_when(period.since)} to {_when(period.until)} UTC, "
        f"written to {safe_text(path)} ({path.stat().st_size / 1024:,.0f} KiB)",
        soft_wrap=True,
    )


def write_sample_report(engine: Engine, *, quiet_stdout: bool, silent: bool = False) -> Path:
    """The end of ``ingest --sample``: the sample's report, next to the database, and where it is (on stderr
    when stdout carries JSON; not at all when ``silent``, as ``--quiet`` asks)."""
    from cowrieprocessor.report import build_report, resolve

    report = build_report(engine, resolve(engine, None, None))
    path = write_report(report, Path(DEFAULT_OUT))
    if silent:
        return path
    say = err_console if quiet_stdout else console
    say.print(f"report of the sample written to {safe_text(path)}", soft_wrap=True)  # a path is never folded
    say.print("open it in a browser (`cowrieprocessor report --help` for other periods and the digest)")
    return path


def write_report(report: Report, out: Path) -> Path:
    """Render and write the page; a directory or an unwritable place is the user's to fix, not a traceback."""
    from cowrieprocessor.report import render_html

    html = render_html(report)
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        err_console.print(f"[red]error:[/red] cannot write {safe_text(out)}: {safe_text(exc.strerror or exc)}")
        raise typer.Exit(1) from exc
    return out.resolve()


def report_json(report: Report) -> dict[str, Any]:
    """Every figure of the page (not its drawings) for machines."""
    campaigns = {
        kind: [{**dataclasses.asdict(c), "anchor": c.anchor, "new": c.new} for c in rows]
        for kind, rows in report.campaigns["by_kind"].items()
    }
    nets = {k: v for k, v in report.networks.items() if k != "all_then"}
    return {
        "period": _period(report.period),
        "previous_period": _period(report.period.previous),
        "generated_at": report.generated_at,
        "totals": report.totals,
        "previous_totals": report.previous_totals,
        "headlines": [{**dataclasses.asdict(h), "change": h.change} for h in report.headlines],
        "networks": nets,
        "campaigns": campaigns,
        "new_keys": report.campaigns["new_keys"],
        "details": report.details,
        "ips": [{**r, "campaigns": [c.anchor for c in r["campaigns"]]} for r in report.ip_index],
        "payload_hosts": report.payloads,
        "sources": report.sources,
    }


def _period(period: Period) -> dict[str, Any]:
    return {"since": period.since, "until": period.until, "sensors": list(period.sensors), "bucket": period.bucket}


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def register(app: typer.Typer) -> None:
    """Add ``report`` to ``app``."""
    app.command("report")(report_command)
