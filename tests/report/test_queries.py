"""The report's combined statements (#17: one pass serving several tables) against plain SQL on the same data,
on both backends: campaign totals and splits, the networks' tables, the credentials that are new; and the
report on a database it may only read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, text
from sqlalchemy.exc import DBAPIError

from cowrieprocessor.analysis.sql import AUTH
from cowrieprocessor.report import build_report, render_html
from cowrieprocessor.report.build import PG_SETTINGS, _tuned
from cowrieprocessor.report.campaigns import TOP_IPS, TOP_SPLIT
from cowrieprocessor.storage.engine import make_engine
from tests.analysis.conftest import T0
from tests.report.conftest import ReportData

PERIOD = "s.first_event_at >= :a AND s.first_event_at < :b"
#: Each kind's key over the rows it is counted on (a download: a session counts once per file).
KEYS = {
    "ssh_key": ("session_summaries s", "s.ssh_key_fingerprint"),
    "command_sig": ("session_summaries s", "s.command_signature"),
    "password": ("session_summaries s", "s.password_hash"),
    "download": ("session_summaries s JOIN file_transfers f ON f.session_id = s.session_id", "f.shasum"),
}


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_campaign_totals_and_splits_equal_plain_sql(report_data: ReportData) -> None:
    engine, period = report_data.engine, report_data.period
    report = build_report(engine, period)
    window = {"a": period.since, "b": period.until}
    checked = 0
    for kind, (source, key) in KEYS.items():
        for c in report.campaigns["by_kind"][kind]:
            sql = f"FROM {source} WHERE {PERIOD} AND {key} = :k"
            [totals] = rows(
                engine,
                f"SELECT COUNT(DISTINCT s.session_id), COUNT(DISTINCT s.source_ip), COUNT(DISTINCT s.snapshot_asn),"
                f" COUNT(DISTINCT s.sensor) {sql}",
                k=c.key,
                **window,
            )
            assert (c.sessions, c.ips, c.asns, c.sensors) == totals, (kind, c.key)

            def split(
                column: str, limit: int, joined: str = "", source: str = source, key: str = key, value: str = c.key
            ) -> Any:
                return rows(
                    engine,
                    f"SELECT {column}, COUNT(DISTINCT s.session_id), COUNT(DISTINCT s.source_ip)"
                    f" FROM {source}{joined} WHERE {PERIOD} AND {key} = :k"
                    f" GROUP BY {column} ORDER BY COUNT(DISTINCT s.session_id) DESC, {column} LIMIT {limit}",
                    k=value,
                    **window,
                )

            now = " LEFT JOIN ip_inventory i ON i.ip_address = s.source_ip"
            assert [(r["value"], r["sessions"], r["ips"]) for r in c.asns_then] == split("s.snapshot_asn", TOP_SPLIT)
            assert [(r["value"], r["sessions"], r["ips"]) for r in c.asns_now] == split("i.current_asn", TOP_SPLIT, now)
            assert [(r["value"], r["sessions"], r["ips"]) for r in c.sensor_names] == split("s.sensor", TOP_SPLIT)
            top = [(str(ip), n, ips) for ip, n, ips in split("s.source_ip", TOP_IPS)]
            assert [(r["value"], r["sessions"], r["ips"]) for r in c.top_ips] == top
            checked += 1
    assert checked >= 4


def test_networks_tables_equal_plain_sql(report_data: ReportData) -> None:
    engine, period = report_data.engine, report_data.period
    nets = build_report(engine, period).networks
    window = {"a": period.since, "b": period.until}
    then = rows(
        engine,
        "SELECT s.snapshot_asn, COUNT(*), COUNT(DISTINCT s.source_ip), COUNT(DISTINCT s.snapshot_country),"
        " COUNT(DISTINCT CASE WHEN i.current_asn IS NOT NULL AND i.current_asn <> s.snapshot_asn THEN s.source_ip END)"
        " FROM session_summaries s LEFT JOIN ip_inventory i ON i.ip_address = s.source_ip"
        f" WHERE {PERIOD} GROUP BY s.snapshot_asn ORDER BY COUNT(*) DESC, s.snapshot_asn",
        **window,
    )
    assert [(r["asn"], r["sessions"], r["ips"], r["countries"], r["ips_moved_since"]) for r in nets["all_then"]] == then
    countries = rows(
        engine,
        "SELECT s.snapshot_country, COUNT(*), COUNT(DISTINCT s.source_ip), COUNT(DISTINCT s.snapshot_asn)"
        f" FROM session_summaries s WHERE {PERIOD} GROUP BY s.snapshot_country"
        " ORDER BY COUNT(*) DESC, s.snapshot_country",
        **window,
    )
    assert [(r["country"], r["sessions"], r["ips"], r["asns"]) for r in nets["countries"]] == countries
    now = rows(
        engine,
        "SELECT i.current_asn, COUNT(*), COUNT(DISTINCT s.source_ip) FROM session_summaries s"
        f" JOIN ip_inventory i ON i.ip_address = s.source_ip WHERE {PERIOD} AND i.current_asn IS NOT NULL"
        " GROUP BY i.current_asn",
        **window,
    )
    assert {(r["asn"], r["sessions"], r["ips"]) for r in nets["now"] if r["asn"] is not None} == set(now)
    moved = rows(
        engine,
        "SELECT s.source_ip, s.snapshot_asn, i.current_asn, COUNT(*) FROM session_summaries s"
        f" JOIN ip_inventory i ON i.ip_address = s.source_ip WHERE {PERIOD} AND s.snapshot_asn <> i.current_asn"
        " GROUP BY s.source_ip, s.snapshot_asn, i.current_asn",
        **window,
    )
    assert moved and {(r["ip"], r["asn_then"], r["asn_now"], r["sessions"]) for r in nets["moved"]} == {
        (str(ip), a, b, n) for ip, a, b, n in moved
    }


def test_new_credentials_count_only_their_new_rows(report_data: ReportData) -> None:
    """One password text under two hashes (a hash is per login, not per text): the pair is new through one of
    them only, and the new table counts that hash's attempts, the other table every attempt."""
    engine, period = report_data.engine, report_data.period
    inside, before = T0 + dt.timedelta(days=4), T0 - dt.timedelta(days=2)
    attempts = [
        ("dup-1", "hostile00", inside, "n" * 64, False),
        ("dup-2", "hostile01", inside, "n" * 64, True),
        ("dup-3", "hostile02", inside, "o" * 64, False),
        ("dup-4", "before01", before, "o" * 64, False),  # this hash was seen before the period
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(AUTH),
            [
                {
                    "event_uid": uid, "session_id": sid, "event_time": at, "username": "dupuser",
                    "password": "duppass", "password_hash": h, "success": ok,
                }
                for uid, sid, at, h, ok in attempts
            ],
        )  # fmt: skip
    details = build_report(engine, period).details
    every = {(r["username"], r["password"]): r for r in details["credentials"]}
    new = {(r["username"], r["password"]): r for r in details["new_credentials"]}
    assert (every[("dupuser", "duppass")]["attempts"], every[("dupuser", "duppass")]["successes"]) == (3, 1)
    assert (new[("dupuser", "duppass")]["attempts"], new[("dupuser", "duppass")]["successes"]) == (2, 1)
    assert new[("dupuser", "duppass")]["ips"] == 2 and every[("dupuser", "duppass")]["ips"] == 3


