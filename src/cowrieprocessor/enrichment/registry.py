"""Every enrichment source, one entry each: the one place a source is declared (see ``README.md`` here).

An entry says what the rest of the program needs to know about a source - its name (its configuration
section ``[providers.<name>]`` and its key in the enrichment document), where it stands in the cascade, what
it looks up, its settings model and defaults, the environment variable holding its secret, whether it goes
online - and a factory that builds it. The configuration, ``build_sources``, ``lookup`` and ``enrich`` read
the registry; none of them names a source. Factories import their source's module only when called, so
importing the registry (and the configuration) loads no client library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cowrieprocessor.enrichment.settings import MaxMindSettings, SourceSettings

if TYPE_CHECKING:
    from cowrieprocessor.enrichment.base import Source
    from cowrieprocessor.enrichment.ledger import Ledger
    from cowrieprocessor.enrichment.ratelimit import Clock

#: What a source looks up. Only IP sources run in the IP cascade (``lookup``, ``enrich``); the artifact pass
#: (``enrichment.artifacts``) asks the sources of a file's SHA-256, a URL and a payload host.
IP = "ip"
FILE, URL, HOST = "file", "url", "host"


class Unavailable(Exception):
    """A configured source that cannot run (no key, no path...): reported, not fatal."""


@dataclass(frozen=True)
class BuildContext:
    """What a factory gets: the source's validated section, the call ledger, the clock and its secret."""

    name: str
    settings: SourceSettings
    ledger: Ledger
    clock: Clock
    #: The secret from ``api_key_file`` or the entry's ``key_env`` (never None for an entry with a ``key_env``).
    key: str | None = None


Factory = Callable[[BuildContext], "Source"]


@dataclass(frozen=True)
class SourceEntry:
    """One source. ``order`` places it in its subject's cascade (gaps of 10 leave room between)."""

    name: str
    order: int
    factory: Factory
    subject: str = IP
    #: Sends the subject somewhere (a fresh install sends nothing: online sources are off or keyed).
    online: bool = False
    settings: type[SourceSettings] = SourceSettings
    #: Merged under whatever the TOML file or the environment sets for ``[providers.<name>]``.
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: The environment variable holding the secret; without it (or ``api_key_file``) the source is off.
    key_env: str | None = None
    #: How the missing secret is named in "no ...: off".
    key_label: str = "API key"
    #: Runs whatever the configuration says (the IP cascade's gate, ``validation``).
    always: bool = False

    def section(self, given: Mapping[str, Any] | None = None) -> SourceSettings:
        """The settings model of this source from a (partial) section; the defaults fill the rest."""
        return self.settings.model_validate({**self.defaults, **(given or {})})


_ENTRIES: dict[str, SourceEntry] = {}


def register(entry: SourceEntry) -> SourceEntry:
    """Add a source (a name is registered once: a second one would silently shadow the first)."""
    if entry.name in _ENTRIES:
        raise ValueError(f"source {entry.name!r} is registered already")
    _ENTRIES[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    del _ENTRIES[name]


@contextmanager
def registered(entry: SourceEntry) -> Iterator[SourceEntry]:
    """A source registered for the duration of a ``with`` block (tests, short-lived plugins)."""
    register(entry)
    try:
        yield entry
    finally:
        unregister(entry.name)


def get(name: str) -> SourceEntry:
    try:
        return _ENTRIES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}") from None


def entries(subject: str | None = IP) -> list[SourceEntry]:
    """The registered sources of ``subject`` (every subject with None), in cascade order."""
    chosen = [e for e in _ENTRIES.values() if subject is None or e.subject == subject]
    return sorted(chosen, key=lambda e: (e.order, e.name))


def names(subject: str | None = IP) -> tuple[str, ...]:
    return tuple(e.name for e in entries(subject))


def all_entries() -> Mapping[str, SourceEntry]:
    return MappingProxyType(_ENTRIES)


# -- the built-in sources ---------------------------------------------------------------------------------


def _validation(ctx: BuildContext) -> Source:
    from cowrieprocessor.enrichment.validation import ValidationSource

    return ValidationSource()


def _maxmind(ctx: BuildContext) -> Source:
    if not ctx.settings.paths:
        raise Unavailable("no .mmdb paths configured")
    from cowrieprocessor.enrichment.mmdb import MaxMindSource

    return MaxMindSource(ctx.settings.paths)


def _routing_history(ctx: BuildContext) -> Source:
    if ctx.settings.directory is None:
        raise Unavailable("no snapshot directory configured")
    from cowrieprocessor.enrichment.routing_history import RoutingHistorySource

    return RoutingHistorySource(ctx.settings.directory)


def _embedded(ctx: BuildContext) -> Source:
    from cowrieprocessor.enrichment.embedded import EmbeddedSource

    return EmbeddedSource()


