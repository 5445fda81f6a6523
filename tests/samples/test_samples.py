"""The bundled sample logs exist, are small, public-sourced, rotated, and are what the generator makes."""

from __future__ import annotations

import gzip
import ipaddress
import json
from pathlib import Path

from cowrieprocessor.samples import SAMPLE_ARGS, sample_paths
from cowrieprocessor.synthetic import generate


def _read(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def test_sample_paths_are_the_rotated_pair_and_small() -> None:
    paths = sample_paths()
    assert [p.name for p in paths] == ["cowrie.json.2025-02-20.gz", "cowrie.json"]
    assert sum(p.stat().st_size for p in paths) < 2_000_000
    sessions, ips, days = set(), set(), set()
    for path in paths:
        for line in _read(path).splitlines():
            event = json.loads(line)
            sessions.add(event["session"])
            ips.add(event["src_ip"])
            days.add(event["timestamp"][:10])
    assert 2000 <= len(sessions) <= 5000
    assert days == {"2025-02-20", "2025-02-21"}
    assert all(ipaddress.ip_address(ip).is_global for ip in ips)


def test_samples_match_the_documented_generator_call(tmp_path: Path) -> None:
    result = generate(tmp_path, **SAMPLE_ARGS)
    assert [p.name for p in result.files] == [p.name for p in sample_paths()]
    for fresh, bundled in zip(result.files, sample_paths(), strict=True):
        assert fresh.read_bytes() == bundled.read_bytes(), f"{bundled.name} is stale: regenerate the samples"
