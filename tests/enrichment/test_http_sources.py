"""The JSON API sources against a local HTTP server answering like the documented services."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from cowrieprocessor.enrichment.abuseipdb import AbuseIPDBSource
from cowrieprocessor.enrichment.base import LookupStatus
from cowrieprocessor.enrichment.breaker import BreakerState
from cowrieprocessor.enrichment.cascade import build_sources
from cowrieprocessor.enrichment.dshield import DShieldSource
from cowrieprocessor.enrichment.greynoise import GreyNoiseSource
from cowrieprocessor.enrichment.ledger import MemoryLedger, Outcome
from cowrieprocessor.enrichment.settings import ProvidersSettings, SourceSettings
from cowrieprocessor.enrichment.spur import SpurSource
from tests.enrichment.conftest import FakeAPI, FakeClock, Reply

KEY = "SEKRIT-test-key-9f8e7d"
IP = "45.83.66.18"
OTHER = "81.2.69.160"

GREYNOISE_FOUND = {
    "ip": IP,
    "noise": True,
    "riot": False,
    "classification": "malicious",
    "name": "unknown",
    "link": f"https://viz.greynoise.io/ip/{IP}",
    "last_seen": "2024-05-01",
    "message": "Success",
}
GREYNOISE_404 = {"ip": OTHER, "message": "IP not observed scanning the internet or contained in RIOT data set."}
SPUR = {
    "as": {"number": 16509, "organization": "AMAZON-02"},
    "client": {
        "behaviors": ["FILE_SHARING"],
        "concentration": {"city": "Ashburn", "country": "US", "density": 0.2, "geohash": "dqby", "skew": 12},
        "count": 3,
        "countries": 1,
        "proxies": ["OXYLABS_PROXY"],
        "spread": 1200,
        "types": ["DESKTOP", "MOBILE"],
    },
    "infrastructure": "DATACENTER",
    "ip": IP,
    "location": {"city": "Ashburn", "country": "US", "state": "Virginia"},
    "organization": "Amazon.com, Inc.",
    "risks": ["CALLBACK_PROXY", "TUNNEL"],
    "services": ["OPENVPN"],
    "tunnels": [{"anonymous": True, "entries": ["3.4.5.6"], "operator": "NORD_VPN", "type": "VPN"}],
}
DSHIELD = {
    "ip": {
        "number": IP,
        "count": "123",
        "attacks": "45",
        "maxdate": "2024-05-01",
        "mindate": "2024-01-02",
        "updated": "2024-05-01 12:00:00",
        "comment": None,
        "maxrisk": None,
        "asabusecontact": "abuse@example.net",
        "as": 208843,
        "asname": "ALPHASTRIKE-RESEARCH",
        "ascountry": "DE",
        "assize": 1024,
        "network": "45.83.64.0/22",
        "threatfeeds": {"blocklistde22": {"firstseen": "2024-04-01", "lastseen": "2024-05-01"}},
    }
}
DSHIELD_UNKNOWN = {
    "ip": {
        "number": OTHER,
        "count": None,
        "attacks": None,
        "maxdate": None,
        "mindate": None,
        "updated": None,
        "comment": None,
        "maxrisk": None,
        "asabusecontact": None,
        "as": None,
        "asname": None,
        "ascountry": None,
        "assize": None,
        "network": None,
    }
}
ABUSEIPDB = {
    "data": {
        "ipAddress": IP,
        "isPublic": True,
        "ipVersion": 4,
        "isWhitelisted": False,
        "abuseConfidenceScore": 100,
        "countryCode": "DE",
        "usageType": "Data Center/Web Hosting/Transit",
        "isp": "Alpha Strike Labs GmbH",
        "domain": "alphastrike.io",
        "hostnames": [],
        "isTor": False,
        "totalReports": 57,
        "numDistinctUsers": 20,
        "lastReportedAt": "2024-05-01T12:00:00+00:00",
    }
}


def _section(api: FakeAPI, **extra: object) -> SourceSettings:
    values: dict[str, object] = {"base_url": api.url, "rate_per_second": 1000.0, "timeout_seconds": 2.0}
    values.update(extra)
    return SourceSettings(**values)  # type: ignore[arg-type]


def test_greynoise_found_and_404_not_observed(api: FakeAPI, clock: FakeClock, ledger: MemoryLedger) -> None:
    api.on(f"/v3/community/{IP}", Reply(200, GREYNOISE_FOUND))
    api.on(f"/v3/community/{OTHER}", Reply(404, GREYNOISE_404))
    source = GreyNoiseSource(_section(api), ledger, key=KEY, clock=clock)
    answers = source.lookup_many([IP, OTHER])
    assert answers[IP].status is LookupStatus.FOUND and answers[IP].data == GREYNOISE_FOUND
    not_seen = answers[OTHER]
    assert not_seen.status is LookupStatus.NOT_FOUND and not_seen.error is None
    assert not_seen.data == {
        "ip": OTHER,
        "noise": False,
        "riot": False,
        "observed": False,
        "message": GREYNOISE_404["message"],
    }
    assert api.requests[0].headers["key"] == KEY
    assert [c.outcome for c in ledger.calls] == [Outcome.FOUND, Outcome.NOT_FOUND]
    assert [c.http_status for c in ledger.calls] == [200, 404]
    assert source.guard.breaker.state is BreakerState.CLOSED  # a 404 answer is not a failure
    source.close()


def test_429_with_retry_after_is_waited_for_then_answered(api: FakeAPI, clock: FakeClock, ledger: MemoryLedger) -> None:
    api.on("/v3/community/", Reply(429, {"message": "slow down"}, {"Retry-After": "7"}), Reply(200, GREYNOISE_FOUND))
    source = GreyNoiseSource(_section(api), ledger, key=KEY, clock=clock)
    answer = source.lookup_many([IP])[IP]
    assert answer.status is LookupStatus.FOUND
    assert len(api.requests) == 2
    assert sum(clock.sleeps) >= 7.0
    assert [c.outcome for c in ledger.calls] == [Outcome.RATE_LIMITED, Outcome.FOUND]


def test_long_retry_after_ends_the_call_as_rate_limited(api: FakeAPI, clock: FakeClock, ledger: MemoryLedger) -> None:
    api.on(
        "/api/v2/check",
        Reply(429, {"errors": [{"detail": "Daily rate limit of 1000 requests exceeded"}]}, {"Retry-After": "86000"}),
    )
    source = AbuseIPDBSource(_section(api, max_retry_wait_seconds=60), ledger, key=KEY, clock=clock)
    answer = source.lookup_many([IP])[IP]
    assert answer.status is LookupStatus.ERROR and answer.error is not None and "rate limited" in answer.error
    assert len(api.requests) == 1
    assert ledger.calls[-1].outcome is Outcome.RATE_LIMITED and ledger.calls[-1].http_status == 429


def test_5xx_then_success_is_retried(api: FakeAPI, clock: FakeClock, ledger: MemoryLedger) -> None:
    api.on("/api/ip/", Reply(502, "<html>Bad Gateway</html>"), Reply(503, ""), Reply(200, DSHIELD))
    source = DShieldSource(_section(api), ledger, key="soc@example.org", clock=clock)
    answer = source.lookup_many([IP])[IP]
    assert answer.status is LookupStatus.FOUND and answer.data == DSHIELD
    assert [c.http_status for c in ledger.calls] == [502, 503, 200]
    assert len(clock.sleeps) >= 2  # two backoffs


def test_timeout_is_an_error_outcome_not_a_crash(api: FakeAPI, clock: FakeClock, ledger: MemoryLedger) -> None:
    api.on("/v2/context/", Reply(200, SPUR, delay=0.6))
    source = SpurSource(_section(api, timeout_seconds=0.15, max_attempts=2), ledger, key=KEY, clock=clock)
    answer = source.lookup_many([IP])[IP]
    assert answer.status is LookupStatus.ERROR and answer.data is None
    assert answer.error == "ReadTimeout"
    assert [c.error_class for c in ledger.calls] == ["ReadTimeout", "ReadTimeout"]


@pytest.mark.parametrize("body", ["<html>oops</html>", "[1, 2]", '{"unexpected": true}', '{"noise": "yes", "riot": 1}'])
def test_malformed_body_is_an_error(api: FakeAPI, clock: FakeClock, ledger: MemoryLedger, body: str) -> None:
    api.on("/v3/community/", Reply(200, body))
    source = GreyNoiseSource(_section(api), ledger, key=KEY, clock=clock)
    answer = source.lookup_many([IP])[IP]
    assert answer.status is LookupStatus.ERROR and answer.data is None
    assert ledger.calls[0].outcome is Outcome.ERROR
    assert (ledger.calls[0].error_class or "").startswith("Malformed")


def test_spur_object_kept_as_returned_and_token_sent(api: FakeAPI, clock: FakeClock, ledger: MemoryLedger) -> None:
    api.on(f"/v2/context/{IP}", Reply(200, SPUR, {"x-balance-remaining": "99", "x-result-dt": "20240501"}))
    api.on(f"/v2/context/{OTHER}", Reply(400, {"error": "invalid ip"}))
    answers = SpurSource(_section(api), ledger, key=KEY, clock=clock).lookup_many([IP, OTHER])
    assert answers[IP].data == SPUR
    assert answers[OTHER].status is LookupStatus.NOT_FOUND and answers[OTHER].data is None
    assert api.requests[0].headers["Token"] == KEY


def test_spur_bad_token_is_an_error_and_opens_the_breaker(api: FakeAPI, clock: FakeClock, ledger: MemoryLedger) -> None:
    api.on("/v2/context/", Reply(401, {"error": "unauthorized"}))
    source = SpurSource(_section(api, breaker_failures=2), ledger, key=KEY, clock=clock)
    answers = source.lookup_many(["1.0.0.1", "1.0.0.2", "1.0.0.3", "1.0.0.4"])
    assert [answers[ip].status for ip in answers] == [LookupStatus.ERROR] * 2 + [LookupStatus.SKIPPED] * 2
    assert len(api.requests) == 2  # the open breaker stopped the calls
    assert [c.outcome for c in ledger.calls][-2:] == [Outcome.SKIPPED_BREAKER] * 2
    clock.advance(400)
    api.on("/v2/context/", Reply(200, SPUR))
    assert source.lookup_many([IP])[IP].status is LookupStatus.FOUND  # half-open trial closes it


def test_dshield_user_agent_names_the_contact_and_json_is_asked(
    api: FakeAPI, clock: FakeClock, ledger: MemoryLedger
) -> None:
    api.on(f"/api/ip/{IP}", Reply(200, DSHIELD))
    api.on(f"/api/ip/{OTHER}", Reply(200, DSHIELD_UNKNOWN))
    answers = DShieldSource(_section(api), ledger, key="soc@example.org", clock=clock).lookup_many([IP, OTHER])
    assert answers[IP].data == DSHIELD
    assert answers[OTHER].status is LookupStatus.NOT_FOUND and answers[OTHER].data is None
    seen = api.requests[0]
    assert "json" in seen.query
    assert "soc@example.org" in seen.headers["User-Agent"]


def test_abuseipdb_check_query_and_data_object(api: FakeAPI, clock: FakeClock, ledger: MemoryLedger) -> None:
    api.on("/api/v2/check", Reply(200, ABUSEIPDB, {"X-RateLimit-Remaining": "999"}))
    answer = AbuseIPDBSource(_section(api), ledger, key=KEY, clock=clock).lookup_many([IP])[IP]
    assert answer.data == ABUSEIPDB["data"]
    seen = api.requests[0]
    assert seen.query == {"ipAddress": [IP], "maxAgeInDays": ["90"]}
    assert seen.headers["Key"] == KEY and seen.headers["Accept"] == "application/json"


def test_budget_stops_calls_and_is_recorded(api: FakeAPI, clock: FakeClock, ledger: MemoryLedger) -> None:
    api.on("/v3/community/", Reply(200, GREYNOISE_FOUND))
    source = GreyNoiseSource(_section(api, daily_budget=2), ledger, key=KEY, clock=clock)
    answers = source.lookup_many(["1.0.0.1", "1.0.0.2", "1.0.0.3"])
    assert answers["1.0.0.3"].status is LookupStatus.SKIPPED and answers["1.0.0.3"].error == "daily budget exhausted"
    assert len(api.requests) == 2
    assert ledger.calls[-1].outcome is Outcome.SKIPPED_BUDGET


def test_key_never_leaks(
    api: FakeAPI, clock: FakeClock, ledger: MemoryLedger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.on("/v3/community/", Reply(500, {"error": f"echoing your key {KEY}"}), Reply(200, "not json"))
    api.on("/api/v2/check", Reply(401, {"errors": [{"detail": f"bad key {KEY}"}]}))
    results = []
    results += GreyNoiseSource(_section(api, max_attempts=2), ledger, key=KEY, clock=clock).lookup_many([IP]).values()
    results += AbuseIPDBSource(_section(api), ledger, key=KEY, clock=clock).lookup_many([IP]).values()
    assert all(r.status is LookupStatus.ERROR for r in results)
    everything = json.dumps([r.as_json() for r in results]) + repr(ledger.calls) + caplog.text
    assert KEY not in everything
    assert api.requests  # the key did go to the server, in a header


def test_build_sources_turns_keyed_sources_off_without_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api: FakeAPI
) -> None:
    for var in ("GREYNOISE_API_KEY", "SPUR_TOKEN", "ABUSEIPDB_API_KEY", "DSHIELD_CONTACT"):
        monkeypatch.delenv(var, raising=False)
    offline = {"enabled": False}
    base = {"cymru": offline, "embedded": offline}
    settings = ProvidersSettings.model_validate(base)
    reasons: dict[str, str] = {}
    names = [s.name for s in build_sources(settings, MemoryLedger(), unavailable=reasons)]
    assert names == ["validation"]
    assert set(reasons) == {"maxmind", "routing_history", "greynoise", "spur", "dshield", "abuseipdb"}
    assert "DSHIELD_CONTACT" in reasons["dshield"]

    key_file = tmp_path / "spur.key"
    key_file.write_text(KEY + "\n")
    monkeypatch.setenv("GREYNOISE_API_KEY", KEY)
    monkeypatch.setenv("DSHIELD_CONTACT", "soc@example.org")
    settings = ProvidersSettings.model_validate(
        {
            **base,
            "spur": {"api_key_file": str(key_file), "base_url": api.url},
            "greynoise": {"base_url": api.url},
            "dshield": {"base_url": api.url},
        }
    )
    sources = {s.name: s for s in build_sources(settings, MemoryLedger())}
    assert list(sources) == ["validation", "greynoise", "spur", "dshield"]
    assert sources["spur"].key == KEY  # type: ignore[attr-defined]
    for s in sources.values():
        s.close()
