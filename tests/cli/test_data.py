"""``data update`` / ``data status`` against a local HTTP server on 127.0.0.1 that serves the publishers'
layouts and formats: CAIDA's pfx2as-creation.log and dated .pfx2as.gz, DB-IP's monthly .mmdb.gz, MaxMind's
tar.gz + .sha256 behind a licence key. Failures (truncated download, corrupt file, wrong checksum) must
change nothing."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.enrichment.datasets import DataSettings
from cowrieprocessor.enrichment.updater import Updater
from tests.servers import LocalHTTP

runner = CliRunner()
KEY = "test-licence-key-7f3a"
TODAY = dt.datetime.now(dt.UTC).date()
MONTH = TODAY.strftime("%Y-%m")
LAST_MONTH = (TODAY.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


@dataclass
class Route:
    body: bytes
    truncate: bool = False  # announce the full length, send half, close


@dataclass
class Publisher:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""


def _mmdb(database_type: str, record: dict[str, object]) -> bytes:
    writer = MMDBWriter(ip_version=6, database_type=database_type, ipv4_compatible=True)
    writer.insert_network(IPSet(["1.1.1.0/24"]), record)
    writer.insert_network(IPSet(["2001:4860::/32"]), record)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.mmdb"
        writer.to_db_file(str(path))
        return path.read_bytes()


def _pfx2as(asn: int, count: int = 300) -> bytes:
    lines = "".join(f"{10 + i // 250}.{i % 250}.0.0\t16\t{asn}\n" for i in range(count))
    return gzip.compress(lines.encode())


def _maxmind_tar(edition: str, stamp: str) -> bytes:
    payload = _mmdb(edition, {"autonomous_system_number": 13335, "autonomous_system_organization": "CLOUDFLARENET"})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in (
            (f"{edition}_{stamp}/LICENSE.txt", b"GeoLite2 EULA"),
            (f"{edition}_{stamp}/{edition}.mmdb", payload),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def publish_all(pub: Publisher, *, v4_date: str = "20261205") -> None:
    """Every dataset at its publisher's path (DB-IP's current month not out yet: last month's is)."""
    for family, kind, asn in (("routeviews-prefix2as", "rv2", 13335), ("routeviews6-prefix2as", "rv6", 15169)):
        path = f"{v4_date[:4]}/{v4_date[4:6]}/routeviews-{kind}-{v4_date}-1200.pfx2as.gz"
        log = f"# seqnum\ttimestamp\tpath\n1\t1115366400\t2005/05/routeviews-{kind}-20050505-1200.pfx2as.gz\n"
        log += f"2\t1780000000\t{path}\n"
        pub.routes[f"/{family}/pfx2as-creation.log"] = Route(log.encode())
        pub.routes[f"/{family}/{path}"] = Route(_pfx2as(asn))
    asn_record = {"autonomous_system_number": 13335, "autonomous_system_organization": "Cloudflare, Inc."}
    country_record = {"country": {"iso_code": "AU"}}
    pub.routes[f"/free/dbip-asn-lite-{LAST_MONTH}.mmdb.gz"] = Route(
        gzip.compress(_mmdb("DBIP-ASN-Lite (compat=GeoLite2-ASN)", asn_record))
    )
    pub.routes[f"/free/dbip-country-lite-{LAST_MONTH}.mmdb.gz"] = Route(
        gzip.compress(_mmdb("DBIP-Country-Lite", country_record))
    )
    for edition in ("GeoLite2-ASN", "GeoLite2-Country"):
        tar = _maxmind_tar(edition, "20261204")
        sha = f"{hashlib.sha256(tar).hexdigest()}  {edition}_20261204.tar.gz\n".encode()
        pub.routes[f"/app/geoip_download?{edition}&tar.gz"] = Route(tar)
        pub.routes[f"/app/geoip_download?{edition}&tar.gz.sha256"] = Route(sha)


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    pub = Publisher()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            pub.requests.append(self.path)
            key = parts.path
            if parts.path == "/app/geoip_download":
                query = parse_qs(parts.query)
                if query.get("license_key") != [KEY]:
                    self.send_error(401, "Invalid license key")
                    return
                key = f"{parts.path}?{query['edition_id'][0]}&{query['suffix'][0]}"
            route = pub.routes.get(key)
            if route is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body[: len(route.body) // 2] if route.truncate else route.body)
            if route.truncate:
                self.close_connection = True

        def log_message(self, *args: object) -> None:
            return None

    http = LocalHTTP(Handler)
    pub.url = http.url
    yield pub
    http.close()


def settings_for(pub: Publisher, directory: Path) -> DataSettings:
    return DataSettings(
        directory=directory,
        routeviews_url=f"{pub.url}/routeviews-prefix2as",
        routeviews6_url=f"{pub.url}/routeviews6-prefix2as",
        dbip_url=f"{pub.url}/free",
        maxmind_url=f"{pub.url}/app/geoip_download",
        min_prefixes=100,
        timeout_seconds=5,
    )


def env_for(pub: Publisher, directory: Path) -> dict[str, str]:
    values = settings_for(pub, directory).model_dump(mode="json", exclude={"maxmind_editions"})
    return {f"COWRIEPROCESSOR_DATA__{k.upper()}": str(v) for k, v in values.items() if v is not None}


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_update_fetches_verifies_and_installs_every_dataset(publisher: Publisher, tmp_path: Path) -> None:
    publish_all(publisher)
    outcomes = Updater(settings_for(publisher, tmp_path), environ={"MAXMIND_LICENSE_KEY": KEY}).run()
    assert {o.dataset: o.status for o in outcomes} == dict.fromkeys(
        ["routeviews-v4", "routeviews-v6", "dbip-asn-lite", "dbip-country-lite", "GeoLite2-ASN", "GeoLite2-Country"],
        "updated",
    )
    assert sorted(p.name for p in (tmp_path / "routing_history").iterdir()) == [
        "routeviews-rv2-20261205-1200.pfx2as.gz",
        "routeviews-rv6-20261205-1200.pfx2as.gz",
    ]
    assert sorted(p.name for p in (tmp_path / "mmdb").iterdir()) == [
        "GeoLite2-ASN.mmdb", "GeoLite2-Country.mmdb", "dbip-asn-lite.mmdb", "dbip-country-lite.mmdb",
    ]  # fmt: skip
    manifest = json.loads((tmp_path / "datasets.json").read_text())["datasets"]
    assert manifest["dbip-asn-lite"]["month"] == LAST_MONTH  # this month's was not published: last month's
    assert manifest["routeviews-v4"]["date"] == "2026-12-05" and manifest["routeviews-v4"]["prefixes"] == 300
    assert manifest["GeoLite2-ASN"]["date"] == "2026-12-04"
    assert KEY not in (tmp_path / "datasets.json").read_text()
    assert not (tmp_path / ".incoming").exists()
    # a second run downloads nothing: every dataset is current
    before = len(publisher.requests)
    again = Updater(settings_for(publisher, tmp_path), environ={"MAXMIND_LICENSE_KEY": KEY}).run()
    assert {o.status for o in again} == {"current"}
    later = publisher.requests[before:]  # only the lists, and the not-yet-published month of DB-IP
    assert not any(LAST_MONTH in r or r.endswith((".pfx2as.gz", "suffix=tar.gz")) for r in later), later


def test_routing_history_accumulates_by_date(publisher: Publisher, tmp_path: Path) -> None:
    publish_all(publisher, v4_date="20261204")
    Updater(settings_for(publisher, tmp_path), environ={}).run({"routeviews-v4"})
    publish_all(publisher, v4_date="20261205")
    Updater(settings_for(publisher, tmp_path), environ={}).run({"routeviews-v4"})
    assert len(list((tmp_path / "routing_history").glob("routeviews-rv2-*"))) == 2
    manifest = json.loads((tmp_path / "datasets.json").read_text())["datasets"]
    assert manifest["routeviews-v4"]["snapshots"] == 2 and manifest["routeviews-v4"]["date"] == "2026-12-05"


@pytest.mark.parametrize(
    ("dataset", "route", "spoil", "reason"),
    [
        ("dbip-asn-lite", f"/free/dbip-asn-lite-{LAST_MONTH}.mmdb.gz", "truncate", "truncated"),
        ("dbip-asn-lite", f"/free/dbip-asn-lite-{LAST_MONTH}.mmdb.gz", "corrupt", "not a valid .mmdb"),
        ("dbip-country-lite", f"/free/dbip-country-lite-{LAST_MONTH}.mmdb.gz", "cut_gzip", "corrupt or truncated"),
        ("routeviews-v4", "/routeviews-prefix2as/2026/12/routeviews-rv2-20261206-1200.pfx2as.gz", "cut_gzip",
         "corrupt or truncated gzip"),
        ("routeviews-v4", "/routeviews-prefix2as/2026/12/routeviews-rv2-20261206-1200.pfx2as.gz", "truncate",
         "truncated"),
        ("GeoLite2-ASN", "/app/geoip_download?GeoLite2-ASN&tar.gz", "corrupt", "checksum mismatch"),
    ],
)  # fmt: skip
def test_a_failed_update_changes_nothing(
    publisher: Publisher, tmp_path: Path, dataset: str, route: str, spoil: str, reason: str
) -> None:
    publish_all(publisher)
    settings = settings_for(publisher, tmp_path)
    Updater(settings, environ={"MAXMIND_LICENSE_KEY": KEY}).run()
    before = _snapshot(tmp_path)
    # the publisher now offers something newer, which arrives damaged
    publish_all(publisher, v4_date="20261206")
    for edition in ("GeoLite2-ASN",):  # a new MaxMind release: new checksum, spoiled archive
        tar = _maxmind_tar(edition, "20261206")
        sha = f"{hashlib.sha256(tar).hexdigest()}  {edition}_20261206.tar.gz\n".encode()
        publisher.routes[f"/app/geoip_download?{edition}&tar.gz.sha256"] = Route(sha)
        publisher.routes[f"/app/geoip_download?{edition}&tar.gz"] = Route(tar)
    if dataset.startswith("dbip"):  # this month's edition appears
        publisher.routes[route.replace(LAST_MONTH, MONTH)] = publisher.routes[route]
        route = route.replace(LAST_MONTH, MONTH)
    good = publisher.routes[route].body
    if spoil == "truncate":
        publisher.routes[route] = Route(good, truncate=True)
    elif spoil == "corrupt":
        publisher.routes[route] = Route(
            gzip.compress(b"\x00not a database\xff" * 100) if "dbip" in route else good[:-9] + b"123456789"
        )
    else:
        publisher.routes[route] = Route(good[: len(good) - 40])  # a complete HTTP body, a cut gzip stream
    outcomes = {o.dataset: o for o in Updater(settings, environ={"MAXMIND_LICENSE_KEY": KEY}).run({dataset})}
    assert outcomes[dataset].status == "failed" and reason in outcomes[dataset].detail
    assert KEY not in outcomes[dataset].detail
    assert _snapshot(tmp_path) == before  # files and manifest exactly as they were


def test_maxmind_needs_its_key_and_never_shows_it(publisher: Publisher, tmp_path: Path) -> None:
    publish_all(publisher)
    skipped = Updater(settings_for(publisher, tmp_path), environ={}).run({"GeoLite2-ASN"})
    assert [(o.status, o.detail) for o in skipped] == [("skipped", "MAXMIND_LICENSE_KEY is not set")]
    wrong = Updater(settings_for(publisher, tmp_path), environ={"MAXMIND_LICENSE_KEY": "bad-key-123"}).run(
        {"GeoLite2-ASN"}
    )
    assert wrong[0].status == "failed" and "HTTP 401" in wrong[0].detail and "bad-key-123" not in wrong[0].detail


def test_the_licence_key_can_come_from_a_file(publisher: Publisher, tmp_path: Path) -> None:
    publish_all(publisher)
    key_file = tmp_path / "maxmind.key"
    key_file.write_text(KEY + "\n")
    settings = settings_for(publisher, tmp_path / "data").model_copy(update={"maxmind_license_key_file": key_file})
    outcomes = Updater(settings, environ={}).run({"GeoLite2-ASN"})
    assert [(o.dataset, o.status) for o in outcomes] == [("GeoLite2-ASN", "updated")]
    missing = settings.model_copy(update={"maxmind_license_key_file": tmp_path / "absent.key"})
    failed = Updater(missing, environ={"MAXMIND_LICENSE_KEY": KEY}).run({"GeoLite2-Country"})
    assert failed[0].status == "failed" and "cannot read" in failed[0].detail


def test_cli_update_then_status_then_lookup_uses_the_new_data(
    publisher: Publisher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_all(publisher)
    for name, value in env_for(publisher, tmp_path / "data").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MAXMIND_LICENSE_KEY", raising=False)
    monkeypatch.delenv("COWRIEPROCESSOR_CONFIG", raising=False)
    db = f"sqlite:///{tmp_path / 'none.sqlite'}"
    status = runner.invoke(app, ["--db", db, "data", "status", "--format", "json"])
    assert status.exit_code == 0, status.output
    floor = json.loads(status.stdout)["datasets"]
    assert [r["dataset"] for r in floor] == ["embedded (floor)"]
    assert floor[0]["old"] is (floor[0]["age_days"] > 45)  # alone, its age is the data's age

    update = runner.invoke(app, ["--db", db, "data", "update", "--format", "json"])
    assert update.exit_code == 0, update.output
    statuses = {d["dataset"]: d["status"] for d in json.loads(update.stdout)["datasets"]}
    assert statuses["dbip-asn-lite"] == "updated" and statuses["GeoLite2-ASN"] == "skipped"

    status = runner.invoke(app, ["--db", db, "data", "status", "--format", "json"])
    rows = {r["dataset"]: r for r in json.loads(status.stdout)["datasets"]}
    assert set(rows) == {"dbip-asn-lite", "dbip-country-lite", "routeviews-v4", "routeviews-v6", "embedded (floor)"}
    assert rows["dbip-asn-lite"]["age_days"] == 0 and rows["dbip-asn-lite"]["bytes"] > 0
    assert rows["routeviews-v4"]["date"] == "2026-12-05"
    assert rows["embedded (floor)"]["old"] is False  # newer data is installed: the floor's age is no concern

    table = runner.invoke(app, ["--db", db, "data", "status"], env={"COLUMNS": "100"})
    assert "dbip-asn-lite" in table.stdout and "embedded (floor) is" not in table.output

    # the maxmind source now reads the downloaded DB-IP files, with no configuration
    lookup = runner.invoke(app, ["--db", db, "lookup", "1.1.1.1", "--format", "json"])
    assert lookup.exit_code == 0, lookup.output
    answer = json.loads(lookup.stdout)["results"]["1.1.1.1"]["maxmind"]
    assert answer["status"] == "found" and answer["data"]["asn"] == 13335


def test_status_warns_about_an_old_dataset(
    publisher: Publisher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_all(publisher)
    Updater(settings_for(publisher, tmp_path), environ={}).run({"dbip-asn-lite"})
    manifest = json.loads((tmp_path / "datasets.json").read_text())
    manifest["datasets"]["dbip-asn-lite"]["date"] = (TODAY - dt.timedelta(days=60)).isoformat()
    (tmp_path / "datasets.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("COWRIEPROCESSOR_DATA__DIRECTORY", str(tmp_path))
    monkeypatch.setenv("COWRIEPROCESSOR_DATA__MAX_AGE_DAYS", "30")
    result = runner.invoke(app, ["--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "data", "status"])
    assert result.exit_code == 0, result.output
    assert "dbip-asn-lite is 60 days old (more than 30)" in result.output


def test_unknown_dataset_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COWRIEPROCESSOR_DATA__DIRECTORY", str(tmp_path))
    result = runner.invoke(app, ["--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "data", "update", "--only", "nope"])
    assert result.exit_code == 2 and "unknown dataset" in result.output
    assert not (tmp_path / "datasets.json").exists()
