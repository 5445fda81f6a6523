"""AS numbers offline for the source IPs of real Cowrie logs (../shared/data/real-cowrie, when present).

Figures (docs/embedded-data.md): 2026 137/137, 2020 684/689, 2018 1,554/1,583. The 2018 log falls short of
99 %: 29 of its addresses are in space nobody announces any more, which only dated routing data attributes.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from cowrieprocessor.enrichment.embedded import EmbeddedSource
from cowrieprocessor.enrichment.validation import ValidationSource

_ROOT = Path(__file__).resolve().parents[2]
#: beside the repository (CI's layout), or the workplace's shared folder
REAL = next(
    (
        p
        for p in (_ROOT.parent / "shared" / "data" / "real-cowrie", Path("/work/shared/data/real-cowrie"))
        if p.is_dir()
    ),
    _ROOT.parent / "shared" / "data" / "real-cowrie",
)
_SRC = re.compile(rb'"src_ip":\s*"([^"]+)"')


def _ips(directory: Path) -> list[str]:
    found: set[str] = set()
    for path in sorted(directory.glob("*.gz")):
        with gzip.open(path, "rb") as handle:
            found.update(m[1].decode() for line in handle if (m := _SRC.search(line)))
    return sorted(found)


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real Cowrie logs not present at {REAL}")
@pytest.mark.parametrize(
    ("log", "least"), [("polalvarez-2026", 1.0), ("ghostwalkr-2020", 0.99), ("kareiva-2018", 0.98)]
)
def test_real_source_ips_have_an_as_number_offline(log: str, least: float) -> None:
    ips = _ips(REAL / log)
    checks = ValidationSource().lookup_many(ips)
    public = [ip for ip in ips if (checks[ip].data or {}).get("is_bogon") is False]
    answers = EmbeddedSource().lookup_many(public)
    with_asn = [ip for ip in public if "asn" in (answers[ip].data or {})]
    assert len(public) == len(ips) > 100
    assert len(with_asn) / len(ips) >= least, (log, len(with_asn), len(ips))
