#!/usr/bin/env python3
"""Build the embedded offline data (``src/cowrieprocessor/enrichment/data/``) from two npm packages.

Run it for a release (network: the npm registry only; ``npm`` must be on the PATH):

    python3 scripts/build_embedded_data.py            # fetches the latest versions with `npm pack`
    python3 scripts/build_embedded_data.py --from DIR # or uses tarballs already in DIR

Inputs:
- ``@ip-location-db/asn`` (CC BY 4.0 - RouteViews, DB-IP, NRO): IP range -> AS number and organisation,
  IPv4 and IPv6, as CSV (``asn-ipv4-num.csv``, ``asn-ipv6-num.csv``: inclusive numeric ranges).
- ``@ip-location-db/geo-whois-asn-country-mmdb`` (CC0; country data from the RIRs' whois, NRO): IP ->
  ``country_code`` as one ``.mmdb`` for IPv4 and IPv6.

Outputs (why this form: see docs/embedded-data.md - the measured alternatives):
- ``asn-v4.bin.gz`` / ``asn-v6.bin.gz``: the ranges as a sorted table of range *starts* with one AS number
  each (gaps filled with AS 0 = "no AS"), so a lookup is one binary search: ``u32 count`` then the starts
  (4 or 16 bytes, big-endian) then the AS numbers (u32 big-endian), then per range the country when one
  covers the whole range (u16, the code's two letters; 0: look the address up in the country table);
- ``asn-orgs.json.gz``: AS number -> organisation (each AS has exactly one name in the data);
- ``country-v4.bin.gz`` / ``country-v6.bin.gz``: the country ``.mmdb``'s networks as the same kind of
  table (adjacent networks of one country merged; the value is the code's two letters as ``ord(a) << 8 |
  ord(b)``, 0 = none): one more binary search is faster than the ``.mmdb`` reader's lookup and decoding;
- ``embedded-data.json``: data date, package versions, sha256 of every input and output file, row counts;
- ``LICENSE-*.txt``: the licence texts the packages ship.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ASN_PACKAGE = "@ip-location-db/asn"
COUNTRY_PACKAGE = "@ip-location-db/geo-whois-asn-country-mmdb"
OUT = Path(__file__).resolve().parent.parent / "src" / "cowrieprocessor" / "enrichment" / "data"
LICENCES = {
    "ROUTEVIEWS-LICENSE": "LICENSE-ROUTEVIEWS.txt",
    "DBIP-LICENSE": "LICENSE-DBIP.txt",
    "NRO_LICENSE": "LICENSE-NRO.txt",
    "MODIFICATIONS": "MODIFICATIONS-ip-location-db-asn.txt",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(package: str, into: Path) -> Path:
    """``npm pack`` downloads the package's tarball and prints its file name (nothing is installed)."""
    out = subprocess.run(  # noqa: S603 - fixed arguments, the package names are this script's constants
        ["npm", "pack", package, "--silent", "--pack-destination", str(into)],  # noqa: S607 - npm from PATH
        check=True,
        capture_output=True,
        text=True,
    )
    return into / out.stdout.strip().splitlines()[-1]


def find_tarball(directory: Path, package: str) -> Path:
    stem = package.lstrip("@").replace("/", "-")
    found = sorted(directory.glob(f"{stem}-[0-9]*.tgz"))
    if not found:
        sys.exit(f"no {stem}-VERSION.tgz in {directory}")
    return found[-1]


def unpack(tarball: Path, into: Path) -> tuple[Path, str]:
    with tarfile.open(tarball) as tar:
        tar.extractall(into, filter="data")
    package = into / "package"
    version = json.loads((package / "package.json").read_text())["version"]
    return package, version


def data_date(version: str) -> dt.date:
    """ip-location-db versions end with the build time: ``2.3.2026061719`` is 2026-06-17 19h UTC."""
    match = re.search(r"(\d{4})(\d{2})(\d{2})\d{2}$", version)
    if not match:
        sys.exit(f"cannot read a date from version {version!r}")
    return dt.date(int(match[1]), int(match[2]), int(match[3]))


def build_table(csv_path: Path, width: int, orgs: dict[int, str]) -> tuple[list[int], list[int], int]:
    """Sorted inclusive ranges -> (starts, AS numbers) with AS 0 filling the gaps, and how many rows
    overlapped the row before (the 2026-06 data has one such row per family: the earlier row keeps the
    overlap, the later one starts after it)."""
    starts: list[int] = []
    asns: list[int] = []
    clipped = 0
    following = 0  # first address after the previous range
    with csv_path.open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            first, last, asn = int(row[0]), int(row[1]), int(row[2])
            if last < first or (starts and first < starts[-1]):
                sys.exit(f"{csv_path.name}: range reversed or unsorted at {row[:2]}")
            if first < following:
                clipped += 1
                if last < following:
                    continue
                first = following
            if first > following:
                starts.append(following)
                asns.append(0)
            starts.append(first)
            asns.append(asn)
            orgs.setdefault(asn, row[3])
            following = last + 1
    if following < 1 << (8 * width):
        starts.append(following)
        asns.append(0)
    return starts, asns, clipped


def encode(starts: list[int], values: list[int], width: int, extra: list[int] | None = None) -> bytes:
    """``u32 count``, the starts (``width`` bytes each), the values (u32), then optionally a u16 column."""
    body = b"".join(s.to_bytes(width, "big") for s in starts) + b"".join(v.to_bytes(4, "big") for v in values)
    if extra is not None:
        body += b"".join(v.to_bytes(2, "big") for v in extra)
    return len(starts).to_bytes(4, "big") + body