def _cymru(ctx: BuildContext) -> Source:
    from cowrieprocessor.enrichment.cymru import CymruSource

    return CymruSource(ctx.settings, ctx.ledger, clock=ctx.clock)


def _keyed_http(module: str, name: str) -> Factory:
    """The factory of a keyed HTTP source (``Class(settings, ledger, key=, clock=)``), importing its module only
    when the source is built."""

    def build(ctx: BuildContext) -> Source:
        import importlib

        source: Source = getattr(importlib.import_module(module), name)(
            ctx.settings, ctx.ledger, key=ctx.key, clock=ctx.clock
        )
        return source

    build.__name__ = build.__qualname__ = f"_{name}"
    return build


def _keyed(name: str, order: int, module: str, class_name: str, key_env: str, **entry: Any) -> SourceEntry:
    """An online source behind a secret (``key_env``), built by ``cowrieprocessor.enrichment.<module>``'s
    ``class_name`` (imported only when the source is built)."""
    factory = _keyed_http(f"cowrieprocessor.enrichment.{module}", class_name)
    return SourceEntry(name, order, factory, online=True, key_env=key_env, **entry)


def _abusech(name: str, order: int, class_name: str, subject: str, base_url: str) -> SourceEntry:
    """An abuse.ch source: abuse.ch has one Auth-Key for all its APIs; it documents no hard limit for
    authenticated users, so one request per second and 2,000 a day for each."""
    defaults = {"base_url": base_url, "rate_per_second": 1.0, "daily_budget": 2000}
    return _keyed(
        name, order, "artifacts.abusech", class_name, "ABUSECH_AUTH_KEY",
        subject=subject, defaults=defaults, key_label="Auth-Key (ABUSECH_AUTH_KEY)",
    )  # fmt: skip


# Defaults are frugal: the online services' limits are their documented (or, where undocumented,
# conservative) free tiers. Freshness (TTLs) is not here: it lives in one place, ``[freshness]``.
for _entry in (
    SourceEntry("validation", 10, _validation, always=True),
    SourceEntry("maxmind", 20, _maxmind, settings=MaxMindSettings),
    SourceEntry("routing_history", 30, _routing_history),
    SourceEntry("embedded", 40, _embedded),
    SourceEntry(
        "cymru",
        50,
        _cymru,
        online=True,
        defaults={
            # Off until asked for: a fresh install sends nothing anywhere (enable with ...__CYMRU__ENABLED=true).
            "enabled": False,
            "whois_server": "whois.cymru.com:43",
            "rate_per_second": 2.0,
            "batch_size": 500,
            "timeout_seconds": 60.0,
            "total_timeout_seconds": 180.0,
            "max_response_bytes": 16 << 20,
            "daily_budget": 5000,
        },
    ),
    _keyed("greynoise", 60, "greynoise", "GreyNoiseSource", "GREYNOISE_API_KEY",
           defaults={"base_url": "https://api.greynoise.io", "daily_budget": 100}),
    _keyed("spur", 70, "spur", "SpurSource", "SPUR_TOKEN",
           defaults={"base_url": "https://api.spur.us", "daily_budget": 100}),
    # no key, but ISC blocks default User-Agents: the contact named in every request is its "key"
    _keyed("dshield", 80, "dshield", "DShieldSource", "DSHIELD_CONTACT", key_label="contact (DSHIELD_CONTACT)",
           defaults={"base_url": "https://isc.sans.edu", "rate_per_second": 0.5, "daily_budget": 2000,
                     "max_retry_wait_seconds": 300.0}),
    _keyed("abuseipdb", 90, "abuseipdb", "AbuseIPDBSource", "ABUSEIPDB_API_KEY",
           defaults={"base_url": "https://api.abuseipdb.com", "daily_budget": 1000}),
    # -- files, URLs and payload hosts (the artifact pass, docs/malware.md) --
    # VirusTotal's public API, free tier: 4 requests a minute, 500 a day
    _keyed("virustotal", 10, "artifacts.virustotal", "VirusTotalSource", "VIRUSTOTAL_API_KEY", subject=FILE,
           key_label="API key (VIRUSTOTAL_API_KEY)",
           defaults={"base_url": "https://www.virustotal.com", "rate_per_second": 4 / 60, "daily_budget": 500,
                     "max_retry_wait_seconds": 60.0}),
    _abusech("malwarebazaar", 20, "MalwareBazaarSource", FILE, "https://mb-api.abuse.ch"),
    _abusech("urlhaus_url", 10, "URLhausURLSource", URL, "https://urlhaus-api.abuse.ch"),
    _abusech("urlhaus_host", 10, "URLhausHostSource", HOST, "https://urlhaus-api.abuse.ch"),
):  # fmt: skip
    register(_entry)
