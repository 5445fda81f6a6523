"""The rules that are not the digest's: download verdicts from stored enrichment, and silent sensors."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, insert

from cowrieprocessor.alerts import run_once
from cowrieprocessor.analysis.artifacts import VERDICT_SOURCES, file_inventory
from cowrieprocessor.analysis.sql import RAW, SESSIONS
from tests.alerts.conftest import WebhookServer, settings_with, webhook_destination
from tests.analysis.conftest import T0
from tests.report.conftest import HOSTILE, ReportData, file_sources

DAY = dt.timedelta(days=1)


def _virustotal(engine: Engine, session: str, sha: str, positives: int, total: int = 70) -> None:
    payload = {"eventid": "cowrie.virustotal.scanfile", "session": session, "sha256": sha}
    payload |= {"positives": positives, "total": total, "is_new": "false"}
    with engine.begin() as conn:
        conn.execute(
            insert(RAW),
            {
                "event_uid": f"vt{session}{positives}"[:32],
                "session_id": session,
                "eventid": payload["eventid"],
                "event_time": T0 + 4 * DAY,
                "payload": payload,
                "raw_line": json.dumps(payload).encode(),
            },
        )


@pytest.mark.parametrize(("match", "expected"), [("known_bad", {1}), ("unknown", {0, 3, 4, 5, 6}), ("new", None)])
def test_download_verdicts_from_stored_enrichment(
    report_data: ReportData,
    webhook: WebhookServer,
    match: str,
    expected: set[int] | None,
) -> None:
    _virustotal(report_data.engine, "hostile01", "1" * 64, positives=5)
    _virustotal(report_data.engine, "hostile02", "2" * 64, positives=0)
    settings = settings_with(
        rules=[{"name": "files", "type": "download", "match": match}],
        destinations={"hook": webhook_destination()},
        settle_seconds=0,
        first_lookback_hours=24 * 6,
    )
    run_once(report_data.engine, settings, now=T0 + 5.5 * DAY)
    found = {r.body["subject"]: r.body["details"]["verdict"] for r in webhook.received}
    wanted = set(range(len(HOSTILE))) if expected is None else expected
    assert set(found) == {f"{i:x}" * 64 for i in wanted}
    assert found.get("1" * 64, "bad") == "bad" and found.get("2" * 64, "clean") == "clean"


def test_a_verdict_source_can_be_added(
    report_data: ReportData, webhook: WebhookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert VERDICT_SOURCES == [file_inventory]  # besides Cowrie's own VirusTotal events
    extra = [lambda engine, hashes: {h: "bad" for h in hashes if "3" in h}]
    monkeypatch.setattr("cowrieprocessor.analysis.artifacts.VERDICT_SOURCES", extra)
    settings = settings_with(
        rules=[{"name": "files", "type": "download", "match": "known_bad"}],
        destinations={"hook": webhook_destination()},
        settle_seconds=0,
        first_lookback_hours=24 * 6,
    )
    run_once(report_data.engine, settings, now=T0 + 5.5 * DAY)
    assert [r.body["subject"] for r in webhook.received] == ["3" * 64]


@pytest.mark.parametrize(("match", "expected"), [("known_bad", {3, 4, 5}), ("unknown", {0, 1, 2})])
def test_download_verdicts_from_the_file_inventory(
    report_data: ReportData, webhook: WebhookServer, match: str, expected: set[int]
) -> None:
    """What ``enrich`` learned: VirusTotal flags 3, MalwareBazaar lists 4, VirusTotal flags 5 that Cowrie's own
    scan called clean (bad wins); 6 is known clean; 0 is unknown to every source asked, 1 and 2 were not asked."""
    engine = report_data.engine
    flagged = {"last_analysis_stats": {"malicious": 7, "undetected": 60}}
    clean = {"last_analysis_stats": {"malicious": 0, "undetected": 67}}
    file_sources(engine, "0" * 64, virustotal=("not_found", None), malwarebazaar=("not_found", None))
    file_sources(engine, "3" * 64, virustotal=("found", flagged), malwarebazaar=("not_found", None))
    file_sources(engine, "4" * 64, virustotal=("not_found", None), malwarebazaar=("found", {"signature": "Mirai"}))
    file_sources(engine, "5" * 64, virustotal=("found", flagged))
    _virustotal(engine, "hostile05", "5" * 64, positives=0)
    file_sources(engine, "6" * 64, virustotal=("found", clean), malwarebazaar=("not_found", None))
    settings = settings_with(
        rules=[{"name": "files", "type": "download", "match": match}],
        destinations={"hook": webhook_destination()},
        settle_seconds=0,
        first_lookback_hours=24 * 6,
    )
    run_once(engine, settings, now=T0 + 5.5 * DAY)
    found = {r.body["subject"]: r.body["details"]["verdict"] for r in webhook.received}
    assert set(found) == {f"{i:x}" * 64 for i in expected}
    assert set(found.values()) == ({"bad"} if match == "known_bad" else {"unknown"})


def test_the_digest_names_the_verdict_the_rules_use(report_data: ReportData) -> None:
    """A file only Cowrie's own VirusTotal scan judged: the digest says what the download rule matches on; a file
    the inventory knows keeps its line (detections, label)."""
    from cowrieprocessor.report.digest import compute

    engine = report_data.engine
    _virustotal(engine, "hostile01", "1" * 64, positives=5)
    _virustotal(engine, "hostile02", "2" * 64, positives=0)
    file_sources(engine, "3" * 64, virustotal=("found", {"last_analysis_stats": {"malicious": 7, "undetected": 60}}))
    items = {i["key"]: i for i in compute(engine, T0 - DAY, T0 + 6 * DAY)["new_downloads"]["items"]}
    assert items["1" * 64]["verdict"] == "bad" and items["2" * 64]["verdict"] == "clean"
    assert items["3" * 64]["verdict"].startswith("VT 7/67")
    assert "verdict" not in items["0" * 64]


def _sessions(engine: Engine, rows: list[tuple[str, str, dt.datetime]]) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(SESSIONS), [{"session_id": sid, "sensor": sensor, "first_event_at": at} for sid, sensor, at in rows]
        )


def test_a_silent_sensor_is_alerted_once_per_silence(engine: Engine, webhook: WebhookServer) -> None:
    now = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)
    _sessions(
        engine,
        [
            ("s1", "busy", now - dt.timedelta(minutes=5)),
            ("s2", "quiet<b>", now - dt.timedelta(hours=3)),
            ("s3", "gone", now - dt.timedelta(days=5)),  # outside the look-back: decommissioned, not silent
        ],
    )
    settings = settings_with(
        rules=[
            {"name": "silent", "type": "sensor_silent", "silent_minutes": 60, "lookback_hours": 48},
            {"name": "listed", "type": "sensor_silent", "silent_minutes": 60, "sensors": ["busy", "never"]},
        ],
        destinations={"hook": webhook_destination()},
    )
    first = run_once(engine, settings, now=now)
    assert sorted((r.body["rule"], r.body["subject"]) for r in webhook.received) == [
        ("listed", "never"),
        ("silent", "quiet<b>"),
    ]
    assert first.found == {"silent": 1, "listed": 1}
    assert run_once(engine, settings, now=now + dt.timedelta(seconds=10)).found == {}  # checked once a minute
    again = run_once(engine, settings, now=now + dt.timedelta(minutes=30))
    assert again.recorded == 0 and len(webhook.received) == 2  # the same silence: not again
    _sessions(engine, [("s4", "quiet<b>", now + dt.timedelta(minutes=40))])  # it came back...
    later = now + dt.timedelta(hours=2)  # ...and went silent again: a new silence, a new alert
    run_once(engine, settings, now=later)
    quiet = [r.body for r in webhook.received if r.body["subject"] == "quiet<b>"]
    assert len(quiet) == 2 and quiet[1]["details"]["last_session_at"] == (now + dt.timedelta(minutes=40)).isoformat()
