"""Routing history: which AS originated an address on date D, from dated prefix-to-AS snapshots.

A directory holds CAIDA RouteViews ``pfx2as`` files (``prefix<TAB>length<TAB>AS``, several origins joined
with ``_``, AS-sets with ``,``) and/or pyasn ``ipasn`` files (``prefix/len<TAB>ASN``, ``;`` comments),
plain, ``.gz`` or ``.bz2``, with the date in the file name (``...20240501...``). Files of the same date are
one snapshot (e.g. the IPv4 and IPv6 files). A lookup at D uses the latest snapshot dated on or before D.

Longest-prefix match is precomputed: nested prefixes are flattened into sorted, non-overlapping intervals,
so a lookup is one ``bisect`` (hundreds of thousands per second in pure Python; see the bench).
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import re
import socket
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, Provenance, result, utcnow

NAME = "routing_history"
_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?!\d)")
_NUMBER = re.compile(r"\d+")


def snapshot_date(path: Path) -> dt.date | None:
    match = _DATE.search(path.name)
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="ascii", errors="replace")
    if path.suffix == ".bz2":
        return bz2.open(path, "rt", encoding="ascii", errors="replace")
    return path.open("r", encoding="ascii", errors="replace")


def parse_lines(lines: Iterable[str]) -> Iterator[tuple[str, int, tuple[int, ...]]]:
    """(address, prefix length, origin ASNs) from either format; comments and junk lines are skipped."""
    origins: dict[str, tuple[int, ...]] = {}  # the same AS field recurs: parse it once
    for line in lines:
        if not line or line[0] in ";#\n":
            continue
        parts = line.split()
        try:
            if "/" in parts[0]:  # pyasn ipasn: prefix/len ASN
                address, _, length = parts[0].partition("/")
                asfield = parts[1]
            else:  # RouteViews pfx2as: prefix len AS
                address, length, asfield = parts[0], parts[1], parts[2]
            plen = int(length)
        except (IndexError, ValueError):
            continue
        asns = origins.get(asfield)
        if asns is None:
            asns = origins[asfield] = tuple(dict.fromkeys(int(n) for n in _NUMBER.findall(asfield)))
        if asns:
            yield address, plen, asns


class PrefixTable:
    """Longest-prefix match for one address family as sorted, non-overlapping intervals."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self._routes: list[tuple[int, int, int]] = []  # (start, -plen for sorting, group)
        self.starts: Sequence[int] = []
        self.values: Sequence[int] = []
        self.route_start: list[int] = []
        self.route_len: list[int] = []
        self.route_group: list[int] = []

    def add(self, start: int, plen: int, group: int) -> None:
        if not 0 <= plen <= self.bits:
            return
        mask = ((1 << plen) - 1) << (self.bits - plen)
        self._routes.append((start & mask, plen, group))

    def freeze(self) -> None:
        routes = sorted(set(self._routes))
        self._routes = []
        starts: list[int] = []
        values: list[int] = []

        def emit(at: int, value: int) -> None:
            if starts and starts[-1] == at:
                values[-1] = value
                if len(values) > 1 and values[-2] == value:
                    starts.pop()
                    values.pop()
                return
            if values and values[-1] == value:
                return
            starts.append(at)
            values.append(value)

        emit(0, -1)
        stack: list[tuple[int, int]] = []  # (last address, route index) of the enclosing prefixes
        for index, (start, plen, group) in enumerate(routes):
            self.route_start.append(start)
            self.route_len.append(plen)
            self.route_group.append(group)
            while stack and stack[-1][0] < start:
                last, _ = stack.pop()
                emit(last + 1, stack[-1][1] if stack else -1)
            emit(start, index)
            stack.append((start + (1 << (self.bits - plen)) - 1, index))
        while stack:
            last, _ = stack.pop()
            emit(last + 1, stack[-1][1] if stack else -1)
        if self.bits == 32:
            self.starts, self.values = array("Q", starts), array("q", values)
        else:
            self.starts, self.values = starts, array("q", values)

    def find(self, value: int) -> int:
        """Index of the most specific route covering ``value``, or -1."""
        return self.values[bisect_right(self.starts, value) - 1]

    def __len__(self) -> int:
        return len(self.route_start)


@dataclass(frozen=True)
class Match:
    asns: tuple[int, ...]
    prefix: str


