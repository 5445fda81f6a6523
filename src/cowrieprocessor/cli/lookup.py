"""``cowrieprocessor lookup IP...``: run the enrichment cascade for a few addresses and show what each
source answered, from which database or API version, and when - a quick check of a configuration.

Online calls are recorded in the provider-call ledger when the database has one (schema v16); otherwise
they are counted in memory only, and the command says so.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cowrieprocessor.cli import output
from cowrieprocessor.cli.context import AppState, state
from cowrieprocessor.cli.output import ColumnsOption, FormatOption, OutputFormat

if TYPE_CHECKING:
    from cowrieprocessor.enrichment.base import LookupResult
    from cowrieprocessor.enrichment.ledger import Ledger

#: The answer column of a table is a preview; CSV and JSON carry every answer whole.
SUMMARY_WIDTH = 160
#: The built-in sources in cascade order (``enrichment.cascade.ORDER``), for ``--help`` without importing the
#: registry (a test keeps the two equal); ``--source`` is checked against the registry itself.
SOURCES = ("validation", "maxmind", "routing_history", "embedded", "cymru", "greynoise", "spur", "dshield", "abuseipdb")


def _ledger(app_state: AppState) -> tuple[Ledger, str | None]:
    """The database ledger when there is a v16 database to write to, else memory (and why)."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from cowrieprocessor.enrichment.ledger import DatabaseLedger, MemoryLedger

    url = make_url(app_state.db_url)
    if url.get_backend_name() == "sqlite" and (url.database or ":memory:") == ":memory:":
        return MemoryLedger(), "in-memory database: calls not recorded in the ledger"
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return MemoryLedger(), f"no database at {url.database}: calls not recorded in the ledger"
    if not inspect(app_state.raw_engine).has_table("provider_calls"):
        return MemoryLedger(), "database has no provider_calls table (run `db upgrade`): calls not recorded"
    return DatabaseLedger(app_state.raw_engine), None


def _summary(answer: LookupResult, width: int | None = SUMMARY_WIDTH) -> str:
    """The whole answer as JSON (width None, for machines), or a preview for a table: ``key=value`` pairs
    without the empty ones, so that it wraps between fields, cut at ``width`` characters."""
    if answer.data is None:
        return ""
    if width is None:
        return json.dumps(answer.data, separators=(",", ":"), ensure_ascii=False, default=str)
    pairs = [
        f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)}"
        for k, v in answer.data.items()
        if v not in (None, "", [], {})
    ]
    text = " ".join(pairs) or "(empty)"
    return text if len(text) <= width else text[: width - 1] + "…"


def _addresses(values: list[str]) -> list[str]:
    bad = []
    for value in values:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            bad.append(value)
    if bad:
        raise typer.BadParameter(f"not an IPv4 or IPv6 address: {', '.join(bad)}", param_hint="IPS")
    return values


def register(app: typer.Typer) -> None:
    """Add the ``lookup`` command to ``app``."""

    @app.command("lookup")
    def lookup(
        ctx: typer.Context,
        ips: Annotated[list[str], typer.Argument(help="IPv4/IPv6 addresses to look up.", show_default=False)],
        source: Annotated[
            list[str] | None,
            typer.Option(
                "--source",
                help=f"Only this source (repeatable): {', '.join(SOURCES)}. "
                "Validation always runs: bogons go nowhere else.",
            ),
        ] = None,
        at: Annotated[str | None, typer.Option("--at", help="Attack date for routing history (ISO-8601, UTC).")] = None,
        columns: ColumnsOption = None,
        fmt: FormatOption = OutputFormat.table,
    ) -> None:
        """Ask every configured source about a few IPs: answer, provenance and freshness per source.

        Columns: ip, source, status, answer, version, fetched_at, error. The table previews each answer;
        json and csv carry it whole. Sources that are not configured are listed once, with the reason.
        """
        from cowrieprocessor.enrichment import registry
        from cowrieprocessor.enrichment.cascade import Cascade, build_sources

        ips = _addresses(ips)
        unknown = sorted(set(source or []) - set(registry.names(registry.IP)))
        if unknown:
            raise typer.BadParameter(f"unknown source(s): {', '.join(unknown)}", param_hint="--source")
        from cowrieprocessor.cli.options import parse_time

        when = parse_time(at, "--at")
        app_state = state(ctx)
        ledger, note = _ledger(app_state)
        if note:
            output.err_console.print(f"[yellow]note:[/yellow] {note}")
        unavailable: dict[str, str] = {}
        sources = build_sources(app_state.settings.providers, ledger, only=source, unavailable=unavailable)
        cascade = Cascade(sources, ledger)
        try:
            answers = cascade.run(ips, at=when)
        finally:
            cascade.close()
        skipped = {k: v for k, v in unavailable.items() if source is None or k in source}
        if fmt is OutputFormat.json:
            output.print_json(
                {
                    "results": {ip: {n: r.as_json() for n, r in per.items()} for ip, per in answers.items()},
                    "unavailable": skipped,
                }
            )
            return
        rows: list[dict[str, Any]] = []
        for ip, per_source in answers.items():
            for name, answer in per_source.items():
                rows.append(
                    {
                        "ip": ip,
                        "source": name,
                        "status": answer.status.value,
                        "answer": _summary(answer, SUMMARY_WIDTH if fmt is OutputFormat.table else None),
                        "version": answer.provenance.version,
                        "fetched_at": answer.provenance.fetched_at,
                        "error": answer.error,
                    }
                )
        if fmt is not OutputFormat.table:  # machines get them as rows; people once, under the table
            rows += [
                {"ip": "*", "source": name, "status": "unavailable", "error": reason}
                for name, reason in skipped.items()
            ]
        names = ["ip", "source", "status", "answer", "version", "fetched_at", "error"]
        output.print_rows(
            rows, fmt, title="enrichment lookup", columns=names, pick=columns,
            priority=("ip", "source", "status", "answer", "error") if any(r.get("error") for r in rows) else
            ("ip", "source", "status", "answer"),
        )  # fmt: skip
        if fmt is OutputFormat.table and skipped:
            output.err_console.print("[dim]not used:[/dim]")
            for name, reason in skipped.items():
                output.err_console.print(f"[dim]  {name}: {output.safe_text(reason)}[/dim]", soft_wrap=True)
        if fmt is OutputFormat.table:
            for line in attribution_lines(answers):
                output.console.print(output.safe_text(line), soft_wrap=True)


def attribution_lines(answers: dict[str, dict[str, LookupResult]]) -> list[str]:
    """One line per IP with what the pass would store: AS number, organisation, country, and the source."""
    from cowrieprocessor.tiers import documents

    lines = []
    for ip, per_source in answers.items():
        document = {name: r.data for name, r in per_source.items() if r.data is not None}
        if documents.is_bogon(document):
            lines.append(f"{ip}: bogon ({document['validation'].get('reason')}): asked nowhere else")
            continue
        asn, origin = documents.pick_asn(document)
        org, country = documents.pick_org(document), documents.pick_country(document)
        what = f"AS{asn}" if asn is not None else "no AS number"
        extra = ", ".join(x for x in (org, country) if x)
        lines.append(f"{ip}: {what}" + (f" {extra}" if extra else "") + (f" (from {origin})" if origin else ""))
    return lines
