"""Team Cymru IP-to-ASN: DNS for single lookups, bulk whois (TCP 43) for batches.

DNS names are built from ``ipaddress``'s ``reverse_pointer`` (reversed octets / nibbles): a name built
from the address as written silently returns another address's ASN. Batches go to bulk whois, one
connection per batch of ``batch_size`` (default 500) as Cymru asks; one IP may come back on several lines
(several origins), unrouted space as ``NA`` and bad input as ``Error:`` lines.

An answer is checked before it is believed (:func:`check_origin`): AS numbers in 1..4294967295, a prefix
that parses and holds the address, a two-letter country code, a date, text without control characters.
A line that fails is *malformed*: the IP gets an error (retried later), never a "found" built from
garbage. A whois reply is bounded in size (``max_response_bytes``) and in total time
(``total_timeout_seconds``), however slowly it drips.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.resolver

from cowrieprocessor.enrichment.base import LookupResult, LookupStatus, result
from cowrieprocessor.enrichment.deadline import DeadlineExceeded, ResponseTooLarge, recv_all
from cowrieprocessor.enrichment.guard import Attempt, Guard
from cowrieprocessor.enrichment.ledger import Ledger, Outcome
from cowrieprocessor.enrichment.ratelimit import SYSTEM_CLOCK, Clock
from cowrieprocessor.enrichment.settings import SourceSettings

NAME = "cymru"
VERSION = "ip-to-asn"
MAX_ASN = 4_294_967_295
MAX_NAME = 256
_COUNTRY = re.compile(r"[A-Za-z]{2}")  # upper-cased when stored
_REGISTRY = re.compile(r"[a-z][a-z0-9-]{0,15}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def split_host_port(value: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, int(port)
    return value, default_port


def make_resolver(server: str | None, timeout: float) -> dns.resolver.Resolver:
    """A stub resolver that asks ``server`` (``host[:port]``) or, when None, the system's; ``timeout`` bounds
    each query as a whole."""
    if server:
        host, port = split_host_port(server, 53)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host]
        resolver.port = port
    else:
        resolver = dns.resolver.Resolver()
    resolver.timeout = timeout
    resolver.lifetime = timeout
    return resolver


def origin_name(ip: str) -> str:
    """The Cymru origin zone name for an address: reversed octets (IPv4) or nibbles (IPv6)."""
    pointer = ipaddress.ip_address(ip).reverse_pointer
    if pointer.endswith(".in-addr.arpa"):
        return pointer.removesuffix(".in-addr.arpa") + ".origin.asn.cymru.com"
    return pointer.removesuffix(".ip6.arpa") + ".origin6.asn.cymru.com"


@dataclass
class Origin:
    """One routed prefix of an address, with every origin AS seen for it."""

    asns: list[int]
    prefix: str | None
    country: str | None = None
    registry: str | None = None
    allocated: str | None = None
    as_name: str | None = None


@dataclass
class Answer:
    origins: list[Origin] = field(default_factory=list)
    unrouted: bool = False
    malformed: str | None = None  # why a line for this IP could not be believed


class Malformed(ValueError):
    """A field of a Cymru answer that is not what Cymru sends."""


def check_origin(origin: Origin, ip: str | None = None) -> Origin:
    """``origin`` if every field has Cymru's shape (and the prefix holds ``ip``); :class:`Malformed` if not."""
    if not origin.asns or any(not 0 < asn <= MAX_ASN for asn in origin.asns):
        raise Malformed(f"AS number out of range: {origin.asns}")
    if origin.prefix is not None:
        try:
            network = ipaddress.ip_network(origin.prefix, strict=False)
        except ValueError:
            raise Malformed("prefix does not parse") from None
        if ip is not None and ipaddress.ip_address(ip) not in network:
            raise Malformed("prefix does not hold the address")
    if origin.country is not None and not _COUNTRY.fullmatch(origin.country):
        raise Malformed("country is not a two-letter code")
    if origin.registry is not None and not _REGISTRY.fullmatch(origin.registry):
        raise Malformed("registry is not a registry name")
    if origin.allocated is not None and not _DATE.fullmatch(origin.allocated):
        raise Malformed("allocation date is not a date")
    if origin.as_name is not None:
        origin.as_name = _name(origin.as_name)
    return origin


def _name(value: str) -> str:
    if _CONTROL.search(value):
        raise Malformed("AS name holds control characters")
    return value[:MAX_NAME]


def _clean(value: str) -> str | None:
    value = value.strip()
    return None if value in ("", "NA") else value


def _asns(value: str) -> list[int]:
    """The AS numbers of a first field ("NA": none); :class:`Malformed` for anything but ASCII digits."""
    parts = value.replace(",", " ").split()
    if parts == ["NA"]:
        return []
    if not parts or not all(part.isascii() and part.isdigit() and len(part) <= 10 for part in parts):
        raise Malformed("AS field is not AS numbers")
    return [int(part) for part in parts]