class Snapshot:
    """One date's routing table (IPv4 and IPv6), loaded from one or more files."""

    def __init__(self, date: dt.date, paths: Sequence[Path]) -> None:
        self.date = date
        self.paths = list(paths)
        self.v4 = PrefixTable(32)
        self.v6 = PrefixTable(128)
        self.groups: list[tuple[int, ...]] = []
        self._matches: dict[tuple[int, int], Match] = {}
        group_ids: dict[tuple[int, ...], int] = {}
        for path in self.paths:
            with _open(path) as handle:
                self.load(parse_lines(handle), group_ids)
        self.v4.freeze()
        self.v6.freeze()

    def load(self, rows: Iterable[tuple[str, int, tuple[int, ...]]], group_ids: dict[tuple[int, ...], int]) -> None:
        for address, plen, asns in rows:
            group = group_ids.get(asns)
            if group is None:
                group = group_ids[asns] = len(self.groups)
                self.groups.append(asns)
            try:
                if ":" in address:
                    self.v6.add(int.from_bytes(socket.inet_pton(socket.AF_INET6, address), "big"), plen, group)
                else:
                    self.v4.add(int.from_bytes(socket.inet_aton(address), "big"), plen, group)
            except OSError:
                continue

    @property
    def prefixes(self) -> int:
        return len(self.v4) + len(self.v6)

    def lookup(self, ip: str) -> Match | None:
        """Longest-prefix match; raises ``OSError``/``ValueError`` for something that is not an address."""
        if ":" in ip:
            table, family = self.v6, socket.AF_INET6
            value = int.from_bytes(socket.inet_pton(family, ip), "big")
        else:
            table, family = self.v4, socket.AF_INET
            value = int.from_bytes(socket.inet_pton(family, ip), "big")
        index = table.find(value)
        if index < 0:
            return None
        match = self._matches.get((family, index))
        if match is None:  # a few thousand distinct routes answer most traffic: build each once
            start, plen = table.route_start[index], table.route_len[index]
            network = socket.inet_ntop(family, start.to_bytes(table.bits // 8, "big"))
            match = self._matches[(family, index)] = Match(self.groups[table.route_group[index]], f"{network}/{plen}")
        return match


class RoutingHistorySource:
    name = NAME
    online = False

    def __init__(self, directory: Path, *, cache_size: int = 2) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ValueError(f"routing_history: not a directory: {self.directory}")
        by_date: dict[dt.date, list[Path]] = {}
        for path in sorted(self.directory.iterdir()):
            date = snapshot_date(path)
            if path.is_file() and date is not None:
                by_date.setdefault(date, []).append(path)
        self.dates = sorted(by_date)
        self._files = by_date
        self._cache: OrderedDict[dt.date, Snapshot] = OrderedDict()
        self.cache_size = cache_size

    def snapshot_for(self, at: dt.date | None) -> Snapshot | None:
        """The latest snapshot dated on or before ``at`` (the latest of all when ``at`` is None)."""
        if not self.dates:
            return None
        if at is None:
            date = self.dates[-1]
        else:
            index = bisect_right(self.dates, at) - 1
            if index < 0:
                return None
            date = self.dates[index]
        snapshot = self._cache.get(date)
        if snapshot is None:
            snapshot = self._cache[date] = Snapshot(date, self._files[date])
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(date)
        return snapshot

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
        now = utcnow()
        as_of = (at.astimezone(dt.UTC) if at else now).date()
        snapshot = self.snapshot_for(as_of)
        if snapshot is None:
            why = f"no snapshot on or before {as_of.isoformat()}"
            return {ip: result(NAME, ip, LookupStatus.NOT_FOUND, fetched_at=now, error=why) for ip in ips}
        version = f"snapshot {snapshot.date.isoformat()} ({', '.join(p.name for p in snapshot.paths)})"
        provenance = Provenance(NAME, version, now)  # one per batch: this loop must stay cheap
        day, as_of_text = snapshot.date.isoformat(), as_of.isoformat()
        out: dict[str, LookupResult] = {}
        for ip in ips:
            try:
                match = snapshot.lookup(ip.strip())
            except (OSError, ValueError) as exc:
                out[ip] = LookupResult(NAME, ip, LookupStatus.ERROR, None, provenance, exc.__class__.__name__)
                continue
            if match is None:
                out[ip] = LookupResult(NAME, ip, LookupStatus.NOT_FOUND, None, provenance)
                continue
            data = {
                "asn": match.asns[0],
                "asns": list(match.asns),
                "prefix": match.prefix,
                "snapshot_date": day,
                "as_of": as_of_text,
            }
            out[ip] = LookupResult(NAME, ip, LookupStatus.FOUND, data, provenance)
        return out

    def close(self) -> None:
        self._cache.clear()
