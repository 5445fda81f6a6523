"""The artifact part of ``enrich``: files, URLs and payload hosts (#19), around the IP pass.

``prepare`` (inventories, the downloads directory, host names resolved) runs before the IP pass so the
payload hosts' addresses are enriched by it; ``finish`` (the artifact sources) after it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cowrieprocessor.cli.context import AppState
from cowrieprocessor.cli.output import console, safe_text

if TYPE_CHECKING:
    from cowrieprocessor.enrichment.artifacts.artifact_pass import ArtifactPass


def build_pass(app_state: AppState, directory: Path | None, unavailable: dict[str, str]) -> ArtifactPass:
    from cowrieprocessor.enrichment.artifacts.artifact_pass import ArtifactPass
    from cowrieprocessor.enrichment.artifacts.resolve import HostResolver
    from cowrieprocessor.enrichment.artifacts.sources import build_artifact_sources
    from cowrieprocessor.enrichment.ledger import DatabaseLedger

    settings = app_state.settings.artifacts
    if directory is not None:
        settings = settings.model_copy(update={"directory": directory})
    ledger = DatabaseLedger(app_state.engine)
    sources = build_artifact_sources(app_state.settings.providers, ledger, unavailable=unavailable)
    dns = settings.dns
    resolver = HostResolver(dns, ledger, server=settings.dns_server) if dns.enabled else None
    if resolver is None:
        unavailable["dns"] = "no: off (enable with [artifacts.dns] enabled = true)"
    return ArtifactPass(app_state.engine, sources, settings, resolver=resolver)


def print_artifacts(data: dict[str, Any]) -> None:

    if not data["transfers"]:
        return  # no download or upload stored: nothing to say (a cron job's mail stays empty)
    console.print(
        f"artifacts: {data['files']:,} files, {data['urls']:,} URLs, {data['hosts']:,} payload hosts from "
        f"{data['transfers']:,} transfers; {data['hosts_resolved']:,} hosts resolved, "
        f"{data['addresses_new']:,} new addresses; {data['files_inspected']:,} files read from disk"
    )
    if data.get("busy"):
        console.print("artifact sources: another enrich is asking them now; this run asked none (the next one will)")
    from cowrieprocessor.cli.enrich import print_answers

    print_answers(data["outcomes"], "artifact source answers")
    off = sorted(data.get("unavailable", {}))
    if off:
        console.print(f"[dim]artifact sources not configured: {safe_text(', '.join(off))} (docs/malware.md)[/dim]")
