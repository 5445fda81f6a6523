"""``query files``, ``query file SHA256``, ``query payload-hosts`` (#19): malware and the hosts that serve it.

A SHA-256 is 64 characters: a table row of hash + counts + verdict cannot fit 80 columns. The table format
gives each file two lines - the whole hash, then its figures and verdict - so nothing is ever cut; ``--columns``
or ``--format json|csv`` give one row per file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Annotated, Any

import typer

from cowrieprocessor.cli import output
from cowrieprocessor.cli.context import state
from cowrieprocessor.cli.options import MAX_LIMIT
from cowrieprocessor.cli.output import ColumnsOption, FormatOption, OutputFormat
from cowrieprocessor.cli.query import app

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
FILE_COLUMNS = (
    "sha256", "first_seen", "last_seen", "sessions", "ips", "asns", "downloads", "file_type", "detections",
    "label", "vt_first_submission", "status", "novel",
)  # fmt: skip
HOST_COLUMNS = (
    "host", "ip", "asn_then", "asn_now", "organization_now", "country_now", "first_resolved", "last_resolved",
    "files", "sessions", "urlhaus",
)  # fmt: skip


def _sha256(value: str) -> str:
    if not _SHA256.fullmatch(value.strip()):
        raise typer.BadParameter("a SHA-256 is 64 hexadecimal digits", param_hint="SHA256")
    return value.strip().lower()


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _verdict(row: Any) -> str:
    parts = []
    if row.detections:
        parts.append(f"VT {row.detections}")
    if row.label:
        parts.append(output.safe_text(row.label))
    if row.status != "known":
        parts.append(row.status)
    if row.novel:
        parts.append("[bold]novel[/bold]")
    return " · ".join(parts) or "-"


def _print_files(rows: list[Any], title: str) -> None:
    output.console.print(f"[bold]{title}[/bold]")
    for i, row in enumerate(rows, 1):
        output.console.print(f"{i:>3} {row.sha256}", soft_wrap=True)
        kind = f" · {output.safe_text(row.file_type)}" if row.file_type else ""
        output.console.print(
            f"    {row.sessions:,} sessions · {row.ips:,} IPs · {row.asns:,} ASNs · first {_when(row.first_seen)}{kind}"
        )
        output.console.print(f"    {_verdict(row)}")


@app.command("files")
def files_command(
    ctx: typer.Context,
    novel: Annotated[
        bool,
        typer.Option("--novel", help="Only files seen here before VirusTotal's first submission, or unknown to all."),
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_LIMIT, help="At most this many files.")] = 20,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Downloaded and uploaded files, most seen first, with their verdicts (run `enrich` first).

    Columns: sha256, first_seen, last_seen, sessions, ips, asns, downloads, file_type, detections, label,
    vt_first_submission, status (known, unknown, unasked), novel.
    """
    from cowrieprocessor.analysis.artifacts import files

    rows = files(state(ctx).engine, novel=novel, limit=limit)
    what = "novel files" if novel else "files"
    if fmt is not OutputFormat.table or columns is not None or not rows:
        if not rows and fmt is not OutputFormat.table:
            output.err_console.print(f"No {what} (has `enrich` run since the downloads were ingested?).")
        output.print_rows(
            output.records(rows), fmt, title=what, columns=FILE_COLUMNS, pick=columns,
            empty_message=f"No {what} (has `enrich` run since the downloads were ingested?).",
            priority=("sha256", "sessions"),
        )  # fmt: skip
        return
    _print_files(rows, f"{what}, most seen first")


@app.command("file")
def file_command(
    ctx: typer.Context,
    sha256: Annotated[str, typer.Argument(metavar="SHA256", help="The file's SHA-256.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """One file: where and when it was seen, what it is, what each source said, the IPs that fetched it."""
    from cowrieprocessor.analysis.artifacts import file_detail

    detail = file_detail(state(ctx).engine, _sha256(sha256))
    if detail is None:
        output.err_console.print(
            "[yellow]No such file in the inventory[/yellow] (`enrich` builds it from the transfers)."
        )
        raise typer.Exit(1)
    if fmt is OutputFormat.json:
        output.print_json(dataclasses.asdict(detail))
        return
    if fmt is OutputFormat.csv:
        output.print_rows(detail.source_ips, fmt, columns=("ip", "asn", "country", "sessions", "first_seen"))
        return
    f = detail.file
    output.console.print(f"[bold]{f.sha256}[/bold]", soft_wrap=True)
    size = f"{detail.size_bytes:,} bytes" if detail.size_bytes is not None else "not in the artifacts directory"
    output.console.print(f"  seen      {_when(f.first_seen)} to {_when(f.last_seen)}; {f.downloads:,} transfers")
    output.console.print(f"  from      {f.sessions:,} sessions, {f.ips:,} IPs, {f.asns:,} ASNs at attack time")
    output.console.print(f"  file      {size}{f' · {output.safe_text(f.file_type)}' if f.file_type else ''}")
    output.console.print(f"  verdict   {_verdict(f)}")
    if f.vt_first_submission is not None:
        output.console.print(f"  VT first  {_when(f.vt_first_submission)}")
    for label, values in (("names", detail.file_names), ("sensors", detail.sensors), ("URLs", detail.urls)):
        for i, value in enumerate(values):
            output.console.print(f"  {label if i == 0 else '':<9} {output.safe_text(value)}", soft_wrap=True)
    for name, entry in detail.sources.items():
        status, fetched_at = output.safe_text(entry.get("status")), output.safe_text(entry.get("fetched_at"))
        output.console.print(f"  {name:<14} {status} at {fetched_at}")
    if detail.source_ips:
        output.print_rows(
            detail.source_ips, fmt, title="IPs that transferred it",
            columns=("ip", "asn", "country", "sessions", "first_seen"),
        )  # fmt: skip


@app.command("payload-hosts")
def payload_hosts_command(
    ctx: typer.Context,
    sha256: Annotated[
        str | None, typer.Option("--file", metavar="SHA256", help="Only the hosts that served this file.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_LIMIT, help="At most this many rows.")] = 100,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The hosts payloads were fetched from, each address with its ASN when resolved (then) and now.

    Columns: host, ip, asn_then, asn_now, organization_now, country_now, first_resolved, last_resolved,
    files, sessions, urlhaus.
    """
    from cowrieprocessor.analysis.artifacts import payload_hosts

    rows = payload_hosts(state(ctx).engine, sha256=_sha256(sha256) if sha256 else None, limit=limit)
    empty = "No payload host (has `enrich` run since the downloads were ingested?)."
    if not rows and fmt is not OutputFormat.table:
        output.err_console.print(empty)
    output.print_rows(
        output.records(rows), fmt, title="payload hosts: then and now", columns=HOST_COLUMNS,
        pick=columns, empty_message=empty, priority=("host", "ip", "asn_then", "asn_now", "files", "country_now"),
    )  # fmt: skip
