"""The way in without SQL: overview, campaign keys by kind, one session's timeline, tunnels and exploits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, insert, text

from cowrieprocessor.analysis.campaigns import top_keys
from cowrieprocessor.analysis.overview import overview
from cowrieprocessor.analysis.sql import ASNS, AUTH, COMMANDS, KEYS
from cowrieprocessor.analysis.timeline import session_detail
from cowrieprocessor.analysis.tunnels import exploits, tunnel_asns, tunnel_destinations
from cowrieprocessor.ingestion import ingest
from cowrieprocessor.kinds import By
from tests.analysis.conftest import ADMIN, AS_OF, DAY, HUNTER2, K1, K2, K3, T0, Dataset
from tests.ingestion.activity_builders import dropper, proxy_user, telnet_bypass
from tests.ingestion.builders import Session, lines, ssh_key_line, write

FIVE_MINUTES = dt.timedelta(minutes=5)


def test_top_keys_per_kind(dataset: Dataset) -> None:
    engine = dataset.engine
    keys = top_keys(engine, By.ssh_key)
    assert [(k.key, k.sessions) for k in keys] == [(K1, 10), (K2, 2), (K3, 1)]
    k1 = keys[0]
    # A, B, C, D, G; snapshot ASNs 64500-64503; now A, D -> 64500, B -> 64502, C -> 64503 (G none)
    assert (k1.ips, k1.asns_at_attack, k1.asns_now, k1.sensors) == (5, 4, 3, 2)
    assert (k1.first_seen, k1.last_seen) == (T0, T0 + 12 * DAY + FIVE_MINUTES)
    assert (k1.session, k1.example) == ("a1", None)  # no ssh_keys row: no comment
    assert [(k.key, k.sessions) for k in top_keys(engine, By.password)] == [(HUNTER2, 11), (ADMIN, 3)]
    assert [(k.key, k.sessions) for k in top_keys(engine, By.command, limit=2)] == [("sigC", 10), ("sigE", 3)]
    assert top_keys(engine, By.hassh) == []
    since = top_keys(engine, By.ssh_key, since=T0 + 3 * DAY, until=T0 + 12 * DAY)
    assert [(k.key, k.sessions) for k in since] == [(K1, 3), (K2, 2), (K3, 1)]  # K1: c1, c2, g1 (b3: day 12)
    assert [(k.key, k.sessions) for k in top_keys(engine, By.ssh_key, sensor="honeypot-eu")] == [(K1, 3)]


def test_key_examples(dataset: Dataset) -> None:
    """A password is shown as typed (from its login attempts), a command signature by one session's script."""
    engine = dataset.engine
    with engine.begin() as conn:
        conn.execute(
            insert(AUTH),
            [{"event_uid": "u1", "session_id": "e1", "event_time": T0, "username": "root", "password": "admin",
              "password_hash": ADMIN, "success": True}],
        )  # fmt: skip
        conn.execute(
            insert(COMMANDS),
            [{"event_uid": f"c{i}", "session_id": "e1", "event_time": T0, "sequence": i, "input": line, "known": True}
             for i, line in enumerate(["uname -a", "cat /proc/cpuinfo"])],
        )  # fmt: skip
    assert {k.key: k.example for k in top_keys(engine, By.password)} == {HUNTER2: None, ADMIN: "admin"}
    assert {k.key: k.example for k in top_keys(engine, By.command)}["sigE"] == "uname -a ; cat /proc/cpuinfo"
    with engine.begin() as conn:
        conn.execute(
            insert(KEYS),
            [{"event_uid": "k1", "session_id": "e2", "event_time": T0, "key_type": "ssh-rsa", "key_data": "AAAA",
              "key_comment": "mdrfckr", "fingerprint_sha256": K2, "how_seen": "planted"}],
        )  # fmt: skip
    assert {k.key: k.example for k in top_keys(engine, By.ssh_key)} == {K1: None, K2: "mdrfckr", K3: None}


def test_overview_of_the_known_dataset(dataset: Dataset) -> None:
    o = overview(dataset.engine, busiest=1, as_of=AS_OF)
    assert (o.sessions, o.ips, o.ips_enriched, o.asns, o.sensors, o.events, o.files) == (14, 8, 7, 6, 2, 0, 0)
    assert (o.first_event, o.last_event) == (T0, T0 + 12 * DAY + FIVE_MINUTES)
    assert o.sessions_snapshotted == 13 and o.dead_letters == {}
    assert [(s.sensor, s.sessions) for s in o.per_sensor] == [("honeypot-us", 11), ("honeypot-eu", 3)]
    assert {k: [r.key for r in v] for k, v in o.busiest.items()} == {
        "ssh-key": [K1], "password": [HUNTER2], "command": ["sigC"], "hassh": [], "client": [], "download": [],
    }  # fmt: skip
    assert [a.asn for a in o.top_asns] == [64500, 64501, 64502, 64503, 64504]
    # maxmind: due B (50 days) and D (2025-03-21); spur: A (50); greynoise: C, no expiry at all
    assert [(s.source, s.ips, s.due) for s in o.sources] == [("maxmind", 6, 2), ("spur", 2, 1), ("greynoise", 1, 1)]
    assert o.sources[0].last_fetched == T0.isoformat()


