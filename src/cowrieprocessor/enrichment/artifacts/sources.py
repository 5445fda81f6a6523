"""The artifact sources: the registry's entries for files, URLs and payload hosts, built its own way.

Nothing here declares a source: VirusTotal, MalwareBazaar and URLhaus are entries in ``enrichment.registry``
(subject ``file``, ``url`` or ``host``), configured in ``[providers.<name>]``.
"""

from __future__ import annotations

from sqlalchemy import Engine

from cowrieprocessor.enrichment.base import Source
from cowrieprocessor.enrichment.cascade import build_sources
from cowrieprocessor.enrichment.ledger import Ledger
from cowrieprocessor.enrichment.ratelimit import SYSTEM_CLOCK, Clock
from cowrieprocessor.enrichment.registry import FILE, HOST, URL
from cowrieprocessor.enrichment.settings import ProvidersSettings

#: The subjects of the artifact pass, in the order it asks their sources.
SUBJECTS = (FILE, URL, HOST)


def build_artifact_sources(
    providers: ProvidersSettings,
    engine_or_ledger: Engine | Ledger | None = None,
    *,
    clock: Clock = SYSTEM_CLOCK,
    unavailable: dict[str, str] | None = None,
) -> list[Source]:
    """The enabled sources of every artifact subject that can run; the others' reasons go in ``unavailable``."""
    return [
        source
        for subject in SUBJECTS
        for source in build_sources(providers, engine_or_ledger, clock=clock, unavailable=unavailable, subject=subject)
    ]
