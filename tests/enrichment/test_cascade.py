"""The cascade: validation gates, every source answers or fails alone, the configuration builds it."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.enrichment import registry
from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, result
from cowrieprocessor.enrichment.cascade import ORDER, Cascade, build_sources
from cowrieprocessor.enrichment.ledger import MemoryLedger
from cowrieprocessor.enrichment.settings import ProvidersSettings
from cowrieprocessor.enrichment.validation import ValidationSource
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import IPInventory
from tests.enrichment.conftest import FakeWhois
from tests.tiers.conftest import NOW, add_session, write_mmdb

runner = CliRunner()


class Recorder:
    online = True

    def __init__(self, name: str, fail: BaseException | None = None) -> None:
        self.name = name
        self.fail = fail
        self.asked: list[list[str]] = []
        self.at: list[dt.datetime | None] = []

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
        self.asked.append(list(ips))
        self.at.append(at)
        if self.fail is not None:
            raise self.fail
        return {ip: result(self.name, ip, LookupStatus.FOUND, {"asn": 64500}) for ip in ips[:-1]}

    def close(self) -> None:
        return None


def test_bogons_and_garbage_go_to_no_other_source() -> None:
    recorder = Recorder("cymru")
    at = dt.datetime(2023, 7, 1, tzinfo=dt.UTC)
    out = Cascade([ValidationSource(), recorder]).run(
        ["45.83.66.18", "10.0.0.1", "100.64.1.1", "224.0.0.1", "fe80::1", "x", "2a02:8100::1", "45.83.66.18"], at=at
    )
    assert recorder.asked == [["45.83.66.18", "2a02:8100::1"]] and recorder.at == [at]
    assert set(out["10.0.0.1"]) == {"validation"}
    assert out["224.0.0.1"]["validation"].data["reason"] == "multicast"  # type: ignore[index]
    assert out["x"]["validation"].status is LookupStatus.ERROR and set(out["x"]) == {"validation"}
    assert out["45.83.66.18"]["cymru"].status is LookupStatus.FOUND
    # A source that leaves an IP out still yields a result for it.
    assert out["2a02:8100::1"]["cymru"].status is LookupStatus.ERROR


def test_a_raising_source_is_an_outcome_not_a_crash() -> None:
    broken = Recorder("spur", fail=RuntimeError("boom"))
    after = Recorder("abuseipdb")
    out = Cascade([broken, after]).run(["45.83.66.18", "91.7.8.9"])  # validation is added when missing
    assert out["45.83.66.18"]["validation"].status is LookupStatus.FOUND
    assert out["45.83.66.18"]["spur"].status is LookupStatus.ERROR
    assert out["45.83.66.18"]["spur"].error == "source failed: RuntimeError"
    assert after.asked == [["45.83.66.18", "91.7.8.9"]]


def test_database_errors_are_not_swallowed() -> None:
    broken = Recorder("cymru", fail=OperationalError("INSERT", {}, Exception("disk full")))
    with pytest.raises(OperationalError):
        Cascade([broken]).run(["45.83.66.18"])


def test_built_from_settings_in_cascade_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GREYNOISE_API_KEY", "SPUR_TOKEN", "ABUSEIPDB_API_KEY", "DSHIELD_CONTACT"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "rh").mkdir()
    (tmp_path / "rh" / "ipasn_20240101.dat").write_text("45.83.64.0/22\t208843\n")
    whois = FakeWhois(
        lambda ips: "".join(
            f"208843 | {ip} | 45.83.64.0/22 | DE | ripencc | 2020-01-01 | ALPHASTRIKE-RESEARCH, DE\n" for ip in ips
        )
    )
    try:
        settings = ProvidersSettings.model_validate(
            {
                "routing_history": {"directory": str(tmp_path / "rh")},
                "cymru": {"enabled": True, "whois_server": whois.address, "rate_per_second": 1000},
            }
        )
        ledger = MemoryLedger()
        sources = build_sources(settings, ledger)
        names = [s.name for s in sources]
        assert names == ["validation", "routing_history", "embedded", "cymru"]
        assert names == [n for n in ORDER if n in names]
        cascade = Cascade(sources, ledger)
        out = cascade.run(["45.83.66.18", "45.83.65.1", "192.168.0.1"], at=dt.datetime(2024, 2, 1, tzinfo=dt.UTC))
        cascade.close()
    finally:
        whois.close()
    assert out["45.83.66.18"]["routing_history"].data["asn"] == 208843  # type: ignore[index]
    assert out["45.83.66.18"]["cymru"].data["as_name"] == "ALPHASTRIKE-RESEARCH, DE"  # type: ignore[index]
    assert set(out["192.168.0.1"]) == {"validation"}
    assert whois.queries == [["45.83.66.18", "45.83.65.1"]]  # one bulk connection for the batch
    assert [(c.source, c.batch_size) for c in ledger.calls] == [("cymru", 2)]  # offline sources: no rows


# -- lookup and enrich: one cascade ---------------------------------------------------------------------------


class Broken(Recorder):
    """Raises for every batch: its failure must read the same in ``lookup`` and in the stored provenance."""

    def __init__(self) -> None:
        super().__init__("broken", fail=RuntimeError("boom"))


class Partial(Recorder):
    """Leaves one address out and knows nothing of another: both paths fill in the missing answer alike."""

    def __init__(self) -> None:
        super().__init__("partial")

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
        self.asked.append(list(ips))
        return {
            ip: result(self.name, ip, LookupStatus.NOT_FOUND if ip == ISP else LookupStatus.FOUND, {"seen": ip})
            for ip in ips
            if ip != UNKNOWN
        }


HOSTING, ISP, V6, UNKNOWN = "45.133.10.7", "91.240.118.22", "2a0e:1c80:1::5", "185.1.2.3"
BOGONS = ("10.1.2.3", "100.64.0.9")


@pytest.fixture
def odd_sources() -> Iterator[None]:
    entries = [
        registry.SourceEntry("broken", 94, lambda ctx: Broken()),
        registry.SourceEntry("partial", 95, lambda ctx: Partial()),
    ]
    with contextlib.ExitStack() as stack:
        for entry in entries:
            stack.enter_context(registry.registered(entry))
        yield


def test_lookup_shows_what_enrich_stores(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, odd_sources: None
) -> None:
    """The same IPs through both commands: the same sources asked, the same answers, provenance and errors."""
    for var in ("GREYNOISE_API_KEY", "SPUR_TOKEN", "ABUSEIPDB_API_KEY", "DSHIELD_CONTACT", "COWRIEPROCESSOR_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    mmdb = write_mmdb(tmp_path / "geo.mmdb", {"45.133.10.0/24": (64500, "EXAMPLE-HOSTING LLC", "NL"),
                                              "91.240.118.0/24": (64501, "Example Broadband", "BR"),
                                              "2a0e:1c80:1::/48": (64502, "Example Cloud Six", "DE")})  # fmt: skip
    monkeypatch.setenv("COWRIEPROCESSOR_PROVIDERS__MAXMIND__PATHS", str(mmdb))
    ips = [HOSTING, ISP, V6, UNKNOWN, *BOGONS]
    engine = make_engine(db_url)
    try:
        for n, ip in enumerate(ips):
            add_session(engine, f"s{n}", ip, NOW)
        looked = runner.invoke(app, ["--db", db_url, "lookup", *ips, "--format", "json"])
        assert looked.exit_code == 0, looked.output
        enriched = runner.invoke(app, ["--db", db_url, "enrich", "--format", "json"])
        assert enriched.exit_code == 0, enriched.output
        with Session(engine) as session:
            rows = {r.ip_address: r for r in session.scalars(select(IPInventory))}
    finally:
        engine.dispose()
    answers = json.loads(looked.stdout)["results"]
    sources = json.loads(enriched.stdout)["sources"]
    assert sources == ["validation", "maxmind", "embedded", "broken", "partial"]
    assert answers[UNKNOWN]["partial"]["error"] == "no answer from source"
    assert answers[HOSTING]["broken"]["error"] == "source failed: RuntimeError"
    for ip in ips:
        row = rows[ip]
        if ip in BOGONS:
            assert list(answers[ip]) == ["validation"]
            assert all(row.provenance[s]["reason"] == "bogon" for s in sources[1:])
        else:
            assert list(answers[ip]) == sources and set(row.provenance) == set(sources)
        for source, answer in answers[ip].items():
            stored = row.provenance[source]
            assert (stored["status"], stored["version"]) == (answer["status"], answer["provenance"]["version"]), ip
            assert stored.get("error") == answer["error"], (ip, source)
            kept = answer["data"] if answer["status"] in ("found", "not_found") else None
            assert row.enrichment.get(source) == kept, (ip, source)