def test_overview_of_an_empty_database(engine: Engine) -> None:
    o = overview(engine)
    assert (o.sessions, o.first_event, o.per_sensor, o.sources) == (0, None, [], [])
    assert all(v == [] for v in o.busiest.values())


def _ingested(engine: Engine, tmp_path: Path) -> None:
    key_line, _ = ssh_key_line(7)
    planter = Session("a0a0a0a0a0a0", "198.51.100.50").connect().version().login("root", "toor")
    planter.cmd(f"echo '{key_line}' >> ~/.ssh/authorized_keys").cmd("unamee -a", failed="unamee -a").close()
    sessions = [proxy_user(), telnet_bypass(), dropper(), planter]
    ingest(engine, [str(write(tmp_path / "cowrie.json", lines([e for s in sessions for e in s.events])))])


def test_session_timeline(engine: Engine, tmp_path: Path) -> None:
    _ingested(engine, tmp_path)
    assert session_detail(engine, "nope") is None
    proxy = session_detail(engine, "f0f0f0f0f0f0")
    assert proxy is not None
    assert [e.kind for e in proxy.timeline] == [
        "session.connect", "client.version", "client.kex", "login.success", "forward request", "forward data",
        "forward request",
    ]  # fmt: skip
    assert proxy.timeline[4].summary == "to 93.184.216.34:80"
    assert proxy.timeline[5].summary.startswith("37 bytes to 93.184.216.34:80: b'GET / HTTP/1.1")
    assert proxy.summary["forward_requests"] == 2 and proxy.events == 7 and not proxy.truncated
    assert proxy.now["country"] == "XX" and proxy.at_attack["asn"] is None  # not enriched: no snapshot yet

    bypass = session_detail(engine, "e1e1e1e1e1e1")
    assert bypass is not None
    kinds = [(e.kind, e.summary) for e in bypass.timeline if e.kind.startswith("exploit")]
    assert kinds == [
        ("exploit attempt", "CVE-2026-24061: USER='-f root'"),
        ("exploit success", "CVE-2026-24061: logged in as 'root' (typed 'admin' at login:, 'uname -a' at Password:)"),
    ]
    drop = session_detail(engine, "d0d0d0d0d0d0")
    assert drop is not None
    transfers = [(e.kind, e.summary) for e in drop.timeline if e.kind.startswith(("download", "upload"))]
    assert transfers == [
        ("download (fetch)", f"http://203.0.113.9/x.sh sha256 {'c' * 64}"),
        ("download (redirect)", f"/tmp/.x sha256 {'d' * 64}"),
        ("download (stdin)", f"(exec input, no file name) sha256 {'e' * 64}"),
        ("download (fetch)", "http://203.0.113.9/y.sh FAILED"),
        ("upload (sftp)", f"payload.bin sha256 {'f' * 64}"),
    ]
    planted = session_detail(engine, "a0a0a0a0a0a0")
    assert planted is not None and not planted.truncated
    assert [e.kind for e in planted.timeline][3:] == [
        "login.success", "command", "key planted", "command (unknown)", "session.closed",
    ]  # fmt: skip
    cut = session_detail(engine, "a0a0a0a0a0a0", limit=5)
    assert cut is not None and cut.truncated and cut.timeline == planted.timeline[:5]


def test_tunnels_and_exploits(engine: Engine, tmp_path: Path) -> None:
    _ingested(engine, tmp_path)
    other = proxy_user("f1f1f1f1f1f1")
    ingest(engine, [str(write(tmp_path / "more.json", lines(other.events)))])
    with engine.begin() as conn:
        conn.execute(insert(ASNS), [{"asn_number": 64510, "organization_name": "ProxyNet"}])
        conn.execute(text("UPDATE session_summaries SET snapshot_asn = 64510 WHERE session_id = 'f1f1f1f1f1f1'"))
    rows = tunnel_destinations(engine)
    assert [(r.destination, r.port, r.requests, r.sessions, r.ips, r.asns, r.payload_bytes) for r in rows] == [
        ("93.184.216.34", 80, 2, 2, 1, 1, 74),
        ("mail.example.org", 25, 2, 2, 1, 1, 0),
    ]
    assert [r.sessions for r in tunnel_destinations(engine, asn=64510)] == [1, 1]
    assert tunnel_destinations(engine, since=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)) == []
    by_asn = tunnel_asns(engine)
    assert [(r.asn, r.organization_name, r.requests, r.destinations) for r in by_asn] == [
        (64510, "ProxyNet", 2, 2), (None, None, 2, 2),  # not enriched yet: last
    ]  # fmt: skip
    (found,) = exploits(engine)
    assert (found.cve, found.name, found.value, found.attempts, found.successes, found.sessions) == (
        "CVE-2026-24061", "USER", "-f root", 1, 1, 1,
    )  # fmt: skip