def test_postgres_settings_are_the_reports_alone(report_data: ReportData) -> None:
    """The report's statements run with ``PG_SETTINGS`` (no JIT compilation, more sort memory); other users of
    the pool never see them. SQLite: the engine itself."""
    engine = report_data.engine
    tuned = _tuned(engine)
    if engine.dialect.name != "postgresql":
        assert tuned is engine
        return
    names = ", ".join(f"current_setting('{k}')" for k in PG_SETTINGS)
    assert rows(tuned, f"SELECT {names}") == [tuple(PG_SETTINGS.values())]
    assert rows(engine, f"SELECT {names}") != [tuple(PG_SETTINGS.values())]
    seen: list[str] = []

    def jit(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "set_config" not in statement:
            cursor.execute("SELECT current_setting('jit')")
            seen.append(cursor.fetchone()[0])

    event.listen(engine, "before_cursor_execute", jit)
    try:
        build_report(engine, report_data.period)
    finally:
        event.remove(engine, "before_cursor_execute", jit)
    assert len(seen) > 20 and set(seen) == {"off"}


def test_report_of_a_database_it_may_only_read(report_data: ReportData) -> None:
    """Every statement only reads: the report builds in read-only transactions (PostgreSQL) or a read-only
    connection (SQLite ``query_only``)."""
    url = report_data.engine.url.render_as_string(hide_password=False)
    reader = make_engine(url)

    @event.listens_for(reader, "connect")
    def read_only(dbapi_conn: Any, record: Any) -> None:
        cursor = dbapi_conn.cursor()
        if reader.dialect.name == "postgresql":
            cursor.execute("SET default_transaction_read_only = on")
            dbapi_conn.commit()
        else:
            cursor.execute("PRAGMA query_only = ON")
        cursor.close()

    try:
        with reader.connect() as conn, pytest.raises(DBAPIError, match=r"read-only|readonly"):
            conn.execute(text("CREATE TABLE written (x INTEGER)"))  # the guard holds: a write fails
        report = build_report(reader, report_data.period)
        assert report.totals["sessions"] > 0 and "<html" in render_html(report)
    finally:
        reader.dispose()