def _prefix_len(prefix: str | None) -> int:
    try:
        return ipaddress.ip_network(prefix or "", strict=False).prefixlen
    except ValueError:
        return -1


def to_data(answer: Answer) -> dict[str, Any] | None:
    """The canonical ``cymru`` shape: the most specific prefix decides; its origins are ``asns``."""
    routed = [o for o in answer.origins if o.asns]
    if not routed:
        return None
    best = max(routed, key=lambda o: _prefix_len(o.prefix))
    asns: list[int] = []
    for origin in routed:
        if origin.prefix == best.prefix:
            asns.extend(a for a in origin.asns if a not in asns)
    data: dict[str, Any] = {
        "asn": asns[0],
        "asns": asns,
        "prefix": best.prefix,
        "country": best.country.upper() if best.country else None,  # upper case whatever the server says
        "registry": best.registry,
        "allocated": best.allocated,
        "as_name": best.as_name,
    }
    return {k: v for k, v in data.items() if v is not None}


def parse_origin_txt(text: str, ip: str | None = None) -> Origin | None:
    """``"3561 | 216.88.0.0/14 | US | arin | 1998-09-25"`` (several ASNs may share the first field); None
    for an unrouted (``NA``) record; :class:`Malformed` for one that is not Cymru's shape."""
    fields = [f.strip() for f in text.split("|")]
    if len(fields) < 2:
        raise Malformed("not an origin record")
    fields += [""] * (5 - len(fields))
    asns = _asns(fields[0])
    if not asns:
        return None
    return check_origin(Origin(asns, _clean(fields[1]), _clean(fields[2]), _clean(fields[3]), _clean(fields[4])), ip)


def parse_asname_txt(text: str) -> str | None:
    """``"13335 | US | arin | 2010-07-14 | CLOUDFLARENET, US"`` -> ``"CLOUDFLARENET, US"`` (None if garbage)."""
    fields = text.split("|", 4)
    name = _clean(fields[4]) if len(fields) == 5 else None
    try:
        return None if name is None else _name(name)
    except Malformed:
        return None


def parse_bulk(reply: str) -> tuple[dict[str, Answer], list[str]]:
    """Bulk verbose reply -> answers keyed by canonical IP, and the ``Error:`` lines."""
    answers: dict[str, Answer] = {}
    errors: list[str] = []
    for raw in reply.splitlines():
        line = raw.strip()
        if not line or line.startswith("Bulk mode"):
            continue
        if line.lower().startswith("error"):
            errors.append(line)
            continue
        fields = [f.strip() for f in line.split("|", 6)]
        if len(fields) < 3 or fields[0].upper() == "AS":
            continue
        try:
            ip = str(ipaddress.ip_address(fields[1]))
        except ValueError:
            errors.append(line)
            continue
        fields += [""] * (7 - len(fields))
        answer = answers.setdefault(ip, Answer())
        try:
            asns = _asns(fields[0])
            if not asns:
                answer.unrouted = True
                continue
            answer.origins.append(check_origin(Origin(asns, *(_clean(f) for f in fields[2:7])), ip))
        except Malformed as exc:
            answer.malformed = str(exc)
    return answers, errors


