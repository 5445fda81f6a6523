"""The one cascade: build the configured sources, then ask them in order about a batch of IPs.

``lookup`` and the enrichment pass (``tiers.enrichment_pass``) both run :meth:`Cascade.run`, so what a person checks
with ``lookup`` is what ``enrich`` stores. Validation runs first and is the gate: only an address it found
and did not call a bogon goes to another source (bogons, and strings that are not addresses, go nowhere).
A caller may name, per IP, the sources it needs (the pass asks only the stale ones). A source that raises,
or leaves an IP out, gives ``error`` answers (a source never crashes a run); database errors are not source
failures and propagate. Every source's answers are returned, and reported to ``on_answers`` as they come.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cowrieprocessor.enrichment import registry
from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, Source, result
from cowrieprocessor.enrichment.ledger import DatabaseLedger, Ledger, MemoryLedger
from cowrieprocessor.enrichment.ratelimit import SYSTEM_CLOCK, Clock
from cowrieprocessor.enrichment.registry import Unavailable
from cowrieprocessor.enrichment.settings import ProvidersSettings, read_key
from cowrieprocessor.enrichment.validation import ValidationSource

log = logging.getLogger(__name__)

__all__ = ["ORDER", "VALIDATION", "Cascade", "Unavailable", "ask", "build_source", "build_sources", "is_bogon"]

VALIDATION = "validation"
#: The built-in IP sources in cascade order (docs/enrichment-shape.md keys); ``registry.names()`` also
#: has the sources registered after import.
ORDER = registry.names(registry.IP)

#: Called with a source's name and its answers for the IPs it was asked about.
OnAnswers = Callable[[str, Mapping[str, LookupResult]], None]


def _ledger(engine_or_ledger: Engine | Ledger | None) -> Ledger:
    if engine_or_ledger is None:
        return MemoryLedger()
    if isinstance(engine_or_ledger, Engine):
        return DatabaseLedger(engine_or_ledger)
    return engine_or_ledger


def build_source(name: str, settings: ProvidersSettings, ledger: Ledger, clock: Clock = SYSTEM_CLOCK) -> Source:
    """One source from its registry entry and section; raises :class:`Unavailable` with the reason when it
    cannot run (its secret is missing, its files are not configured...)."""
    entry = registry.get(name)
    section = settings.section(name)
    key = read_key(name, section) if entry.key_env is not None else None
    if entry.key_env is not None and key is None:
        raise Unavailable(f"no {entry.key_label}: off")
    return entry.factory(registry.BuildContext(name, section, ledger, clock, key))


def build_sources(
    settings: ProvidersSettings,
    engine_or_ledger: Engine | Ledger | None = None,
    *,
    only: Iterable[str] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    unavailable: dict[str, str] | None = None,
    subject: str = registry.IP,
) -> list[Source]:
    """The enabled sources of ``subject`` in cascade order (an ``always`` source - validation - whatever the
    configuration says). Sources that cannot run are left out and their reason put in ``unavailable``."""
    ledger = _ledger(engine_or_ledger)
    wanted = set(only) if only is not None else None
    sources: list[Source] = []
    for entry in registry.entries(subject):
        if not entry.always and (
            not settings.section(entry.name).enabled or (wanted is not None and entry.name not in wanted)
        ):
            continue
        try:
            sources.append(build_source(entry.name, settings, ledger, clock))
        except (Unavailable, ValueError, OSError) as exc:
            reason = str(exc) if isinstance(exc, Unavailable) else f"{exc.__class__.__name__}: {exc}"
            log.info("%s unavailable: %s", entry.name, reason)
            if unavailable is not None:
                unavailable[entry.name] = reason
    return sources


def cleared(answer: LookupResult | None) -> bool:
    """Validation lets the IP go on: it is an address, and not a bogon."""
    return (
        answer is not None
        and answer.status is LookupStatus.FOUND
        and answer.data is not None
        and answer.data.get("is_bogon") is False
    )


def is_bogon(answer: LookupResult | None) -> bool:
    """Validation called the IP a bogon (never sent anywhere, never re-checked)."""
    return answer is not None and answer.data is not None and answer.data.get("is_bogon") is True


def ask(source: Source, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
    """``source``'s answer for each of ``ips``, and for no other: its failure is every IP's ``error`` answer,
    an IP it left out gets one too. A database error is the database's, not the source's: it propagates."""
    try:
        answers = source.lookup_many(ips, at=at)
    except SQLAlchemyError:
        raise
    except Exception as exc:  # a source never crashes a run: its failure is every IP's outcome
        # info, not a warning on stderr: the answers carry it, and both commands show them (a cron job's
        # mail stays for what the operator must fix)
        log.info("%s failed for a batch of %d: %s", source.name, len(ips), exc.__class__.__name__)
        why = f"source failed: {exc.__class__.__name__}"
        return {ip: result(source.name, ip, LookupStatus.ERROR, error=why) for ip in ips}
    if len(answers) == len(ips) and all(ip in answers for ip in ips):
        return answers
    return {
        ip: answers.get(ip) or result(source.name, ip, LookupStatus.ERROR, error="no answer from source") for ip in ips
    }


class Cascade:
    def __init__(self, sources: Sequence[Source], ledger: Ledger | None = None) -> None:
        self.sources = list(sources)
        self.ledger = ledger
        if not any(s.name == VALIDATION for s in self.sources):
            self.sources.insert(0, ValidationSource())
        self.validation = next(s for s in self.sources if s.name == VALIDATION)

    def run(
        self,
        ips: Sequence[str],
        *,
        at: dt.datetime | None = None,
        needs: Mapping[str, Collection[str]] | None = None,
        on_answers: OnAnswers | None = None,
    ) -> dict[str, dict[str, LookupResult]]:
        """Per IP, ``{source name: result}`` for every source that was asked: validation always, then each
        source for the cleared IPs that need it (every source when ``needs`` is None)."""
        unique = list(dict.fromkeys(ips))
        out: dict[str, dict[str, LookupResult]] = {ip: {} for ip in unique}
        checked = ask(self.validation, unique, at=at)
        if on_answers is not None:
            on_answers(VALIDATION, checked)
        public: list[str] = []
        for ip, answer in checked.items():
            out[ip][VALIDATION] = answer
            if cleared(answer):
                public.append(ip)
        for source in self.sources:
            if source is self.validation:
                continue
            asked = public if needs is None else [ip for ip in public if source.name in needs[ip]]
            if not asked:
                continue
            answers = ask(source, asked, at=at)
            if on_answers is not None:
                on_answers(source.name, answers)
            for ip, answer in answers.items():
                out[ip][source.name] = answer
        if self.ledger is not None:
            self.ledger.flush()
        return out

    def close(self) -> None:
        for source in self.sources:
            try:
                source.close()
            except Exception as exc:  # closing must not hide the run's result
                log.warning("closing %s: %s", source.name, exc.__class__.__name__)
        if self.ledger is not None:
            self.ledger.flush()
