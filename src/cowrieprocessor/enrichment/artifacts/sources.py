"""The artifact sources, each described so a registry can build it: name, subject, key, factory.

``SPECS`` is what the lead's source registry (``enrichment/registry.py``, #14) can register; until then
:func:`build_artifact_sources` builds the enabled ones from the ``[artifacts]`` section.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from cowrieprocessor.enrichment.artifacts.http import ArtifactHttpSource
from cowrieprocessor.enrichment.artifacts.settings import KEY_ENV, ArtifactSettings, read_key
from cowrieprocessor.enrichment.ledger import Ledger
from cowrieprocessor.enrichment.ratelimit import SYSTEM_CLOCK, Clock
from cowrieprocessor.enrichment.settings import SourceSettings

log = logging.getLogger(__name__)

Factory = Callable[[SourceSettings, Ledger, str, Clock], ArtifactHttpSource]


def _virustotal(section: SourceSettings, ledger: Ledger, key: str, clock: Clock) -> ArtifactHttpSource:
    from cowrieprocessor.enrichment.artifacts.virustotal import VirusTotalSource

    return VirusTotalSource(section, ledger, key=key, clock=clock)


def _malwarebazaar(section: SourceSettings, ledger: Ledger, key: str, clock: Clock) -> ArtifactHttpSource:
    from cowrieprocessor.enrichment.artifacts.abusech import MalwareBazaarSource

    return MalwareBazaarSource(section, ledger, key=key, clock=clock)


def _urlhaus_url(section: SourceSettings, ledger: Ledger, key: str, clock: Clock) -> ArtifactHttpSource:
    from cowrieprocessor.enrichment.artifacts.abusech import URLhausURLSource

    return URLhausURLSource(section, ledger, key=key, clock=clock)


def _urlhaus_host(section: SourceSettings, ledger: Ledger, key: str, clock: Clock) -> ArtifactHttpSource:
    from cowrieprocessor.enrichment.artifacts.abusech import URLhausHostSource

    return URLhausHostSource(section, ledger, key=key, clock=clock)


@dataclass(frozen=True)
class ArtifactSourceSpec:
    name: str
    #: ``file`` (a SHA-256), ``url`` or ``host``.
    subject: str
    factory: Factory
    key_env: str
    settings_model: type[SourceSettings] = SourceSettings
    online: bool = True


SPECS: tuple[ArtifactSourceSpec, ...] = (
    ArtifactSourceSpec("virustotal", "file", _virustotal, KEY_ENV["virustotal"]),
    ArtifactSourceSpec("malwarebazaar", "file", _malwarebazaar, KEY_ENV["malwarebazaar"]),
    ArtifactSourceSpec("urlhaus_url", "url", _urlhaus_url, KEY_ENV["urlhaus_url"]),
    ArtifactSourceSpec("urlhaus_host", "host", _urlhaus_host, KEY_ENV["urlhaus_host"]),
)
NAMES = tuple(s.name for s in SPECS)


def build_artifact_sources(
    settings: ArtifactSettings,
    ledger: Ledger,
    *,
    clock: Clock = SYSTEM_CLOCK,
    unavailable: dict[str, str] | None = None,
) -> list[ArtifactHttpSource]:
    """The enabled sources that have a key; the others are left out with their reason in ``unavailable``."""
    built: list[ArtifactHttpSource] = []
    for spec in SPECS:
        section = settings.sources.section(spec.name)
        if not section.enabled:
            continue
        try:
            key = read_key(spec.name, section)
        except OSError as exc:
            reason = f"api_key_file cannot be read: {exc.__class__.__name__}"
        else:
            if key is not None:
                built.append(spec.factory(section, ledger, key, clock))
                continue
            reason = f"no API key ({spec.key_env}): off"
        log.info("%s unavailable: %s", spec.name, reason)
        if unavailable is not None:
            unavailable[spec.name] = reason
    return built
