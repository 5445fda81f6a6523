"""ASN-type coverage: the share of sessions (and of ASNs) whose ASN type is not UNKNOWN, offline.

Usage: .venv/bin/python bench/asn_type_coverage.py [--sessions 20000] [--seed 7] [--real DIR]

Reads the bundled sample, a larger generated data set (``--sessions``), and optionally real Cowrie logs
(``--real``, e.g. ../shared/data/real-cowrie), looks every source IP up in the embedded data and
classifies its AS with ``tiers.classify`` as the enrichment pass does with no online source (no SPUR, no
AbuseIPDB usage type). Prints, per data set: sessions and ASNs typed, and the types' shares.
"""

from __future__ import annotations

import argparse
import gzip
import re
import tempfile
from collections import Counter
from pathlib import Path

from cowrieprocessor.enrichment.embedded import EmbeddedSource
from cowrieprocessor.enrichment.validation import ValidationSource
from cowrieprocessor.samples import sample_paths
from cowrieprocessor.synthetic import generate
from cowrieprocessor.tiers.classify import classify_asn

_SRC = re.compile(rb'"src_ip":\s*"([^"]+)"')
_SESSION = re.compile(rb'"session":\s*"([^"]+)"')


def session_ips(paths: list[Path]) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            for line in handle:
                ip, session = _SRC.search(line), _SESSION.search(line)
                if ip and session:
                    out.setdefault(session[1].decode(), ip[1].decode())
    return out


def report(label: str, sessions: dict[str, str]) -> None:
    ips = sorted(set(sessions.values()))
    checks = ValidationSource().lookup_many(ips)
    public = [ip for ip in ips if (checks[ip].data or {}).get("is_bogon") is False]
    answers = EmbeddedSource().lookup_many(public)
    types: dict[str, str] = {}
    asn_types: dict[int, str] = {}
    for ip in public:
        data = answers[ip].data or {}
        if "asn" in data:
            kind = classify_asn(data.get("as_org"), datacenter=False, vpn=False, usage_type=None, asn=data["asn"])
            types[ip] = asn_types[data["asn"]] = kind.asn_type
    per_session = Counter(types.get(ip, "UNKNOWN") for ip in sessions.values())
    typed = sum(n for t, n in per_session.items() if t != "UNKNOWN")
    asns_typed = sum(1 for t in asn_types.values() if t != "UNKNOWN")
    print(
        f"{label}: {typed:,} of {len(sessions):,} sessions typed ({100 * typed / max(len(sessions), 1):.1f} %), "
        f"{asns_typed:,} of {len(asn_types):,} ASNs ({100 * asns_typed / max(len(asn_types), 1):.1f} %)"
    )
    print("  " + ", ".join(f"{t} {100 * n / len(sessions):.1f} %" for t, n in per_session.most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--real", type=Path)
    args = parser.parse_args()
    report("bundled sample", session_ips(sample_paths()))
    with tempfile.TemporaryDirectory() as tmp:
        result = generate(Path(tmp), sessions=args.sessions, seed=args.seed, days=7)
        report(f"generated ({args.sessions:,} sessions, seed {args.seed})", session_ips(list(result.files)))
    if args.real:
        for directory in sorted(p for p in args.real.iterdir() if p.is_dir()):
            report(f"real: {directory.name}", session_ips(sorted(directory.glob("*.gz"))))


if __name__ == "__main__":
    main()