class CymruSource:
    name = NAME
    online = True

    def __init__(self, section: SourceSettings, ledger: Ledger, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.section = section
        self.ledger = ledger
        self.guard = Guard.for_source(NAME, section, ledger, clock)
        self.batch_size = section.batch_size
        self.timeout = section.timeout_seconds
        self.whois = split_host_port(section.whois_server or "whois.cymru.com:43", 43)
        self.resolver = make_resolver(section.dns_server, self.timeout)
        self._as_names: dict[int, str | None] = {}

    # -- DNS ----------------------------------------------------------------------------------------
    def _txt(self, qname: str) -> Attempt[list[str]]:
        try:
            answer = self.resolver.resolve(qname, "TXT", raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return Attempt(Outcome.NOT_FOUND, [])
        except dns.exception.Timeout as exc:
            return Attempt(Outcome.ERROR, error_class=exc.__class__.__name__, retryable=True)
        except dns.exception.DNSException as exc:
            return Attempt(Outcome.ERROR, error_class=exc.__class__.__name__, retryable=True)
        texts = [b"".join(r.strings).decode("utf-8", "replace") for r in (answer.rrset or [])]
        return Attempt(Outcome.FOUND if texts else Outcome.NOT_FOUND, texts)

    def as_name(self, asn: int) -> str | None:
        if asn not in self._as_names:
            call = self.guard.call(f"AS{asn}", lambda: self._txt(f"AS{asn}.asn.cymru.com"))
            if call.outcome is Outcome.ERROR or call.outcome.value.startswith("skipped"):
                return None  # not cached: asked again next time
            names = [parse_asname_txt(t) for t in call.value or []]
            self._as_names[asn] = next((n for n in names if n), None)
        return self._as_names[asn]

    def lookup_dns(self, ip: str) -> LookupResult:
        try:
            qname = origin_name(ip)
        except ValueError:
            return result(NAME, ip, LookupStatus.ERROR, version="dns", error="not an IP address")
        call = self.guard.call(ip, lambda: self._txt(qname))
        if call.outcome not in (Outcome.FOUND, Outcome.NOT_FOUND):
            status = LookupStatus.SKIPPED if call.outcome.value.startswith("skipped") else LookupStatus.ERROR
            return result(NAME, ip, status, version="dns", error=call.error)
        try:
            origins = [parse_origin_txt(t, ip) for t in call.value or []]
        except Malformed as exc:
            return result(NAME, ip, LookupStatus.ERROR, version="dns", error=f"malformed answer: {exc}")
        data = to_data(Answer([o for o in origins if o is not None]))
        if data is None:
            return result(NAME, ip, LookupStatus.NOT_FOUND, version="dns")
        name = self.as_name(int(data["asn"]))
        if name:
            data["as_name"] = name
        return result(NAME, ip, LookupStatus.FOUND, data, version="dns")

    # -- bulk whois ---------------------------------------------------------------------------------
    def _bulk(self, ips: Sequence[str]) -> Attempt[str]:
        query = "begin\nverbose\n" + "".join(f"{ip}\n" for ip in ips) + "end\n"
        total = self.section.total_timeout_seconds
        try:
            with socket.create_connection(self.whois, timeout=min(self.timeout, total)) as conn:
                conn.sendall(query.encode("ascii"))
                reply = recv_all(conn, self.timeout, total, self.section.max_response_bytes)
        except ResponseTooLarge as exc:
            return Attempt(Outcome.ERROR, error_class=exc.__class__.__name__)
        except DeadlineExceeded:
            return Attempt(Outcome.ERROR, error_class="TotalTimeout", retryable=True)
        except TimeoutError as exc:
            return Attempt(Outcome.ERROR, error_class=exc.__class__.__name__, retryable=True)
        except OSError as exc:
            return Attempt(Outcome.ERROR, error_class=exc.__class__.__name__, retryable=True)
        return Attempt(Outcome.FOUND, reply.decode("utf-8", "replace"))

    def lookup_bulk(self, ips: Sequence[str]) -> dict[str, LookupResult]:
        out: dict[str, LookupResult] = {}
        canonical: dict[str, str] = {}
        for ip in ips:
            try:
                canonical[ip] = str(ipaddress.ip_address(ip.strip()))
            except ValueError:
                out[ip] = result(NAME, ip, LookupStatus.ERROR, version="whois", error="not an IP address")
        for batch in _batches(list(dict.fromkeys(canonical.values())), self.batch_size):
            label = f"bulk:{batch[0]}+{len(batch) - 1}"
            call = self.guard.call(label, lambda batch=batch: self._bulk(batch), batch_size=len(batch))  # type: ignore[misc]
            wanted = set(batch)
            if call.outcome is not Outcome.FOUND:
                status = LookupStatus.SKIPPED if call.outcome.value.startswith("skipped") else LookupStatus.ERROR
                for ip, canon in canonical.items():
                    if canon in wanted:
                        out[ip] = result(NAME, ip, status, version="whois", error=call.error)
                continue
            answers, errors = parse_bulk(call.value or "")
            for ip, canon in canonical.items():
                if canon not in wanted:
                    continue
                answer = answers.get(canon)
                data = to_data(answer) if answer is not None and answer.malformed is None else None
                if answer is not None and answer.malformed is not None:
                    why = f"malformed answer: {answer.malformed}"
                    out[ip] = result(NAME, ip, LookupStatus.ERROR, version="whois", error=why)
                elif data is not None:
                    out[ip] = result(NAME, ip, LookupStatus.FOUND, data, version="whois")
                elif answer is not None:  # NA: unrouted
                    out[ip] = result(NAME, ip, LookupStatus.NOT_FOUND, version="whois")
                else:
                    why = f"no line for this IP in the bulk reply ({len(errors)} error lines)"
                    out[ip] = result(NAME, ip, LookupStatus.ERROR, version="whois", error=why)
        return out

    def lookup_many(self, ips: Sequence[str], *, at: dt.datetime | None = None) -> dict[str, LookupResult]:
        try:
            if len(ips) == 1:
                return {ips[0]: self.lookup_dns(ips[0])}
            return self.lookup_bulk(ips)
        finally:
            self.ledger.flush()

    def close(self) -> None:
        """Gives back the budget reserved ahead and not spent (to the other processes on the database)."""
        self.guard.close()


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
