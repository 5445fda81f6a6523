"""The generator writes Cowrie 3.1.4-exact, realistic, deterministic logs."""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import ipaddress
import itertools
import json
import runpy
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from cowrieprocessor.synthetic import generate

COMMON = (
    "session", "protocol", "src_ip", "src_port", "dst_ip", "dst_port",
)  # fmt: skip
PIPELINE = ("eventid", "sensor", "uuid", "timestamp", "message")
# Emitter fields, in Cowrie's order, for each shape Cowrie 3.1.4 writes (cowrie-events.md section A and a
# recorded real run): a generated event must have exactly one of these.
SHAPES: dict[str, set[tuple[str, ...]]] = {
    "cowrie.session.connect": {()},
    "cowrie.client.version": {("version",)},
    "cowrie.client.kex": {("hassh", "hasshAlgorithms", "kexAlgs", "keyAlgs", "encCS", "macCS", "compCS", "langCS")},
    "cowrie.client.size": {("width", "height")},
    "cowrie.client.fingerprint": {("username", "fingerprint", "key", "type")},
    "cowrie.login.failed": {("username", "password"), ("username", "fingerprint", "key", "type")},
    "cowrie.login.success": {("username", "password")},
    "cowrie.session.params": {("arch",)},
    "cowrie.command.input": {("input",)},
    "cowrie.command.failed": {("input",)},
    "cowrie.session.file_download": {
        ("url", "outfile", "shasum", "duplicate"),
        ("duplicate", "outfile", "shasum", "destfile"),
    },
    "cowrie.session.file_download.failed": {("url",)},
    "cowrie.session.file_upload": {("filename", "outfile", "shasum")},
    "cowrie.telnet.option": {("command", "option_name", "option_byte")},
    "cowrie.log.closed": {("ttylog", "size", "shasum", "duplicate", "duration_ms")},
    "cowrie.session.closed": {("duration_ms",)},
}


def _lines(paths: list[Path]) -> list[bytes]:
    out: list[bytes] = []
    for p in paths:
        opener = gzip.open if p.suffix == ".gz" else bz2.open if p.suffix == ".bz2" else open
        with opener(p, "rb") as fh:
            out += fh.read().splitlines()
    return out


def _events(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _lines(paths)]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[dict[str, Any]]]:
    result = generate(tmp_path_factory.mktemp("gen"), sessions=4000, seed=7, days=3)
    return result, _events(result.files)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", sessions=300, seed=1)
    b = generate(tmp_path / "b", sessions=300, seed=1)
    c = generate(tmp_path / "c", sessions=300, seed=2)
    assert [p.name for p in a.files] == [p.name for p in b.files]
    assert _lines(a.files) == _lines(b.files)
    assert _lines(a.files) != _lines(c.files)


def test_lines_are_compact_json_with_cowrie_key_order(sample: tuple[Any, list[dict[str, Any]]]) -> None:
    result, events = sample
    assert len(events) == result.events
    for raw, event in zip(_lines(result.files), events, strict=True):
        assert json.dumps(event, separators=(",", ":")).encode() == raw
        keys = tuple(event)
        assert keys[:6] == COMMON and keys[-5:] == PIPELINE, keys
        assert keys[6:-5] in SHAPES[event["eventid"]], (event["eventid"], keys)
        assert dt.datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert len(event["session"]) == 12 and int(event["session"], 16) >= 0