def range_countries(starts: list[int], country_starts: list[int], country_values: list[int]) -> list[int]:
    """Per AS range, its country when one country covers the whole range, else 0 (look it up per address):
    most addresses then need one binary search, not two."""
    from bisect import bisect_right

    out = []
    for i, first in enumerate(starts):
        last = starts[i + 1] - 1 if i + 1 < len(starts) else None
        j = bisect_right(country_starts, first) - 1
        covered = last is not None and (j + 1 >= len(country_starts) or country_starts[j + 1] > last)
        out.append(country_values[j] if covered else 0)
    return out


def country_tables(mmdb: Path) -> list[tuple[list[int], list[int]]]:
    """The country .mmdb's networks (IPv4 and IPv6, aliases of IPv4 space skipped) as range tables."""
    import ipaddress

    import maxminddb

    aliases = [ipaddress.ip_network(n) for n in ("::ffff:0:0/96", "::/96", "2002::/16")]
    ranges: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
    with maxminddb.open_database(str(mmdb)) as reader:
        for net, record in reader:
            code = record.get("country_code") if isinstance(record, dict) else None
            if not isinstance(code, str) or len(code) != 2:
                continue
            if net.version == 6 and any(net.subnet_of(a) for a in aliases):  # type: ignore[arg-type]
                continue
            value = ord(code[0].upper()) << 8 | ord(code[1].upper())
            ranges[net.version].append((int(net.network_address), int(net.broadcast_address), value))
    out = []
    for version, width in ((4, 4), (6, 16)):
        starts: list[int] = []
        values: list[int] = []
        following = 0
        for first, last, value in sorted(ranges[version]):
            if first > following:
                starts.append(following)
                values.append(0)
            if values and values[-1] == value and first == following:
                following = last + 1  # same country continues: merge
                continue
            starts.append(first)
            values.append(value)
            following = last + 1
        if following < 1 << (8 * width):
            starts.append(following)
            values.append(0)
        out.append((starts, values))
    return out


def write_gzip(path: Path, payload: bytes) -> None:
    # mtime=0: the same inputs give byte-identical files (reviewable, reproducible commits)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
        out.write(payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", type=Path, help="directory holding the two .tgz already")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tarballs = {}
        for package in (ASN_PACKAGE, COUNTRY_PACKAGE):
            tarballs[package] = find_tarball(args.source, package) if args.source else fetch(package, tmp)
        asn_dir, asn_version = unpack(tarballs[ASN_PACKAGE], tmp / "asn")
        country_dir, country_version = unpack(tarballs[COUNTRY_PACKAGE], tmp / "country")

        out: Path = args.out
        out.mkdir(parents=True, exist_ok=True)
        orgs: dict[int, str] = {}
        v4_starts, v4_asns, v4_clipped = build_table(asn_dir / "asn-ipv4-num.csv", 4, orgs)
        v6_starts, v6_asns, v6_clipped = build_table(asn_dir / "asn-ipv6-num.csv", 16, orgs)
        (c4_starts, c4_values), (c6_starts, c6_values) = country_tables(country_dir / "geo-whois-asn-country.mmdb")
        v4_cc = range_countries(v4_starts, c4_starts, c4_values)
        v6_cc = range_countries(v6_starts, c6_starts, c6_values)
        write_gzip(out / "asn-v4.bin.gz", encode(v4_starts, v4_asns, 4, v4_cc))
        write_gzip(out / "asn-v6.bin.gz", encode(v6_starts, v6_asns, 16, v6_cc))
        write_gzip(out / "country-v4.bin.gz", encode(c4_starts, c4_values, 4))
        write_gzip(out / "country-v6.bin.gz", encode(c6_starts, c6_values, 16))
        v4_rows, v6_rows, c4_rows, c6_rows = len(v4_starts), len(v6_starts), len(c4_starts), len(c6_starts)
        org_json = json.dumps({str(k): v for k, v in sorted(orgs.items())}, ensure_ascii=False, separators=(",", ":"))
        write_gzip(out / "asn-orgs.json.gz", org_json.encode())
        (out / "geo-whois-asn-country.mmdb").unlink(missing_ok=True)  # earlier builds shipped the .mmdb
        for name, target in LICENCES.items():
            shutil.copyfile(asn_dir / name, out / target)

        outputs = ["asn-v4.bin.gz", "asn-v6.bin.gz", "asn-orgs.json.gz", "country-v4.bin.gz", "country-v6.bin.gz"]
        manifest = {
            "dataset": "ip-location-db",
            "data_date": min(data_date(asn_version), data_date(country_version)).isoformat(),
            "packages": {
                ASN_PACKAGE: {
                    "version": asn_version,
                    "tarball_sha256": sha256(tarballs[ASN_PACKAGE]),
                    "licence": "CC BY 4.0 (RouteViews, DB-IP, NRO)",
                },
                COUNTRY_PACKAGE: {
                    "version": country_version,
                    "tarball_sha256": sha256(tarballs[COUNTRY_PACKAGE]),
                    "licence": "CC0 1.0 (country data of the RIRs, NRO)",
                },
            },
            "rows": {
                "ipv4_ranges": v4_rows,
                "ipv6_ranges": v6_rows,
                "as_organisations": len(orgs),
                "country_ipv4_ranges": c4_rows,
                "country_ipv6_ranges": c6_rows,
                "ranges_of_one_country": sum(1 for c in v4_cc + v6_cc if c),
                "overlapping_rows_clipped": v4_clipped + v6_clipped,
            },
            "files": {name: {"sha256": sha256(out / name), "bytes": (out / name).stat().st_size} for name in outputs},
        }
        (out / "embedded-data.json").write_text(json.dumps(manifest, indent=2) + "\n")
        print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
