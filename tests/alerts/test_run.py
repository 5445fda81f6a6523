"""A run finds first-seen things, records each once per destination, delivers each once - on both backends."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select

from cowrieprocessor.alerts import run_once
from cowrieprocessor.alerts.outbox import listing
from cowrieprocessor.config import Settings
from cowrieprocessor.storage.models import AlertOutbox, AlertWatermark
from tests.alerts.conftest import MailServer, WebhookServer, settings_with, webhook_destination
from tests.analysis.conftest import K1, K2, K3, T0
from tests.report.conftest import HOSTILE, ReportData

DAY = dt.timedelta(days=1)
RULES = [
    {"name": "keys", "type": "new_campaign_key", "kinds": ["ssh_key"]},
    {"name": "asns", "type": "new_asn"},
    {"name": "moved", "type": "moved_asn"},
    {"name": "planted", "type": "planted_key_login"},
    {"name": "files", "type": "download"},
]


def _settings(**extra: object) -> Settings:
    section: dict[str, object] = {
        "rules": RULES,
        "destinations": {"hook": webhook_destination()},
        "settle_seconds": 0,
        "first_lookback_hours": 24 * 6,
    }
    return settings_with(**{**section, **extra})


def _subjects(webhook: WebhookServer, kind: str) -> set[str]:
    return {r.body["subject"] for r in webhook.received if r.body["kind"] == kind}


def test_each_first_seen_thing_is_alerted_once(report_data: ReportData, webhook: WebhookServer) -> None:
    engine, settings = report_data.engine, _settings()
    first = run_once(engine, settings, now=T0 + 5.5 * DAY)
    assert first.errors == [] and first.sent == first.recorded == len(webhook.received) > 0
    assert {K1, K2} <= _subjects(webhook, "new_campaign_key") and K3 not in _subjects(webhook, "new_campaign_key")
    assert _subjects(webhook, "new_asn") == {"AS64500", "AS64501", "AS64503"}
    assert len(_subjects(webhook, "download")) == len(HOSTILE)
    assert len(_subjects(webhook, "planted_key_login")) == 1

    again = run_once(engine, settings, now=T0 + 5.5 * DAY)
    assert (again.recorded, again.sent) == (0, 0)

    later = run_once(engine, settings, now=T0 + 14 * DAY)
    assert later.errors == [] and later.sent == later.recorded > 0
    assert K3 in _subjects(webhook, "new_campaign_key")
    moved = [r.body for r in webhook.received if r.body["kind"] == "moved_asn"]
    assert [(m["subject"], m["details"]["asn_from"], m["details"]["asn_to"]) for m in moved] == [
        ("198.51.100.2", 64501, 64502)
    ]
    keys = webhook.keys()
    assert len(keys) == len(set(keys)) == len(listing(engine, [], 1000))  # nothing twice
    stored = {r["alert_id"] for r in listing(engine, ["sent"], 1000)}
    assert {k.removeprefix("cowrieprocessor-alert-") for k in keys} == stored
    assert all(r.path == "/hook/SECRET-TOKEN" for r in webhook.received)
    with engine.connect() as conn:
        marks = dict(conn.execute(select(AlertWatermark.rule, AlertWatermark.until)).all())
    assert set(marks) == {r["name"] for r in RULES} and len(set(marks.values())) == 1


def test_every_destination_gets_its_own_row(report_data: ReportData, webhook: WebhookServer) -> None:
    settings = settings_with(
        rules=[{"name": "keys", "type": "new_campaign_key", "kinds": ["ssh_key"], "destinations": ["a", "b"]}],
        destinations={"a": webhook_destination(), "b": webhook_destination(), "c": webhook_destination()},
        settle_seconds=0,
        first_lookback_hours=24 * 6,
    )
    report = run_once(report_data.engine, settings, now=T0 + 5.5 * DAY)
    with report_data.engine.connect() as conn:
        per = dict(conn.execute(select(AlertOutbox.destination, func.count()).group_by(AlertOutbox.destination)).all())
    assert per["a"] == per["b"] == report.recorded // 2 and "c" not in per
    assert len(webhook.received) == report.recorded  # one request per row; the same key twice, once per row
    assert len(set(webhook.keys())) == report.recorded // 2


def test_the_settle_time_holds_back_young_sessions(report_data: ReportData, webhook: WebhookServer) -> None:
    engine = report_data.engine
    # K2's session starts on day 5: at day 5 + 1 min, with a 10-minute settle time, it is not evaluated yet
    k2_start = T0 + 5 * DAY
    settings = _settings(settle_seconds=600)
    with engine.connect() as conn:
        from cowrieprocessor.analysis.sql import SESSIONS

        first = conn.execute(
            select(func.min(SESSIONS.c.first_event_at)).where(SESSIONS.c.ssh_key_fingerprint == K2)
        ).scalar_one()
    assert first >= k2_start
    run_once(engine, settings, now=first + dt.timedelta(minutes=1))
    assert K2 not in _subjects(webhook, "new_campaign_key")
    run_once(engine, settings, now=first + dt.timedelta(minutes=11))
    assert K2 in _subjects(webhook, "new_campaign_key")


def test_a_process_evaluates_a_rule_at_most_every_evaluate_every_seconds(
    report_data: ReportData, webhook: WebhookServer
) -> None:
    engine = report_data.engine
    settings = _settings(settle_seconds=600, evaluate_every_seconds=3600)
    with engine.connect() as conn:
        from cowrieprocessor.analysis.sql import SESSIONS

        first = conn.execute(
            select(func.min(SESSIONS.c.first_event_at)).where(SESSIONS.c.ssh_key_fingerprint == K2)
        ).scalar_one()
    run_once(engine, settings, now=first + dt.timedelta(minutes=1))
    skipped = run_once(engine, settings, now=first + dt.timedelta(minutes=11))
    assert skipped.found == {} and K2 not in _subjects(webhook, "new_campaign_key")  # evaluated 10 min ago
    run_once(engine, settings, now=first + dt.timedelta(minutes=62))
    assert K2 in _subjects(webhook, "new_campaign_key")


def test_mail_through_the_outbox(report_data: ReportData, smtp_server: MailServer) -> None:
    mail = {
        "type": "smtp",
        "host": smtp_server.host,
        "port": smtp_server.port,
        "security": "none",
        "sender": "alerts@example.org",
        "recipients": ["soc@example.org"],
        "message_id_domain": "example.org",
        "burst": 100,
    }
    settings = settings_with(
        rules=[{"name": "planted", "type": "planted_key_login"}, {"name": "keys", "type": "new_campaign_key"}],
        destinations={"mail": mail},
        settle_seconds=0,
        first_lookback_hours=24 * 6,
    )
    report = run_once(report_data.engine, settings, now=T0 + 5.5 * DAY)
    assert report.sent == report.recorded == len(smtp_server.messages) > 1 and not report.errors
    ids = {f"<cowrieprocessor-alert-{r['alert_id']}@example.org>" for r in listing(report_data.engine, ["sent"], 100)}
    assert {str(m["Message-ID"]) for m in smtp_server.messages} == ids
    planted = [m for m in smtp_server.messages if "planted SSH key" in str(m["Subject"])]
    assert len(planted) == 1 and "sessions: 1" in planted[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_rule_evaluated_twice_at_once_is_recorded_once(report_data: ReportData) -> None:
    """Two runs read the same watermark and find the same alerts: the second to record loses the watermark's
    compare-and-set and records nothing (and the unique (destination, alert_id) would refuse a copy anyway)."""
    from cowrieprocessor.alerts import outbox
    from cowrieprocessor.alerts.model import Alert

    engine = report_data.engine
    found = [(Alert("r", "new_asn", "AS64500"), "hook")]
    with engine.begin() as conn:
        assert outbox.record(conn, "r", None, T0 + DAY, found, T0) == 1
    with engine.begin() as conn:
        assert outbox.record(conn, "r", None, T0 + DAY, found, T0) is None  # both saw no watermark
    with engine.begin() as conn:
        assert outbox.record(conn, "r", T0, T0 + 2 * DAY, found, T0) is None  # a stale watermark
    with engine.begin() as conn:
        assert outbox.record(conn, "r", T0 + DAY, T0 + 2 * DAY, found, T0) == 0  # moved; the alert exists
    assert len(listing(engine, [], 10)) == 1


def test_without_alerts_configured_a_run_does_nothing(engine: Engine) -> None:
    from cowrieprocessor.alerts.run import AlertRunReport

    assert run_once(engine, Settings(), now=T0) == AlertRunReport()
    assert listing(engine, [], 10) == []
