"""The artifact pass on both backends: inventories from the transfers, host names resolved through a local
DNS server, each unique file/URL/host asked once per source (the ledger proves it), unknowns re-asked after
the shorter TTL, payload hosts' addresses through the IP tiers, and the questions answered from it."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cowrieprocessor.analysis.artifacts import file_detail, files, payload_hosts
from cowrieprocessor.config import EnrichSettings, FreshnessSettings
from cowrieprocessor.enrichment.artifacts.alone import asking_alone
from cowrieprocessor.enrichment.artifacts.artifact_pass import ArtifactPass
from cowrieprocessor.enrichment.artifacts.http import url_key
from cowrieprocessor.enrichment.artifacts.resolve import HostResolver
from cowrieprocessor.enrichment.artifacts.settings import ArtifactSettings
from cowrieprocessor.enrichment.artifacts.sources import build_artifact_sources
from cowrieprocessor.enrichment.embedded import EmbeddedSource
from cowrieprocessor.enrichment.ledger import DatabaseLedger
from cowrieprocessor.enrichment.settings import ProvidersSettings
from cowrieprocessor.enrichment.validation import ValidationSource
from cowrieprocessor.storage.models import (
    FileInventory,
    FileTransfer,
    IPInventory,
    PayloadHost,
    PayloadHostAddress,
    ProviderCall,
    URLInventory,
)
from cowrieprocessor.tiers.enrichment_pass import EnrichmentPass
from cowrieprocessor.tiers.freshness import FreshnessPolicy
from tests.enrichment.artifacts.conftest import ABUSE_KEY, VT_KEY, AddressDNS, FakeProviders, vt_attributes
from tests.enrichment.conftest import FakeClock
from tests.tiers.conftest import add_session

A, B, C, D = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)
X86, ARM = "http://payload.example/bins/x86", "http://payload.example/bins/arm"
SCRIPT, DEAD = "http://1.1.1.1/m.sh", "http://gone.example/y"
#: what each session does: (url, shasum) - D is uploaded (no URL), DEAD fails (no hash)
SCRIPTS = [
    [(X86, A), (ARM, B), (SCRIPT, C)],
    [(X86, A), (DEAD, None)],
    [(None, D), (X86, A), (X86, A)],
]
ATTACK = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)


def _load(engine: Engine, sessions: int = 60, ips: int = 12) -> Counter[str]:
    """Sessions from ``ips`` addresses replaying the three scripts; the downloads per hash."""
    per_hash: Counter[str] = Counter()
    uid = itertools.count()
    for n in range(sessions):
        sid = f"s{n:04d}"
        when = ATTACK + dt.timedelta(minutes=n)
        add_session(engine, sid, f"203.0.113.{n % ips + 1}", when, sensor=f"sensor-{n % 2}")
        with Session(engine) as session:
            for url, sha in SCRIPTS[n % len(SCRIPTS)]:
                session.add(
                    FileTransfer(
                        event_uid=f"e{next(uid)}", session_id=sid, event_time=when + dt.timedelta(seconds=5),
                        direction="upload" if url is None else "download",
                        outcome="failed" if sha is None else "success",
                        url=url, shasum=sha, filename="/tmp/up" if url is None else None,
                        destfile=None if url is None else "/tmp/." + url.rsplit("/", 1)[1],
                    )
                )  # fmt: skip
                if sha:
                    per_hash[sha] += 1
            session.commit()
    return per_hash


@pytest.fixture
def dns() -> Iterator[AddressDNS]:
    server = AddressDNS({"payload.example": ["8.8.8.8", "2001:4860:4860::8888"]})
    yield server
    server.close()


def _settings(providers: FakeProviders, dns: AddressDNS, directory: Path | None = None) -> ArtifactSettings:
    return ArtifactSettings(
        directory=directory,
        dns_server=dns.address,
        dns={"enabled": True, "rate_per_second": 1000.0, "timeout_seconds": 2.0, "max_attempts": 1},  # type: ignore[arg-type]
    )


def _providers(providers: FakeProviders) -> ProvidersSettings:
    fast = {"base_url": providers.url, "rate_per_second": 1000.0}
    return ProvidersSettings.model_validate(
        {n: fast for n in ("virustotal", "malwarebazaar", "urlhaus_url", "urlhaus_host")}
    )


def _known(providers: FakeProviders) -> None:
    providers.vt[A] = vt_attributes(A, first_submission=1_600_000_000)  # 2020: known long before us
    providers.vt[C] = vt_attributes(C, malicious=3, first_submission=1_750_000_000)  # 2025: we saw it first
    providers.bazaar[D] = {"sha256_hash": D, "signature": "XorDDoS", "file_type": "elf"}
    providers.urls[X86] = {"url": X86, "url_status": "online", "threat": "malware_download", "tags": ["mirai"]}
    providers.hosts["payload.example"] = {"host": "payload.example", "url_count": "9", "urls": []}


class Run:
    def __init__(
        self, engine: Engine, settings: ArtifactSettings, providers: ProvidersSettings, clock: FakeClock
    ) -> None:
        self.engine, self.settings, self.providers, self.clock = engine, settings, providers, clock
        self.offset = dt.timedelta(0)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def __call__(self, *, ip_pass: bool = True) -> ArtifactPass:
        ledger = DatabaseLedger(self.engine)
        sources = build_artifact_sources(self.providers, ledger, clock=self.clock)
        resolver = HostResolver(self.settings.dns, ledger, server=self.settings.dns_server, clock=self.clock)
        step = ArtifactPass(self.engine, sources, self.settings, resolver=resolver, clock=self.now)
        try:
            step.prepare()
            if ip_pass:
                EnrichmentPass(
                    self.engine, [ValidationSource(), EmbeddedSource()], FreshnessPolicy(FreshnessSettings()),
                    EnrichSettings(), clock=self.now,
                ).run()  # fmt: skip
            step.finish()
        finally:
            step.close()
            ledger.flush()
        return step


@pytest.fixture
def run(engine: Engine, providers: FakeProviders, dns: AddressDNS, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("VIRUSTOTAL_API_KEY", VT_KEY)
    monkeypatch.setenv("ABUSECH_AUTH_KEY", ABUSE_KEY)
    _known(providers)
    return Run(engine, _settings(providers, dns), _providers(providers), FakeClock())


def _calls(engine: Engine) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    with engine.connect() as conn:
        for source, key in conn.execute(select(ProviderCall.source, ProviderCall.lookup_key)):
            out.setdefault(source, Counter())[key] += 1
    return out


def test_inventories_count_what_the_transfers_hold(engine: Engine, run: Run) -> None:
    per_hash = _load(engine)
    step = run()
    assert (step.report.files, step.report.urls, step.report.hosts) == (4, 4, 3)
    with Session(engine) as session:
        rows = {f.sha256: f for f in session.scalars(select(FileInventory))}
        assert {sha: f.download_count for sha, f in rows.items()} == dict(per_hash)
        assert rows[A].session_count == 60 and rows[A].url_count == 1 and rows[A].source_ip_count == 12
        assert rows[D].file_names == ["/tmp/up"] and rows[A].sensors == ["sensor-0", "sensor-1"]
        assert rows[A].first_seen == ATTACK + dt.timedelta(seconds=5)
        urls = {u.url: u for u in session.scalars(select(URLInventory))}
        assert set(urls) == {X86, ARM, SCRIPT, DEAD}
        assert urls[DEAD].file_count == 0 and urls[DEAD].download_count == 20 and urls[X86].download_count == 80
        hosts = {h.host: h for h in session.scalars(select(PayloadHost))}
        assert {h: (v.is_address, v.url_count) for h, v in hosts.items()} == {
            "payload.example": (False, 2), "1.1.1.1": (True, 1), "gone.example": (False, 1),
        }  # fmt: skip


def test_one_call_per_unique_subject_per_source_and_none_on_a_second_run(
    engine: Engine, run: Run, providers: FakeProviders
) -> None:
    _load(engine)
    run()
    calls = _calls(engine)
    assert calls["virustotal"] == Counter({A: 1, B: 1, C: 1, D: 1})
    assert calls["malwarebazaar"] == Counter({A: 1, B: 1, C: 1, D: 1})
    assert calls["urlhaus_url"] == Counter({url_key(u): 1 for u in (X86, ARM, SCRIPT, DEAD)})
    assert calls["urlhaus_host"] == Counter({"payload.example": 1, "1.1.1.1": 1, "gone.example": 1})
    assert calls["dns"] == Counter({"payload.example": 1, "gone.example": 1})  # an address needs no DNS
    asked = len(providers.requests)
    assert asked == 4 + 4 + 4 + 3

    run()  # nothing expired: not one call, whatever the 140 transfer events
    assert _calls(engine) == calls and len(providers.requests) == asked


def test_unknowns_are_kept_and_asked_again_after_the_shorter_ttl(engine: Engine, run: Run) -> None:
    _load(engine)
    run()
    with Session(engine) as session:
        b = session.get(FileInventory, B)
        assert b is not None and b.provenance["virustotal"]["status"] == "not_found"
        assert "virustotal" not in b.enrichment
    before = _calls(engine)
    run.offset = dt.timedelta(days=run.settings.unknown_days + 1)  # past unknown_days, before found_days
    run(ip_pass=False)
    after = _calls(engine)
    again = {s: after[s] - before.get(s, Counter()) for s in after}
    assert again["virustotal"] == Counter({B: 1, D: 1})
    assert again["malwarebazaar"] == Counter({A: 1, B: 1, C: 1})
    assert again["urlhaus_url"] == Counter({url_key(u): 1 for u in (ARM, SCRIPT, DEAD)})
    assert again["urlhaus_host"] == Counter({"1.1.1.1": 1, "gone.example": 1})
    assert again["dns"] == Counter({"payload.example": 1, "gone.example": 1})  # resolve_days (1) passed too


def test_payload_hosts_go_through_the_ip_tiers_then_and_now(engine: Engine, run: Run) -> None:
    _load(engine)
    run()
    with Session(engine) as session:
        addresses = {(a.host, a.ip_address): a for a in session.scalars(select(PayloadHostAddress))}
        assert set(addresses) == {
            ("payload.example", "8.8.8.8"), ("payload.example", "2001:4860:4860::8888"), ("1.1.1.1", "1.1.1.1"),
        }  # fmt: skip
        for ip in ("8.8.8.8", "1.1.1.1"):
            row = session.get(IPInventory, ip)
            assert row is not None and row.enrichment_updated_at is not None  # enriched like an attacker's IP
        assert addresses[("payload.example", "8.8.8.8")].asn_at_resolution == 15169
        assert addresses[("1.1.1.1", "1.1.1.1")].asn_at_resolution == 13335
        gone = session.get(PayloadHost, "gone.example")
        assert gone is not None and gone.resolution is not None and gone.resolution["rcode"] == "NXDOMAIN"
        resolved = session.get(PayloadHost, "payload.example")
        assert resolved is not None and resolved.resolution is not None
        assert sorted(resolved.resolution["addresses"]) == ["2001:4860:4860::8888", "8.8.8.8"]

    serving_a = payload_hosts(engine, sha256=A)
    assert {(r.host, r.ip, r.asn_then, r.asn_now) for r in serving_a} == {
        ("payload.example", "8.8.8.8", 15169, 15169),
        ("payload.example", "2001:4860:4860::8888", 15169, 15169),
    }
    assert {r.urlhaus for r in serving_a} == {"listed (9 URLs)"}
    assert {r.host for r in payload_hosts(engine)} == {"payload.example", "1.1.1.1", "gone.example"}


def test_files_verdicts_and_novelty(engine: Engine, run: Run) -> None:
    _load(engine)
    run()
    rows = {r.sha256: r for r in files(engine)}
    assert rows[A].detections == "41/64" and rows[A].label == "trojan.mirai/gafgyt" and not rows[A].novel
    assert rows[D].label == "XorDDoS" and rows[D].status == "known" and not rows[D].novel
    assert rows[B].status == "unknown" and rows[B].novel  # unknown to every source
    assert rows[C].novel  # seen here (2024) before VirusTotal's first submission (2025)
    assert rows[A].asns == 0  # the sessions' snapshots: test IPs (TEST-NET) have no ASN
    assert {r.sha256 for r in files(engine, novel=True)} == {B, C}
    detail = file_detail(engine, A.upper())
    assert detail is not None and detail.urls == [X86]
    assert detail.sources["virustotal"]["status"] == "found"
    assert sum(ip["sessions"] for ip in detail.source_ips) == 60
    assert file_detail(engine, "e" * 64) is None


def test_artifacts_directory_gives_size_and_type(engine: Engine, run: Run, tmp_path: Path) -> None:
    _load(engine, sessions=3)
    (tmp_path / A).write_bytes(b"#!/bin/sh\nwget http://x/y\n")
    run.settings = run.settings.model_copy(update={"directory": tmp_path})
    run(ip_pass=False)
    with Session(engine) as session:
        a, b = session.get(FileInventory, A), session.get(FileInventory, B)
        assert a is not None and (a.size_bytes, a.file_type) == (26, "sh script")
        assert b is not None and b.size_bytes is None and b.artifact_checked_at is not None
        assert session.scalar(select(func.count()).select_from(FileInventory)) == 4


def test_the_digest_names_each_new_files_verdict(engine: Engine, run: Run) -> None:
    from cowrieprocessor.report.digest import compute

    _load(engine)
    before = compute(engine, ATTACK - dt.timedelta(days=1), ATTACK + dt.timedelta(days=1))
    assert all("verdict" not in i for i in before["new_downloads"]["items"])  # nobody asked yet
    run(ip_pass=False)
    body = compute(engine, ATTACK - dt.timedelta(days=1), ATTACK + dt.timedelta(days=1))
    items = {i["key"]: i for i in body["new_downloads"]["items"]}
    assert items[A]["verdict"] == "VT 41/64 · trojan.mirai/gafgyt"
    assert items[B]["verdict"] == "unknown to every source · novel"
    assert items[D]["verdict"] == "XorDDoS"


def test_one_process_at_a_time_asks_the_artifact_sources(engine: Engine, run: Run, providers: FakeProviders) -> None:
    """While another process holds the asking step (here: this test, through its own connection or file
    handle), a run asks nobody and says so; once it is free, the next run asks what is due, once."""
    _load(engine)
    with asking_alone(engine) as held:
        assert held
        with asking_alone(engine) as second:
            assert not second  # the lock is not re-entrant: a second holder would ask twice
        step = run()
        assert step.report.busy and step.report.as_json()["busy"] is True
        assert not providers.requests and "virustotal" not in _calls(engine)
        assert step.report.files == 4  # the inventories are still counted
    step = run()
    assert not step.report.busy and _calls(engine)["virustotal"] == Counter({A: 1, B: 1, C: 1, D: 1})