def test_sessions_are_whole_ordered_and_timed(sample: tuple[Any, list[dict[str, Any]]]) -> None:
    result, events = sample
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)  # time order across interleaved sessions
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_session[e["session"]].append(e)
    assert len(by_session) == result.sessions == 4000
    for evs in by_session.values():
        assert evs[0]["eventid"] == "cowrie.session.connect"
        assert evs[-1]["eventid"] == "cowrie.session.closed"
        assert len({(e["src_ip"], e["src_port"], e["protocol"], e["sensor"]) for e in evs}) == 1
        t0, t1 = (dt.datetime.strptime(e["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ") for e in (evs[0], evs[-1]))
        assert evs[-1]["duration_ms"] == (t1 - t0) // dt.timedelta(milliseconds=1)
        failed = [e for e in evs if e["eventid"] == "cowrie.login.failed" and "password" in e]
        times = [dt.datetime.strptime(e["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ") for e in failed]
        assert all(b - a >= dt.timedelta(seconds=1) for a, b in itertools.pairwise(times))  # SSH delay
    positions = {sid: i for i, sid in enumerate(e["session"] for e in events)}
    first: dict[str, int] = {}
    for i, e in enumerate(events):
        first.setdefault(e["session"], i)
    interleaved = sum(1 for sid, last in positions.items() if last - first[sid] + 1 > len(by_session[sid]))
    assert interleaved > 10  # sessions overlap in time, as on a real sensor


def test_realistic_mix(sample: tuple[Any, list[dict[str, Any]]]) -> None:
    result, events = sample
    by_session: dict[str, Counter[str]] = defaultdict(Counter)
    for e in events:
        by_session[e["session"]][e["eventid"]] += 1
    scans = sum(1 for c in by_session.values() if not c["cowrie.login.failed"] and not c["cowrie.login.success"])
    brute = sum(1 for c in by_session.values() if c["cowrie.login.failed"] >= 3)
    with_commands = sum(1 for c in by_session.values() if c["cowrie.command.input"])
    assert 0.35 < scans / result.sessions < 0.75
    assert 0.08 < brute / result.sessions < 0.5
    assert 0.03 < with_commands / result.sessions < 0.3
    ids = set(result.eventids)
    assert {"cowrie.session.file_download", "cowrie.command.failed", "cowrie.telnet.option",
            "cowrie.client.fingerprint", "cowrie.session.file_upload"} <= ids  # fmt: skip


def test_campaigns_repeat_script_and_planted_key_across_ips(sample: tuple[Any, list[dict[str, Any]]]) -> None:
    _, events = sample
    scripts: dict[str, list[str]] = defaultdict(list)
    ips: dict[str, str] = {}
    for e in events:
        ips[e["session"]] = e["src_ip"]
        if e["eventid"] == "cowrie.command.input":
            scripts[e["session"]].append(e["input"])
    ips_per_script: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for sid, lines in scripts.items():
        ips_per_script[tuple(lines)].add(ips[sid])
    assert max(len(v) for v in ips_per_script.values()) >= 10
    plants = [e for e in events if e["eventid"] == "cowrie.session.file_download" and e.get("destfile")]
    assert plants and all(e["destfile"] == "/root/.ssh/authorized_keys" for e in plants)
    key_ips: dict[str, set[str]] = defaultdict(set)
    for e in plants:
        key_ips[e["shasum"]].add(e["src_ip"])
    assert max(len(v) for v in key_ips.values()) >= 5
    assert any(e["duplicate"] for e in plants) and not all(e["duplicate"] for e in plants)


def test_public_sources_ip_reuse_and_ipv6(tmp_path: Path) -> None:
    result = generate(tmp_path, sessions=10000, seed=11, days=2)
    assert 4.8 < result.sessions_per_ip < 6.5
    per_ip: Counter[str] = Counter()
    for line in _lines(result.files):
        if b'"cowrie.session.connect"' in line:
            per_ip[json.loads(line)["src_ip"]] += 1
    assert len(per_ip) == result.unique_ips
    for ip in per_ip:
        addr = ipaddress.ip_address(ip)
        assert addr.is_global and not addr.is_multicast, ip
        assert not (addr.version == 6 and addr in ipaddress.ip_network("2001:db8::/32"))
    v6 = sum(n for ip, n in per_ip.items() if ":" in ip)
    assert 0.01 < v6 / result.sessions < 0.06
    counts = sorted(per_ip.values())
    assert counts[len(counts) // 2] <= 3 and counts[-1] >= 50  # most IPs few sessions, a heavy tail


def test_daily_rotation_names_and_contents(sample: tuple[Any, list[dict[str, Any]]]) -> None:
    result, _ = sample
    assert [p.name for p in result.files] == ["cowrie.json.2025-02-20", "cowrie.json.2025-02-21", "cowrie.json"]
    for path in result.files[:-1]:
        days = {e["timestamp"][:10] for e in _events([path])}
        assert days == {path.name.rsplit(".", 1)[1]}
    assert min(e["timestamp"][:10] for e in _events(result.files[-1:])) == "2025-02-22"


@pytest.mark.parametrize("compression", ["gz", "bz2"])
def test_compression_rotated_and_single_file(tmp_path: Path, compression: str) -> None:
    plain = generate(tmp_path / "plain", sessions=400, seed=5, days=2)
    packed = generate(tmp_path / "packed", sessions=400, seed=5, days=2, compression=compression)  # type: ignore[arg-type]
    assert [p.name for p in packed.files] == [f"cowrie.json.2025-02-20.{compression}", "cowrie.json"]
    assert _lines(packed.files) == _lines(plain.files)
    single = generate(tmp_path / f"one.json.{compression}", sessions=400, seed=5, days=2,
                      compression=compression, rotate_daily=False)  # type: ignore[arg-type]  # fmt: skip
    assert single.files == [tmp_path / f"one.json.{compression}"]
    assert _lines(single.files) == _lines(plain.files)


def test_events_target_and_several_sensors(tmp_path: Path) -> None:
    result = generate(tmp_path, events=5000, seed=3, sensors=["alpha", "beta"], days=1)
    assert 5000 <= result.events < 5100
    assert {p.parent.name for p in result.files} == {"alpha", "beta"}
    for path in result.files:
        assert {e["sensor"] for e in _events([path])} == {path.parent.name}


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        generate(tmp_path, events=10, sessions=10)
    with pytest.raises(ValueError, match="timezone"):
        generate(tmp_path, events=10, start=dt.datetime(2025, 1, 1))


def test_cli_prints_what_it_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Path(__file__).resolve().parents[2] / "bench" / "generate_logs.py"
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path), "--sessions", "50", "--json"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(script), run_name="__main__")
    assert exit_info.value.code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sessions"] == 50
    assert summary["files"] == [
        {"path": str(tmp_path / "cowrie.json"), "bytes": (tmp_path / "cowrie.json").stat().st_size}
    ]
