"""Build the configured sources and run them in cascade order over a batch of IPs.

Validation runs first and is the gate: bogons and strings that are not addresses go to no other source.
A source that raises is turned into ``error`` results for the batch (a source never crashes a run);
database errors are not source failures and propagate.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, Source, result
from cowrieprocessor.enrichment.ledger import DatabaseLedger, Ledger, MemoryLedger
from cowrieprocessor.enrichment.ratelimit import SYSTEM_CLOCK, Clock
from cowrieprocessor.enrichment.settings import ProvidersSettings, read_key
from cowrieprocessor.enrichment.validation import ValidationSource

log = logging.getLogger(__name__)

#: Cascade order (docs/enrichment-shape.md keys).
ORDER = (
    "validation",
    "maxmind",
    "routing_history",
    "embedded",
    "cymru",
    "greynoise",
    "spur",
    "dshield",
    "abuseipdb",
)
HTTP_SOURCES = ("greynoise", "spur", "dshield", "abuseipdb")


class Unavailable(Exception):
    """A configured source that cannot run (no key, no path...): reported, not fatal."""


def _ledger(engine_or_ledger: Engine | Ledger | None) -> Ledger:
    if engine_or_ledger is None:
        return MemoryLedger()
    if isinstance(engine_or_ledger, Engine):
        return DatabaseLedger(engine_or_ledger)
    return engine_or_ledger


def build_source(name: str, settings: ProvidersSettings, ledger: Ledger, clock: Clock = SYSTEM_CLOCK) -> Source:
    """One source from its section; raises :class:`Unavailable` with the reason when it cannot run."""
    section = settings.section(name)
    if name == "validation":
        return ValidationSource()
    if name == "maxmind":
        if not section.paths:
            raise Unavailable("no .mmdb paths configured")
        from cowrieprocessor.enrichment.mmdb import MaxMindSource

        return MaxMindSource(section.paths)
    if name == "routing_history":
        if section.directory is None:
            raise Unavailable("no snapshot directory configured")
        from cowrieprocessor.enrichment.routing_history import RoutingHistorySource

        return RoutingHistorySource(section.directory)
    if name == "embedded":
        from cowrieprocessor.enrichment.embedded import EmbeddedSource

        return EmbeddedSource()
    if name == "cymru":
        from cowrieprocessor.enrichment.cymru import CymruSource

        return CymruSource(section, ledger, clock=clock)
    if name in HTTP_SOURCES:
        key = read_key(name, section)
        if key is None:
            what = "contact (DSHIELD_CONTACT)" if name == "dshield" else "API key"
            raise Unavailable(f"no {what}: off")
        from cowrieprocessor.enrichment import abuseipdb, dshield, greynoise, spur

        classes = {
            "greynoise": greynoise.GreyNoiseSource,
            "spur": spur.SpurSource,
            "dshield": dshield.DShieldSource,
            "abuseipdb": abuseipdb.AbuseIPDBSource,
        }
        return classes[name](section, ledger, key=key, clock=clock)
    raise KeyError(f"unknown source {name!r}")


def build_sources(
    settings: ProvidersSettings,
    engine_or_ledger: Engine | Ledger | None = None,
    *,
    only: Iterable[str] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    unavailable: dict[str, str] | None = None,
) -> list[Source]:
    """The enabled sources in cascade order (validation always). Sources that cannot run are left out and
    their reason put in ``unavailable``."""
    ledger = _ledger(engine_or_ledger)
    wanted = set(only) if only is not None else None
    sources: list[Source] = []
    for name in ORDER:
        if name != "validation" and (not settings.section(name).enabled or (wanted is not None and name not in wanted)):
            continue
        try:
            sources.append(build_source(name, settings, ledger, clock))
        except (Unavailable, ValueError, OSError) as exc:
            reason = str(exc) if isinstance(exc, Unavailable) else f"{exc.__class__.__name__}: {exc}"
            log.info("%s unavailable: %s", name, reason)
            if unavailable is not None:
                unavailable[name] = reason
    return sources


class Cascade:
    def __init__(self, sources: Sequence[Source], ledger: Ledger | None = None) -> None:
        self.sources = list(sources)
        self.ledger = ledger
        if not any(s.name == "validation" for s in self.sources):
            self.sources.insert(0, ValidationSource())

    def run(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, dict[str, LookupResult]]:
        """Per IP, ``{source name: result}`` for every source that was asked."""
        unique = list(dict.fromkeys(ips))
        out: dict[str, dict[str, LookupResult]] = {ip: {} for ip in unique}
        validation = next(s for s in self.sources if s.name == "validation")
        public: list[str] = []
        for ip, answer in validation.lookup_many(unique, at=at).items():
            out[ip]["validation"] = answer
            if answer.status is LookupStatus.FOUND and answer.data and not answer.data["is_bogon"]:
                public.append(ip)
        for source in self.sources:
            if source is validation or not public:
                continue
            for ip, answer in self._ask(source, public, at).items():
                if ip in out:
                    out[ip][source.name] = answer
        if self.ledger is not None:
            self.ledger.flush()
        return out

    @staticmethod
    def _ask(source: Source, ips: list[str], at: dt.datetime | None) -> dict[str, LookupResult]:
        try:
            answers = source.lookup_many(ips, at=at)
        except SQLAlchemyError:
            raise
        except Exception as exc:  # a source never crashes a run: its failure is every IP's outcome
            log.warning("%s failed for a batch of %d: %s", source.name, len(ips), exc.__class__.__name__)
            why = f"source failed: {exc.__class__.__name__}"
            return {ip: result(source.name, ip, LookupStatus.ERROR, error=why) for ip in ips}
        missing = [ip for ip in ips if ip not in answers]
        for ip in missing:
            answers[ip] = result(source.name, ip, LookupStatus.ERROR, error="no answer from source")
        return answers

    def close(self) -> None:
        for source in self.sources:
            try:
                source.close()
            except Exception as exc:  # closing must not hide the run's result
                log.warning("closing %s: %s", source.name, exc.__class__.__name__)
        if self.ledger is not None:
            self.ledger.flush()
