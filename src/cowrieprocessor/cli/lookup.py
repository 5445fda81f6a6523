"""``cowrieprocessor lookup IP...``: run the enrichment cascade for a few addresses and show what each
source answered, from which database or API version, and when - a quick check of a configuration.

Online calls are recorded in the provider-call ledger when the database has one (schema v16); otherwise
they are counted in memory only, and the command says so.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from cowrieprocessor.cli.context import AppState, state
from cowrieprocessor.cli.output import OutputFormat, console, err_console, print_json, print_rows, safe_text
from cowrieprocessor.enrichment.base import LookupResult
from cowrieprocessor.enrichment.cascade import ORDER, Cascade, build_sources
from cowrieprocessor.enrichment.ledger import DatabaseLedger, Ledger, MemoryLedger
from cowrieprocessor.tiers import documents

SUMMARY_WIDTH = 100


def _ledger(app_state: AppState) -> tuple[Ledger, str | None]:
    """The database ledger when there is a v16 database to write to, else memory (and why)."""
    url = make_url(app_state.db_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return MemoryLedger(), f"no database at {url.database}: calls not recorded in the ledger"
    if not inspect(app_state.engine).has_table("provider_calls"):
        return MemoryLedger(), "database has no provider_calls table (run `db upgrade`): calls not recorded"
    return DatabaseLedger(app_state.engine), None


def _summary(answer: LookupResult) -> str:
    if answer.data is None:
        return ""
    text = json.dumps(answer.data, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= SUMMARY_WIDTH else text[: SUMMARY_WIDTH - 1] + "…"


def _at(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO-8601 date/time: {value!r}", param_hint="--at") from exc
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


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
                help=f"Only this source (repeatable): {', '.join(ORDER)}. "
                "Validation always runs: bogons go nowhere else.",
            ),
        ] = None,
        at: Annotated[str | None, typer.Option("--at", help="Attack date for routing history (ISO-8601, UTC).")] = None,
        fmt: Annotated[
            OutputFormat, typer.Option("--format", help="table for people, json for machines.", case_sensitive=False)
        ] = OutputFormat.table,
    ) -> None:
        """Ask every configured source about a few IPs: answer, provenance and freshness per source."""
        unknown = sorted(set(source or []) - set(ORDER))
        if unknown:
            raise typer.BadParameter(f"unknown source(s): {', '.join(unknown)}", param_hint="--source")
        when = _at(at)
        app_state = state(ctx)
        ledger, note = _ledger(app_state)
        if note:
            err_console.print(f"[yellow]note:[/yellow] {note}")
        unavailable: dict[str, str] = {}
        sources = build_sources(app_state.settings.providers, ledger, only=source, unavailable=unavailable)
        cascade = Cascade(sources, ledger)
        try:
            answers = cascade.run(ips, at=when)
        finally:
            cascade.close()
        skipped = {k: v for k, v in unavailable.items() if source is None or k in source}
        if fmt is OutputFormat.json:
            print_json(
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
                        "answer": _summary(answer),
                        "version": answer.provenance.version,
                        "fetched_at": answer.provenance.fetched_at,
                        "error": answer.error,
                    }
                )
        rows += [
            {"ip": "*", "source": name, "status": "unavailable", "error": reason} for name, reason in skipped.items()
        ]
        columns = ["ip", "source", "status", "answer", "version", "fetched_at", "error"]
        print_rows(rows, fmt, title="enrichment lookup", columns=columns)
        if fmt is OutputFormat.table:
            for line in attribution_lines(answers):
                console.print(safe_text(line), soft_wrap=True)


def attribution_lines(answers: dict[str, dict[str, LookupResult]]) -> list[str]:
    """One line per IP with what the pass would store: AS number, organisation, country, and the source."""
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
