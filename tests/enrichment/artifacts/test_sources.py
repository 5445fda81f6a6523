"""Each artifact source against a local server speaking its provider's wire format: real httpx, real guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from cowrieprocessor.enrichment import registry
from cowrieprocessor.enrichment.artifacts.abusech import MalwareBazaarSource, URLhausHostSource, URLhausURLSource
from cowrieprocessor.enrichment.artifacts.http import url_key
from cowrieprocessor.enrichment.artifacts.settings import ArtifactSettings
from cowrieprocessor.enrichment.artifacts.sources import build_artifact_sources
from cowrieprocessor.enrichment.artifacts.virustotal import VirusTotalSource
from cowrieprocessor.enrichment.base import LookupStatus
from cowrieprocessor.enrichment.ledger import MemoryLedger, Outcome
from cowrieprocessor.enrichment.settings import ProvidersSettings, SourceSettings
from tests.enrichment.artifacts.conftest import ABUSE_KEY, VT_KEY, FakeProviders, vt_attributes
from tests.enrichment.conftest import FakeClock

KNOWN = "a" * 64
UNKNOWN = "b" * 64


def _section(providers: FakeProviders, **extra: object) -> SourceSettings:
    return SourceSettings(base_url=providers.url, rate_per_second=1000.0, **extra)  # type: ignore[arg-type]


def test_virustotal_found_keeps_documented_fields_and_404_is_unknown(
    providers: FakeProviders, clock: FakeClock, ledger: MemoryLedger
) -> None:
    providers.vt[KNOWN] = vt_attributes(KNOWN)
    source = VirusTotalSource(_section(providers), ledger, key=VT_KEY, clock=clock)
    answers = source.lookup_many([KNOWN, UNKNOWN])
    source.close()
    found = answers[KNOWN]
    assert found.status is LookupStatus.FOUND and found.data is not None
    assert found.data["last_analysis_stats"]["malicious"] == 41
    assert found.data["popular_threat_classification"]["suggested_threat_label"] == "trojan.mirai/gafgyt"
    assert found.data["first_submission_date"] == 1_700_000_000
    assert "last_analysis_results" not in found.data  # undocumented for us: never stored
    assert answers[UNKNOWN].status is LookupStatus.NOT_FOUND and answers[UNKNOWN].data is None
    assert [(c.lookup_key, c.outcome) for c in ledger.calls] == [(KNOWN, Outcome.FOUND), (UNKNOWN, Outcome.NOT_FOUND)]
    assert {r.headers["x-apikey"] for r in providers.asked("/api/v3/files/")} == {VT_KEY}


def test_virustotal_wrong_key_is_an_error_not_unknown(
    providers: FakeProviders, clock: FakeClock, ledger: MemoryLedger
) -> None:
    source = VirusTotalSource(_section(providers), ledger, key="wrong", clock=clock)
    answer = source.lookup_many([KNOWN])[KNOWN]
    source.close()
    assert answer.status is LookupStatus.ERROR
    assert ledger.calls[0].http_status == 401


def test_virustotal_429_is_waited_for_then_answered(
    providers: FakeProviders, clock: FakeClock, ledger: MemoryLedger
) -> None:
    providers.vt[KNOWN] = vt_attributes(KNOWN)
    providers.throttle["/api/v3/files/"] = 1
    source = VirusTotalSource(_section(providers), ledger, key=VT_KEY, clock=clock)
    answer = source.lookup_many([KNOWN])[KNOWN]
    source.close()
    assert answer.status is LookupStatus.FOUND
    assert [c.outcome for c in ledger.calls] == [Outcome.RATE_LIMITED, Outcome.FOUND]
    assert any(s >= 1.0 for s in clock.sleeps)  # Retry-After honoured (on the fake clock)


def test_malwarebazaar_get_info_form_and_hash_not_found(
    providers: FakeProviders, clock: FakeClock, ledger: MemoryLedger
) -> None:
    providers.bazaar[KNOWN] = {
        "sha256_hash": KNOWN, "file_name": "x86", "file_size": 1234, "file_type": "elf", "signature": "Mirai",
        "tags": ["mirai", "elf"], "first_seen": "2024-01-02 03:04:05", "reporter": "abuse_ch",
        "vendor_intel": {"huge": "not kept"},
    }  # fmt: skip
    source = MalwareBazaarSource(_section(providers), ledger, key=ABUSE_KEY, clock=clock)
    answers = source.lookup_many([KNOWN, UNKNOWN])
    source.close()
    assert answers[KNOWN].status is LookupStatus.FOUND
    assert answers[KNOWN].data == {
        "sha256_hash": KNOWN, "file_name": "x86", "file_size": 1234, "file_type": "elf", "signature": "Mirai",
        "tags": ["mirai", "elf"], "first_seen": "2024-01-02 03:04:05", "reporter": "abuse_ch",
    }  # fmt: skip
    assert answers[UNKNOWN].status is LookupStatus.NOT_FOUND
    sent = providers.asked("/api/v1/")
    assert [(r.method, r.form) for r in sent] == [
        ("POST", {"query": "get_info", "hash": KNOWN}),
        ("POST", {"query": "get_info", "hash": UNKNOWN}),
    ]
    assert {r.headers["Auth-Key"] for r in sent} == {ABUSE_KEY}


def test_abusech_bad_key_is_an_error(providers: FakeProviders, clock: FakeClock, ledger: MemoryLedger) -> None:
    source = MalwareBazaarSource(_section(providers), ledger, key="nope", clock=clock)
    assert source.lookup_many([KNOWN])[KNOWN].status is LookupStatus.ERROR
    source.close()


def test_unexpected_query_status_is_an_error_naming_it(
    providers: FakeProviders, clock: FakeClock, ledger: MemoryLedger
) -> None:
    class Odd(MalwareBazaarSource):
        def form(self, subject: str) -> dict[str, str] | None:
            return {"query": "get_nothing", "hash": subject}

    source = Odd(_section(providers), ledger, key=ABUSE_KEY, clock=clock)
    answer = source.lookup_many([KNOWN])[KNOWN]
    source.close()
    assert answer.status is LookupStatus.ERROR
    assert ledger.calls[0].error_class == "QueryStatus:unknown_query"


def test_urlhaus_url_is_posted_and_recorded_by_its_hash(
    providers: FakeProviders, clock: FakeClock, ledger: MemoryLedger
) -> None:
    listed, unlisted = "http://198.51.100.7/bins/x86", "http://example.test/a.sh?x=<b>"
    providers.urls[listed] = {
        "id": "123", "urlhaus_reference": "https://urlhaus.abuse.ch/url/123/", "url": listed,
        "url_status": "online", "host": "198.51.100.7", "date_added": "2024-05-01 10:00:00 UTC",
        "threat": "malware_download", "blacklists": {"spamhaus_dbl": "not listed", "surbl": "not listed"},
        "tags": ["elf", "mirai"], "payloads": [{"firstseen": "2024-05-01", "response_sha256": KNOWN}],
    }  # fmt: skip
    source = URLhausURLSource(_section(providers), ledger, key=ABUSE_KEY, clock=clock)
    answers = source.lookup_many([listed, unlisted])
    source.close()
    assert answers[listed].status is LookupStatus.FOUND
    assert answers[listed].data is not None and answers[listed].data["threat"] == "malware_download"
    assert answers[listed].data["payloads"][0]["response_sha256"] == KNOWN
    assert answers[unlisted].status is LookupStatus.NOT_FOUND
    assert [r.form for r in providers.asked("/v1/url/")] == [{"url": listed}, {"url": unlisted}]
    # the ledger holds no URL: its key is the URL's SHA-256 (url_inventory's key)
    assert [c.lookup_key for c in ledger.calls] == [url_key(listed), url_key(unlisted)]


def test_urlhaus_host(providers: FakeProviders, clock: FakeClock, ledger: MemoryLedger) -> None:
    providers.hosts["bad.example"] = {
        "urlhaus_reference": "https://urlhaus.abuse.ch/host/bad.example/", "host": "bad.example",
        "firstseen": "2024-04-01 00:00:00 UTC", "url_count": "17", "blacklists": {"surbl": "listed"},
        "urls": [{"id": "1", "url": "http://bad.example/x", "url_status": "offline", "threat": "malware_download"}],
    }  # fmt: skip
    source = URLhausHostSource(_section(providers), ledger, key=ABUSE_KEY, clock=clock)
    answers = source.lookup_many(["bad.example", "good.example"])
    source.close()
    assert answers["bad.example"].data is not None and answers["bad.example"].data["url_count"] == "17"
    assert answers["good.example"].status is LookupStatus.NOT_FOUND
    assert [r.form for r in providers.asked("/v1/host/")] == [{"host": "bad.example"}, {"host": "good.example"}]


def test_budget_stops_calls_and_is_recorded(providers: FakeProviders, clock: FakeClock, ledger: MemoryLedger) -> None:
    source = VirusTotalSource(_section(providers, daily_budget=1), ledger, key=VT_KEY, clock=clock)
    answers = source.lookup_many([KNOWN, UNKNOWN])
    source.close()
    assert answers[UNKNOWN].status is LookupStatus.SKIPPED
    assert [c.outcome for c in ledger.calls] == [Outcome.NOT_FOUND, Outcome.SKIPPED_BUDGET]
    assert len(providers.asked("/api/v3/")) == 1


def test_free_tier_defaults_and_keys_from_the_environment_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    settings = ProvidersSettings()
    assert settings.virustotal.rate_per_second == pytest.approx(4 / 60)
    assert settings.virustotal.daily_budget == 500
    assert ArtifactSettings().dns.enabled is False  # nothing is sent anywhere until asked for
    for var in ("VIRUSTOTAL_API_KEY", "ABUSECH_AUTH_KEY"):
        monkeypatch.delenv(var, raising=False)
    unavailable: dict[str, str] = {}
    assert build_artifact_sources(settings, MemoryLedger(), unavailable=unavailable) == []
    assert set(unavailable) == {"virustotal", "malwarebazaar", "urlhaus_url", "urlhaus_host"}
    assert unavailable["virustotal"] == "no API key (VIRUSTOTAL_API_KEY): off"  # names where the key goes
    monkeypatch.setenv("ABUSECH_AUTH_KEY", ABUSE_KEY)
    built = build_artifact_sources(settings, MemoryLedger())
    assert sorted(s.name for s in built) == ["malwarebazaar", "urlhaus_host", "urlhaus_url"]
    for source in built:
        source.close()


def test_they_are_registry_entries_of_their_subject(monkeypatch: pytest.MonkeyPatch) -> None:
    """Declared once, in the registry: online, keyed, and the subject the pass and the ledger key agree on."""
    expected = {"file": ("virustotal", "malwarebazaar"), "url": ("urlhaus_url",), "host": ("urlhaus_host",)}
    assert {s: registry.names(s) for s in expected} == expected
    assert not set(registry.names(registry.IP)) & {n for names in expected.values() for n in names}
    monkeypatch.setenv("VIRUSTOTAL_API_KEY", VT_KEY)
    monkeypatch.setenv("ABUSECH_AUTH_KEY", ABUSE_KEY)
    built = build_artifact_sources(ProvidersSettings(), MemoryLedger())
    for source in built:
        entry = registry.get(source.name)
        assert entry.online and entry.key_env in ("VIRUSTOTAL_API_KEY", "ABUSECH_AUTH_KEY")
        assert getattr(source, "subject", None) == entry.subject
        source.close()
    assert [s.name for s in built] == ["virustotal", "malwarebazaar", "urlhaus_url", "urlhaus_host"]


def test_key_never_reaches_the_ledger(providers: FakeProviders, clock: FakeClock, ledger: MemoryLedger) -> None:
    source = VirusTotalSource(_section(providers), ledger, key=VT_KEY, clock=clock)
    source.lookup_many([KNOWN])
    source.close()
    assert VT_KEY not in repr(ledger.calls)


def test_a_key_file_wins_over_the_environment(
    providers: FakeProviders, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VIRUSTOTAL_API_KEY", "from-the-environment")
    key_file = tmp_path / "vt.key"
    key_file.write_text(VT_KEY + "\n", encoding="utf-8")
    settings = ProvidersSettings.model_validate(
        {"virustotal": {"base_url": providers.url, "api_key_file": str(key_file)}}
    )
    monkeypatch.delenv("ABUSECH_AUTH_KEY", raising=False)
    ledger = MemoryLedger()
    (source,) = build_artifact_sources(settings, ledger)
    assert source.lookup_many([KNOWN])[KNOWN].status is LookupStatus.NOT_FOUND  # the file's key was accepted
    source.close()
    assert {r.headers["x-apikey"] for r in providers.asked("/api/v3/")} == {VT_KEY}
