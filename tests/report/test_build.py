"""The report's figures against the database (both backends): headline, networks, campaigns, details."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, text

from cowrieprocessor.report import Period, build_report
from tests.analysis.conftest import K1, T0
from tests.report.conftest import HOSTILE, ReportData


def scalar(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def test_headline_figures_equal_the_database(report_data: ReportData) -> None:
    engine, period = report_data.engine, report_data.period
    report = build_report(engine, period)
    where = "first_event_at >= :a AND first_event_at < :b"
    a, b = period.since, period.until
    figures = {h.key: h for h in report.headlines}
    stored = scalar(engine, f"SELECT COUNT(*) FROM session_summaries WHERE {where}", a=a, b=b)
    assert figures["sessions"].value == stored
    assert figures["sessions"].value == 14 + len(HOSTILE) + 1
    assert figures["ips"].value == scalar(
        engine, f"SELECT COUNT(DISTINCT source_ip) FROM session_summaries WHERE {where}", a=a, b=b
    )
    assert figures["asns"].value == 5  # 64500..64504 at attack time
    assert figures["logins"].value == len(HOSTILE) + 1
    assert figures["sessions"].previous == 1  # the one session two days before T0
    assert figures["sessions"].change == (figures["sessions"].value - 1) / 1


def test_networks_then_and_now(report_data: ReportData) -> None:
    report = build_report(report_data.engine, report_data.period)
    then = {r["asn"]: r for r in report.networks["then"]}
    assert then[64500]["sessions"] == 6 and then[64500]["organization_name"] == "AlphaHost"  # a1-3, d1, e1-2
    assert then[64501]["sessions"] == 3 and then[64501]["ips_moved_since"] == 1  # B is in 64502 today
    assert then[None]["sessions"] == 1 + len(HOSTILE) + 1  # g1 and the unenriched hostile sessions
    moved = {(r["ip"], r["asn_then"], r["asn_now"]) for r in report.networks["moved"]}
    assert ("198.51.100.2", 64501, 64502) in moved
    types = {r["asn_type"]: r["sessions"] for r in report.networks["types"]}
    assert types["hosting"] == 7 and types["isp"] == 2 + 1 + 1 and types["vpn"] == 2
    countries = {r["country"]: r["sessions"] for r in report.networks["countries"]}
    assert countries["US"] == 6 and countries["SG"] == 2


def test_movers_include_networks_gone_quiet(report_data: ReportData) -> None:
    week = Period(since=T0 + dt.timedelta(days=7), until=T0 + dt.timedelta(days=14))
    movers = {r["asn"]: r for r in build_report(report_data.engine, week).networks["movers"]}
    gone = {"sessions": 0, "previous": 2, "change": -2, "organization_name": "DeltaVPN"}
    assert movers[64503] == {**movers[64503], **gone}
    assert movers[64504]["change"] == 1 and movers[64500]["change"] == -6  # a1-a3, d1, e1, e2 all before day 7


def test_campaigns_with_their_infrastructure(report_data: ReportData) -> None:
    report = build_report(report_data.engine, report_data.period)
    keys = {c.key: c for c in report.campaigns["by_kind"]["ssh_key"]}
    k1 = keys[K1]
    assert (k1.sessions, k1.ips, k1.asns) == (10, 5, 4)
    assert {r["value"]: r["sessions"] for r in k1.asns_then} == {64500: 4, 64501: 2, 64502: 1, 64503: 2, None: 1}
    assert {r["value"] for r in k1.asns_now} == {64500, 64502, 64503, None}
    assert {r["value"] for r in k1.sensor_names} == {"honeypot-us", "honeypot-eu"}
    assert k1.first_seen == T0 and k1.new
    assert k1.anchor.startswith("c-ssh_key-") and all(ch.isalnum() or ch in "-_" for ch in k1.anchor)
    shared = report.campaigns["shared"]
    assert any(e["campaign"] == k1.anchor and e["asn"] == 64501 for e in shared["edges"])
    assert keys["SHA256:otherKEY2"].anchor in {a for a, _ in k1.shares_with}  # both on AS64500
    downloads = {c.key for c in report.campaigns["by_kind"]["download"]}
    assert f"{0:x}" * 64 in downloads


def test_details_keep_attacker_text_exactly(report_data: ReportData) -> None:
    report = build_report(report_data.engine, report_data.period)
    usernames = {r["username"] for r in report.details["usernames"]}
    assert set(HOSTILE) <= usernames
    commands = {r["input"] for r in report.details["commands"]}
    assert set(HOSTILE) <= commands
    assert {r["input"] for r in report.details["new_commands"]} >= set(HOSTILE)
    planted = report.details["planted_keys"]
    assert len(planted) == 1 and planted[0]["logged_in"] == 1 and planted[0]["key_type"] == "ssh-ed25519"


def test_new_means_never_seen_before(report_data: ReportData) -> None:
    """A later period sees the same password again: it is not new there."""
    engine = report_data.engine
    later = report_data.period.__class__(since=T0 + dt.timedelta(days=4, hours=3), until=T0 + dt.timedelta(days=14))
    report = build_report(engine, later)
    new_commands = {r["input"] for r in report.details["new_commands"]}
    assert "uname -a" not in new_commands  # every hostile session ran it; the first is before `later`
    assert HOSTILE[5] in new_commands  # session 5 is after the start of `later`


def test_freshness_of_the_sources_behind_the_period(report_data: ReportData) -> None:
    report = build_report(report_data.engine, report_data.period, now=T0 + dt.timedelta(days=100))
    sources = {r["source"]: (r["ips"], r["expired"]) for r in report.sources["sources"]}
    # maxmind: A (expires day 200), B (50), D (20 days), E, F, H (300); spur: A (50), B (150); greynoise: C (never)
    assert sources == {"maxmind": (6, 2), "spur": (2, 1), "greynoise": (1, 1)}
    assert report.sources["never_enriched"] == 1 + len(HOSTILE) + 1  # G, the hostile IPs and the planter
    sensors = {r["sensor"]: r["sessions"] for r in report.sources["sensors"]}
    assert sensors == {"honeypot-us": 11, "honeypot-eu": 3, "sensor-a": len(HOSTILE) + 1}


def test_payload_hosts_only_when_the_period_has_download_urls(report_data: ReportData) -> None:
    from cowrieprocessor.report import render_html
    from tests.report.conftest import HOSTILE_HOST

    report = build_report(report_data.engine, report_data.period)
    by_host = {r["host"] for r in report.payloads["rows"]}
    assert by_host == {HOSTILE_HOST, "198.51.100.2"} and report.payloads["hosts"] == 2
    # every download of the period has a URL; those naming no host (javascript:, bare text) are "unlisted"
    with_url = scalar(
        report_data.engine,
        "SELECT COUNT(*) FROM file_transfers f JOIN session_summaries s ON s.session_id = f.session_id"
        " WHERE f.url IS NOT NULL AND s.first_event_at >= :a AND s.first_event_at < :b",
        a=report_data.period.since,
        b=report_data.period.until,
    )
    assert report.payloads["transfers"] == with_url == len(HOSTILE) + 2 and report.payloads["unlisted"] == len(HOSTILE)
    assert 'id="payload-hosts"' in render_html(report)
    # the previous period: sessions, no download
    earlier = build_report(report_data.engine, report_data.period.previous)
    assert earlier.payloads["transfers"] == 0 and 'id="payload-hosts"' not in render_html(earlier)
