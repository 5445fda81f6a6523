"""One test per way the real logs of older Cowrie versions were misread (issue #20), on both backends."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner

from cowrieprocessor.cli.main import app
from cowrieprocessor.ingestion import ingest
from cowrieprocessor.storage.engine import make_engine
from cowrieprocessor.storage.models import SessionSummary
from tests.realdata import expected
from tests.realdata.conftest import Ingested

POLALVAREZ = "ip-172-31-31-222"  # Cowrie 2.7 - 3.0.3: "duration":"20.7"


def _query(url: str, *args: str) -> Any:
    result = CliRunner().invoke(app, ["--db", url, "query", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _scalar(engine: Engine, statement: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(statement).scalar_one()


def test_string_durations_of_cowrie_2_7_to_3_0_3_are_read(real_db: Ingested) -> None:
    s = SessionSummary
    counted = select(func.count(s.duration_ms)).where(s.sensor == POLALVAREZ)
    assert _scalar(real_db.engine, counted) == 922  # every session of polalvarez-2026 has its duration
    # "duration":"0.3" is 300 ms, whatever the backend
    durations = select(func.min(s.duration_ms), func.max(s.duration_ms)).where(s.sensor == POLALVAREZ)
    with real_db.engine.connect() as conn:
        low, high = conn.execute(durations).one()
    assert 0 <= low < high and high % 100 == 0


def test_protocol_is_inferred_where_the_log_says_it(real_db: Ingested) -> None:
    # e36fa1ad9bd5: only its cowrie.session.closed is in these logs (its connect was in the file not copied),
    # with no protocol field; Cowrie 1.x's "system" says HoneyPotSSHTransport.
    protocol = select(SessionSummary.protocol).where(SessionSummary.session_id == "e36fa1ad9bd5")
    assert _scalar(real_db.engine, protocol) == "ssh"
    assert _scalar(real_db.engine, select(func.count()).where(SessionSummary.protocol.is_(None))) == 0


def test_client_versions_keep_the_original_and_group_by_their_normalised_form(real_db: Ingested) -> None:
    s = SessionSummary
    with real_db.engine.connect() as conn:
        putty = conn.execute(select(s.client_version, s.client_version_normalised, s.client_non_ssh).where(
            s.sensor == "cowrie", s.client_version.is_not(None))).all()  # fmt: skip
        groups = dict(
            conn.execute(select(s.client_version_normalised, func.count()).group_by(s.client_version_normalised)).all()
        )
        non_ssh = conn.execute(select(s.client_version).where(s.client_non_ssh.is_(True))).scalars().all()
    assert putty == [("b'SSH-2.0-PUTTY'", "SSH-2.0-PUTTY", False)]  # ghostwalkr's Cowrie 2.x bytes repr
    assert groups["SSH-2.0-PUTTY"] == 4_575 + 1  # kareiva's PuTTY clients and ghostwalkr's, one group
    assert groups["<TLS ClientHello>"] == 24  # TLS sent to the SSH port: random bytes, one group
    assert groups["GET / HTTP/1.1"] == 15
    assert groups["MGLNDD_<ip>_22"] == 3
    assert len(non_ssh) == 55 and not any(v.startswith("SSH-") for v in non_ssh)


def _tried(lines: dict[str, list[expected.Line]], field: str, value: str) -> int:
    return sum(
        any(x.data["eventid"].startswith("cowrie.login.") and x.data.get(field) == value for x in session)
        for session in lines.values()
    )


@pytest.mark.parametrize(("option", "field", "value"), [("--password", "password", "123456"),
                                                        ("--username", "username", "root"),
                                                        ("--password", "password", "")])  # fmt: skip
def test_campaign_finds_every_session_that_tried_a_credential(
    real_db: Ingested, real_lines: dict[str, list[expected.Line]], option: str, field: str, value: str
) -> None:
    want = _tried(real_lines, field, value)
    assert want > 100
    report = _query(real_db.url, "campaign", option, value)
    assert report["sessions"] == want
    sessions = _query(real_db.url, "sessions", option, value, "--limit", "100000")
    assert len(sessions) == want


def test_credential_lists_are_a_campaign_key(real_db: Ingested, real_lines: dict[str, list[expected.Line]]) -> None:
    lists: Counter[str] = Counter()
    for session in real_lines.values():
        pairs = [[x.data.get("username"), x.data["password"]] for x in session
                 if x.data["eventid"].startswith("cowrie.login.") and "password" in x.data]  # fmt: skip
        if len(pairs) >= 2:  # a list, not one guess
            lists[hashlib.sha256(json.dumps(pairs, separators=(",", ":")).encode()).hexdigest()] += 1
    top, count = lists.most_common(1)[0]
    assert count >= 10
    assert _query(real_db.url, "campaign", "--credentials", top)["sessions"] == count


def test_reingesting_unchanged_compressed_files_reports_them_unchanged(real_db: Ingested, real_dir: Path) -> None:
    stats = ingest(real_db.engine, [str(real_dir)])
    report = stats.as_dict()
    assert (report["files_read"], report["files_unchanged"]) == (0, 76)
    assert (report["bytes_on_disk"], report["mb_per_second"], report["events_new"]) == (0, 0.0, 0)


def test_a_line_still_being_written_is_pending_not_dead(engine: Engine, real_dir: Path, tmp_path: Path) -> None:
    """The live ``cowrie.json`` of polalvarez-2026, caught while Cowrie writes its last line."""
    whole = gzip.decompress((real_dir / "polalvarez-2026" / "cowrie.json.gz").read_bytes())
    last = whole.rstrip(b"\n").rsplit(b"\n", 1)[1]
    live = tmp_path / "cowrie.json"
    live.write_bytes(whole[: -len(last) - 1] + last[:40])
    reports = []
    for grown in (last[:40], last[:90], last + b"\n"):
        live.write_bytes(whole[: -len(last) - 1] + grown)
        stats = ingest(engine, [str(live)])
        reports.append((stats.dead_letters, stats.lines_pending, stats.events_new))
    assert reports == [(0, 1, 33), (0, 1, 0), (0, 0, 1)]
    with engine.connect() as conn:
        statuses = conn.execute(text("SELECT status FROM dead_letters")).scalars().all()
    assert statuses == ["resolved"]


def _split_at(lines: list[bytes], tmp_path: Path) -> tuple[Path, Path]:
    """Two files of one day: the later holds its second half, and every port-forwarding session from its first
    ``cowrie.direct-tcpip.request`` on (as if a rotation had cut each of them there); the earlier the rest."""
    events = [json.loads(raw) for raw in lines]
    first_request: dict[str, int] = {}
    for i, e in enumerate(events):
        if e["eventid"] == "cowrie.direct-tcpip.request":
            first_request.setdefault(e["session"], i)
    cut = len(lines) // 2
    parts: tuple[list[bytes], list[bytes]] = ([], [])
    for i, (raw, e) in enumerate(zip(lines, events, strict=True)):
        parts[i >= min(cut, first_request.get(e["session"], cut))].append(raw)
    early, late = tmp_path / "early" / "cowrie.json.2018-06-15", tmp_path / "late" / "cowrie.json.2018-06-16"
    for path, part in ((early, parts[0]), (late, parts[1])):
        path.parent.mkdir()
        path.write_bytes(b"".join(part))
    return early, late


def test_sessions_whose_connect_is_in_another_file(engine: Engine, real_dir: Path, tmp_path: Path) -> None:
    """A day of kareiva-2018 (port-forwarding abuse) cut in two files in the middle of sessions: the later file
    alone gives no source port from cowrie.direct-tcpip.* events, and with the earlier one the summaries are the
    whole day's."""
    source = real_dir / "kareiva-2018" / "cowrie.json.2018-06-16.gz"
    lines = gzip.decompress(source.read_bytes()).splitlines(keepends=True)
    early, late = _split_at(lines, tmp_path)
    ingest(engine, [str(late)])
    late_only = expected.read_lines([late])
    early_ids = set(expected.read_lines([early]))
    forwarded = [sid for sid, session in late_only.items() if sid in early_ids
                 and any(x.data["eventid"] == "cowrie.direct-tcpip.request" for x in session)]  # fmt: skip
    assert len(forwarded) > 100  # the cut is in the middle of forwarding sessions
    s = SessionSummary
    with engine.connect() as conn:
        ports = dict(conn.execute(select(s.session_id, s.source_port).where(s.session_id.in_(forwarded))).all())
    assert ports == dict.fromkeys(forwarded)  # unknown until the connect is read, never a forwarded port
    ingest(engine, [str(early)])
    whole = {sid: expected.summary(session) for sid, session in expected.read_lines([source]).items()}
    with engine.connect() as conn:
        rows = {r["session_id"]: r for r in conn.execute(select(s.__table__)).mappings()}
    columns = ("source_port", "destination_ip", "destination_port", "protocol", "event_count", "duration_ms")
    assert {sid: tuple(rows[sid][c] for c in columns) for sid in whole} == {
        sid: tuple(w[c] for c in columns) for sid, w in whole.items()
    }


def test_either_file_first_gives_the_same_summaries(backend: str, real_dir: Path, tmp_path: Path,
                                                    request: pytest.FixtureRequest) -> None:  # fmt: skip
    source = real_dir / "kareiva-2018" / "cowrie.json.2018-06-16.gz"
    lines = gzip.decompress(source.read_bytes()).splitlines(keepends=True)
    early, late = _split_at(lines, tmp_path)
    results = []
    for order in ((early, late), (late, early)):
        url = request.getfixturevalue("db_url") if not results else _another_db(backend, tmp_path, request)
        eng = make_engine(url)
        try:
            for path in order:
                ingest(eng, [str(path)])
            cols = [c for c in SessionSummary.__table__.columns if c.name not in ("created_at", "updated_at")]
            with eng.connect() as conn:
                results.append(sorted(tuple(r) for r in conn.execute(select(*cols)).all()))
        finally:
            eng.dispose()
    assert results[0] == results[1]


def _another_db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        path = tmp_path / "second.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    server = request.getfixturevalue("pg_server")
    return str(server.migrated_database())
