"""``data update``: fetch current datasets from their publishers, verify each, switch to it atomically.

Each dataset is downloaded into ``<data dir>/.incoming`` (same file system), verified - format, metadata,
size, and the publisher's checksum where one is published (MaxMind's ``.sha256``) - and only then moved
into place with :func:`os.replace`. A failed or interrupted download, a truncated or corrupt file, or a
wrong one changes nothing: the previous file and ``datasets.json`` stay as they were. Datasets fail
independently. Publishers' layouts (the URLs are settings, so tests serve the same layout locally):

- RouteViews pfx2as (CAIDA): ``<base>/pfx2as-creation.log`` lists every file (``seq  epoch  YYYY/MM/name``);
  the newest ``routeviews-rv2-YYYYMMDD-HHMM.pfx2as.gz`` (IPv6: ``routeviews6-prefix2as``, ``rv6``) is kept
  by date in ``routing_history/`` - the history grows with every update;
- DB-IP Lite (CC BY 4.0): ``<base>/dbip-{asn,country}-lite-YYYY-MM.mmdb.gz``, monthly (this month's, else
  last month's while this month's is not out yet);
- MaxMind GeoLite2 (only with ``MAXMIND_LICENSE_KEY``): ``<base>?edition_id=E&license_key=K&suffix=tar.gz``
  and ``suffix=tar.gz.sha256``. The key never appears in an error, a log or the manifest.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import os
import re
import shutil
import tarfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import maxminddb

from cowrieprocessor import __version__
from cowrieprocessor.enrichment import datasets, routing_history
from cowrieprocessor.enrichment.datasets import DataSettings

KEY_ENV = "MAXMIND_LICENSE_KEY"
_CHUNK = 1 << 16
_PFX2AS_PATH = re.compile(r"^(\d{4})/(\d{2})/(routeviews-rv[26]-(\d{8})-\d{4}\.pfx2as\.gz)$")
_SHA256_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+\*?(\S+_(\d{8})\.tar\.gz)\s*$")


def _name(exc: BaseException) -> str:
    return exc.__class__.__name__


def _is_dbip(kind: str, database_type: str) -> bool:
    """``DBIP-ASN-Lite (compat=GeoLite2-ASN)``, ``DBIP-Country-Lite``..."""
    return "dbip" in database_type.lower() and kind in database_type.lower()


class UpdateError(Exception):
    """One dataset could not be updated; the message says why (never a key)."""


@dataclass(frozen=True)
class Outcome:
    dataset: str
    status: str  # updated, current, failed, skipped
    date: str | None = None
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Updater:
    def __init__(
        self,
        settings: DataSettings,
        *,
        client: httpx.Client | None = None,
        environ: Mapping[str, str] | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.settings = settings
        self.directory = settings.resolved_directory()
        self.client = client or httpx.Client(
            timeout=settings.timeout_seconds,
            follow_redirects=True,
            headers={"User-Agent": f"cowrieprocessor/{__version__} (data update)"},
        )
        self.environ = os.environ if environ is None else environ
        self.today = today or dt.datetime.now(dt.UTC).date()
        self.limit = int(settings.max_download_mb * 1024 * 1024)

    def steps(self) -> dict[str, Callable[[dict[str, Any]], Outcome]]:
        """Every dataset this run would fetch, by name."""
        steps: dict[str, Callable[[dict[str, Any]], Outcome]] = {
            "routeviews-v4": lambda m: self._routeviews("routeviews-v4", self.settings.routeviews_url, m),
            "routeviews-v6": lambda m: self._routeviews("routeviews-v6", self.settings.routeviews6_url, m),
            "dbip-asn-lite": lambda m: self._dbip("asn", m),
            "dbip-country-lite": lambda m: self._dbip("country", m),
        }
        for edition in self.settings.maxmind_editions:
            steps[edition] = lambda m, e=edition: self._maxmind(e, m)  # type: ignore[misc]
        return steps

    def run(self, only: set[str] | None = None) -> list[Outcome]:
        manifest = datasets.read_manifest(self.directory)
        outcomes = []
        (self.directory / datasets.MMDB_DIR).mkdir(parents=True, exist_ok=True)
        (self.directory / datasets.ROUTING_DIR).mkdir(parents=True, exist_ok=True)
        try:
            for name, step in self.steps().items():
                if only is not None and name not in only:
                    continue
                try:
                    if name.startswith("GeoLite2") and not self._key():
                        outcomes.append(Outcome(name, "skipped", detail=f"{KEY_ENV} is not set"))
                        continue
                    outcomes.append(step(manifest))
                except UpdateError as exc:
                    outcomes.append(Outcome(name, "failed", detail=str(exc)))
                datasets.write_manifest(self.directory, manifest)  # after each: what is in place is recorded
        finally:
            shutil.rmtree(self.directory / ".incoming", ignore_errors=True)
            self.client.close()
        return outcomes

    # ------------------------------------------------------------------------------------ downloads ---

    @contextmanager
    def _incoming(self, name: str) -> Iterator[Path]:
        folder = self.directory / ".incoming"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def _get_text(self, what: str, url: str, params: dict[str, str] | None = None) -> str:
        try:
            response = self.client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise UpdateError(f"{what}: {exc.__class__.__name__} (network)") from None
        if response.status_code != 200:
            raise UpdateError(f"{what}: HTTP {response.status_code}")
        return response.text

    def _download(self, what: str, url: str, dest: Path, params: dict[str, str] | None = None) -> tuple[int, str]:
        """Stream to ``dest``; (bytes, sha256). A short body, an oversize one or an HTTP error raise."""
        digest, size = hashlib.sha256(), 0
        try:
            with self.client.stream("GET", url, params=params) as response:
                if response.status_code == 404:
                    raise FileNotFoundError(what)
                if response.status_code != 200:
                    raise UpdateError(f"{what}: HTTP {response.status_code}")
                expected = response.headers.get("Content-Length")
                with dest.open("wb") as out:
                    for chunk in response.iter_raw(_CHUNK):
                        size += len(chunk)
                        if size > self.limit:
                            raise UpdateError(f"{what}: larger than {self.settings.max_download_mb:g} MB: refused")
                        digest.update(chunk)
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise UpdateError(f"{what}: truncated or interrupted download ({_name(exc)}); nothing changed") from None
        if expected is not None and expected.isdigit() and int(expected) != size:
            raise UpdateError(f"{what}: truncated download ({size} of {expected} bytes); nothing changed")
        return size, digest.hexdigest()

    def _copy_limited(self, what: str, source: IO[bytes] | gzip.GzipFile, dest: Path) -> None:
        """Decompress/extract with the size limit (a small archive can unpack huge)."""
        size = 0
        try:
            with dest.open("wb") as out:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    if size > self.limit:
                        raise UpdateError(f"{what}: unpacks larger than {self.settings.max_download_mb:g} MB")
                    out.write(chunk)
        except (EOFError, OSError, zlib.error, tarfile.TarError) as exc:
            raise UpdateError(
                f"{what}: corrupt or truncated archive ({exc.__class__.__name__}); nothing changed"
            ) from None

    def _record(self, manifest: dict[str, Any], name: str, entry: dict[str, Any]) -> None:
        entry["fetched_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest["datasets"][name] = entry

    # ----------------------------------------------------------------------------------- RouteViews ---

    def _routeviews(self, name: str, base: str, manifest: dict[str, Any]) -> Outcome:
        base = base.rstrip("/")
        log = self._get_text(name, f"{base}/pfx2as-creation.log")
        paths = [line.split()[-1] for line in log.splitlines() if line.strip() and not line.startswith("#")]
        if not paths:
            raise UpdateError(f"{name}: the creation log lists no file")
        match = _PFX2AS_PATH.match(paths[-1])
        if match is None:
            raise UpdateError(f"{name}: unexpected file path in the creation log: {paths[-1][:80]!r}")
        filename, date = match[3], dt.datetime.strptime(match[4], "%Y%m%d").date()
        final = self.directory / datasets.ROUTING_DIR / filename
        folder = final.parent
        if final.is_file():
            return Outcome(name, "current", date.isoformat(), filename)
        with self._incoming(filename) as tmp:
            size, sha256 = self._download(name, f"{base}/{paths[-1]}", tmp)
            prefixes = self._count_prefixes(name, tmp)
            os.replace(tmp, final)
        kind = "rv2" if "rv2" in filename else "rv6"
        snapshots = len(list(folder.glob(f"routeviews-{kind}-*.pfx2as*")))
        self._record(
            manifest,
            name,
            {"date": date.isoformat(), "files": [f"{datasets.ROUTING_DIR}/{filename}"], "bytes": size,
             "sha256": sha256, "url": f"{base}/{paths[-1]}", "prefixes": prefixes, "snapshots": snapshots},
        )  # fmt: skip
        return Outcome(name, "updated", date.isoformat(), f"{filename}: {prefixes:,} prefixes")

    def _count_prefixes(self, name: str, path: Path) -> int:
        try:
            with gzip.open(path, "rt", encoding="ascii", errors="replace") as handle:
                count = sum(1 for _ in routing_history.parse_lines(handle))
        except (EOFError, OSError, zlib.error) as exc:
            raise UpdateError(
                f"{name}: corrupt or truncated gzip ({exc.__class__.__name__}); nothing changed"
            ) from None
        if count < self.settings.min_prefixes:
            raise UpdateError(f"{name}: only {count} prefixes (at least {self.settings.min_prefixes} expected)")
        return count

    # --------------------------------------------------------------------------------------- DB-IP ---

    def _dbip(self, kind: str, manifest: dict[str, Any]) -> Outcome:
        name = f"dbip-{kind}-lite"
        first = self.today.replace(day=1)
        months = [first, (first - dt.timedelta(days=1)).replace(day=1)]
        installed = manifest["datasets"].get(name, {}).get("month")
        for month in months:
            label = month.strftime("%Y-%m")
            if installed == label:
                return Outcome(name, "current", manifest["datasets"][name].get("date"), f"{label} edition")
            url = f"{self.settings.dbip_url.rstrip('/')}/{name}-{label}.mmdb.gz"
            with self._incoming(f"{name}.mmdb.gz") as packed, self._incoming(f"{name}.mmdb") as tmp:
                try:
                    size, sha256 = self._download(name, url, packed)
                except FileNotFoundError:
                    continue  # not published yet: try last month's
                with gzip.open(packed, "rb") as source:
                    self._copy_limited(name, source, tmp)
                date = self._check_mmdb(name, tmp, functools.partial(_is_dbip, kind))
                os.replace(tmp, self.directory / datasets.MMDB_DIR / f"{name}.mmdb")
            self._record(
                manifest,
                name,
                {"date": date.isoformat(), "month": label, "files": [f"{datasets.MMDB_DIR}/{name}.mmdb"],
                 "bytes": size, "sha256": sha256, "url": url, "licence": "CC BY 4.0, IP data by DB-IP.com"},
            )  # fmt: skip
            return Outcome(name, "updated", date.isoformat(), f"{label} edition")
        raise UpdateError(f"{name}: neither {months[0]:%Y-%m} nor {months[1]:%Y-%m} is published (HTTP 404)")

    def _check_mmdb(self, name: str, path: Path, type_ok: Callable[[str], bool]) -> dt.date:
        """Opens, reads the metadata, checks the type: a corrupt or wrong file raises."""
        try:
            reader = maxminddb.open_database(str(path), maxminddb.MODE_FILE)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise UpdateError(f"{name}: not a valid .mmdb ({exc.__class__.__name__}); nothing changed") from None
        try:
            meta = reader.metadata()
            database_type, epoch, nodes = str(meta.database_type), int(meta.build_epoch), int(meta.node_count)
        finally:
            reader.close()
        if not type_ok(database_type) or nodes < 1:
            raise UpdateError(f"{name}: unexpected database type {database_type!r}; nothing changed")
        return dt.datetime.fromtimestamp(epoch, dt.UTC).date()

    # ------------------------------------------------------------------------------------- MaxMind ---

    def _key(self) -> str:
        """The licence key: ``[data] maxmind_license_key_file`` first, then ``MAXMIND_LICENSE_KEY``."""
        path = self.settings.maxmind_license_key_file
        if path is not None:
            try:
                return path.expanduser().read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise UpdateError(f"maxmind_license_key_file: cannot read {path} ({_name(exc)})") from None
        return self.environ.get(KEY_ENV, "").strip()

    def _maxmind(self, edition: str, manifest: dict[str, Any]) -> Outcome:
        key = self._key()
        url = self.settings.maxmind_url
        params = {"edition_id": edition, "license_key": key}
        listing = self._get_text(edition, url, {**params, "suffix": "tar.gz.sha256"})
        match = _SHA256_LINE.match(listing.strip())
        if match is None:
            raise UpdateError(f"{edition}: unexpected checksum file")
        expected, date = match[1].lower(), dt.datetime.strptime(match[3], "%Y%m%d").date()
        if manifest["datasets"].get(edition, {}).get("sha256") == expected:
            return Outcome(edition, "current", date.isoformat(), match[2])
        with self._incoming(f"{edition}.tar.gz") as packed, self._incoming(f"{edition}.mmdb") as tmp:
            try:
                size, sha256 = self._download(edition, url, packed, {**params, "suffix": "tar.gz"})
            except FileNotFoundError:
                raise UpdateError(f"{edition}: HTTP 404") from None
            if sha256 != expected:
                raise UpdateError(f"{edition}: checksum mismatch (the download is not the published file)")
            self._extract_mmdb(edition, packed, tmp)
            self._check_mmdb(edition, tmp, lambda t: t == edition)
            os.replace(tmp, self.directory / datasets.MMDB_DIR / f"{edition}.mmdb")
        self._record(
            manifest,
            edition,
            {"date": date.isoformat(), "files": [f"{datasets.MMDB_DIR}/{edition}.mmdb"], "bytes": size,
             "sha256": sha256, "url": f"{url}?edition_id={edition}", "licence": "GeoLite2 EULA (MaxMind)"},
        )  # fmt: skip
        return Outcome(edition, "updated", date.isoformat(), match[2])

    def _extract_mmdb(self, edition: str, packed: Path, dest: Path) -> None:
        try:
            with tarfile.open(packed, "r:gz") as archive:
                member = next(
                    (m for m in archive.getmembers() if m.isfile() and m.name.endswith(f"/{edition}.mmdb")), None
                )
                if member is None:
                    raise UpdateError(f"{edition}: no {edition}.mmdb in the archive")
                source = archive.extractfile(member)
                if source is None:
                    raise UpdateError(f"{edition}: unreadable archive member")
                self._copy_limited(edition, source, dest)
        except (EOFError, OSError, zlib.error, tarfile.TarError) as exc:
            raise UpdateError(f"{edition}: corrupt or truncated archive ({exc.__class__.__name__})") from None
