"""Downloaded datasets: where ``cowrieprocessor data update`` keeps them and how the sources find them.

Layout of the data directory (``[data] directory``; default ``$XDG_DATA_HOME/cowrieprocessor`` or
``~/.local/share/cowrieprocessor``)::

    datasets.json                      what is installed: per dataset its date, files, size, sha256, URL
    routing_history/                   RouteViews pfx2as files by date (IPv4 rv2, IPv6 rv6), kept: history
    mmdb/                              the current DB-IP Lite (and GeoLite2) .mmdb files, replaced whole

When ``[providers.maxmind] paths`` or ``[providers.routing_history] directory`` are not configured, the
sources read what is installed here (:func:`with_installed`): GeoLite2 first, then DB-IP Lite; the
embedded data stays the floor behind them. Nothing here touches the network.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cowrieprocessor.enrichment.settings import ProvidersSettings

MANIFEST = "datasets.json"
ROUTING_DIR = "routing_history"
MMDB_DIR = "mmdb"
#: Order in which installed .mmdb files are given to the maxmind source (the first that has a field wins).
MMDB_ORDER = ("GeoLite2-ASN", "GeoLite2-City", "GeoLite2-Country", "dbip-asn-lite", "dbip-country-lite")


class DataSettings(BaseModel):
    """``[data]``: where downloaded datasets live, where they come from, and when they count as old.

    The URLs are the publishers' (tests point them at a local server)."""

    model_config = ConfigDict(extra="forbid")

    directory: Path | None = None
    #: ``data status`` warns about a dataset older than this (DB-IP publishes monthly, RouteViews daily).
    max_age_days: float = Field(default=45.0, gt=0)
    routeviews_url: str = "https://publicdata.caida.org/datasets/routing/routeviews-prefix2as"
    routeviews6_url: str = "https://publicdata.caida.org/datasets/routing/routeviews6-prefix2as"
    dbip_url: str = "https://download.db-ip.com/free"
    maxmind_url: str = "https://download.maxmind.com/app/geoip_download"
    maxmind_editions: list[str] = Field(default_factory=lambda: ["GeoLite2-ASN", "GeoLite2-Country"])
    #: The GeoLite2 licence key from a file instead of ``MAXMIND_LICENSE_KEY`` (never the key itself here).
    maxmind_license_key_file: Path | None = None
    timeout_seconds: float = Field(default=120.0, gt=0)
    #: A download larger than this is refused (a wrong URL must not fill the disk).
    max_download_mb: float = Field(default=512.0, gt=0)
    #: A RouteViews file with fewer prefixes than this is refused as truncated or wrong.
    min_prefixes: int = Field(default=1000, ge=1)

    def resolved_directory(self) -> Path:
        if self.directory is not None:
            return self.directory.expanduser()
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "cowrieprocessor"


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        return {"datasets": {}}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable ({exc}); run `cowrieprocessor data update` to rewrite it") from exc
    if not isinstance(value, dict) or not isinstance(value.get("datasets"), dict):
        raise ValueError(f"{path}: not a datasets manifest")
    return value


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Atomically: a reader sees the old manifest or the new one, never half of one."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)


def installed_mmdb(directory: Path) -> list[Path]:
    """The installed .mmdb files that exist, in :data:`MMDB_ORDER`."""
    folder = directory / MMDB_DIR
    return [folder / f"{stem}.mmdb" for stem in MMDB_ORDER if (folder / f"{stem}.mmdb").is_file()]


def installed_routing(directory: Path) -> Path | None:
    folder = directory / ROUTING_DIR
    return folder if folder.is_dir() and any(folder.glob("*.pfx2as*")) else None


def with_installed(providers: ProvidersSettings, data: DataSettings) -> ProvidersSettings:
    """``providers`` with the downloaded datasets filled in where the user configured nothing."""
    directory = data.resolved_directory()
    if not (directory / MANIFEST).is_file():
        return providers
    updates: dict[str, Any] = {}
    mmdb = installed_mmdb(directory)
    if not providers.maxmind.paths and mmdb:
        updates["maxmind"] = providers.maxmind.model_copy(update={"paths": mmdb})
    routing = installed_routing(directory)
    if providers.routing_history.directory is None and routing is not None:
        updates["routing_history"] = providers.routing_history.model_copy(update={"directory": routing})
    return providers.model_copy(update=updates) if updates else providers


def age_days(date: dt.date, today: dt.date | None = None) -> int:
    return ((today or dt.datetime.now(dt.UTC).date()) - date).days
