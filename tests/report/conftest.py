"""A report dataset on both backends: the analysis dataset (ASNs, IPs, history, campaigns with known answers,
March 2025) plus a real Cowrie log of hostile sessions ingested through the pipeline - usernames, passwords,
commands, URLs and client versions that try to run script, load things, break out of the page's style or
reorder text - and sessions that plant an SSH key."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, update

from cowrieprocessor.enrichment.artifacts import inventory
from cowrieprocessor.ingestion import ingest
from cowrieprocessor.report import Period
from cowrieprocessor.storage.models import FileInventory, PayloadHost, PayloadHostAddress
from tests.analysis.conftest import T0, B, H, load
from tests.ingestion.builders import T0 as LOG_T0
from tests.ingestion.builders import Session, lines, ssh_key_line, write

#: Each one must show as text: no script of theirs runs, nothing is loaded, the page's style survives.
HOSTILE = (
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=2">',
    "javascript:window.__pwned=3",
    "</style><script>window.__pwned=4</script>",
    "adm\u202enimgpj.exe",
    "</title><svg onload=window.__pwned=5>",
    "L" * 5000,
)
HOSTILE_URL = "javascript:window.__pwned=6"
HOSTILE_VERSION = "SSH-2.0-<script>window.__pwned=7</script>"
#: A payload host name that is markup (no '/' or space: a URL's host ends there), and an address literal.
HOSTILE_HOST = '"><script>window.__pwned=8;<\\script>.example'
PAYLOAD_URLS = (f"http://{HOSTILE_HOST}/x.sh", f"http://{B}/bins/x86")
PERIOD = Period(since=T0, until=T0 + dt.timedelta(days=14))
PLANTED_KEY, _ = ssh_key_line(7, comment="<b>owned</b>")


@dataclass(frozen=True)
class ReportData:
    engine: Engine
    period: Period


def _at(moment: dt.datetime) -> float:
    return (moment - LOG_T0).total_seconds()


def hostile_log(path: Path) -> Path:
    """Sessions in the period (day 4) with attacker text in every field the report shows, one that plants
    a key and logs in, and one session in the previous period (for the comparison)."""
    events = []
    for i, text in enumerate(HOSTILE):
        s = Session(f"hostile{i:02d}", f"203.0.113.{10 + i}", start=_at(T0 + dt.timedelta(days=4, hours=i)))
        s.connect().version(HOSTILE_VERSION).fail(text, text).login(text, HOSTILE[(i + 1) % len(HOSTILE)])
        s.cmd(text).cmd("uname -a").download(HOSTILE_URL if i % 2 else text, shasum=f"{i:x}" * 64)
        if i < len(PAYLOAD_URLS):  # the same file again, from a payload host
            s.download(PAYLOAD_URLS[i], shasum=f"{i:x}" * 64)
        s.close()
        events += s.events
    planter = Session("planter01", "203.0.113.50", start=_at(T0 + dt.timedelta(days=5)))
    planter.connect().version().login("root", "toor")
    planter.cmd(f'echo "{PLANTED_KEY}" >> ~/.ssh/authorized_keys').close()
    events += planter.events
    before = Session("before01", "203.0.113.60", start=_at(T0 - dt.timedelta(days=2)))
    before.connect().version().fail("root", "123456").close()
    events += before.events
    events.sort(key=lambda e: e["timestamp"])
    return write(path, lines(events))


@pytest.fixture
def report_data(engine: Engine, tmp_path: Path) -> ReportData:
    load(engine)
    stats = ingest(engine, [str(hostile_log(tmp_path / "cowrie.json"))])
    assert stats.sessions_new == len(HOSTILE) + 2 and stats.dead_letters == 0
    payload_inventories(engine)
    return ReportData(engine, PERIOD)


def payload_inventories(engine: Engine) -> None:
    """What ``enrich`` writes without a network: the inventories, and the hosts' addresses as if resolved
    (the hostile name to B and H of the analysis dataset, the literal B to itself), with the ASN at resolution
    (AS64501; B is in AS64502 now)."""
    at = T0 + dt.timedelta(days=4)
    addresses = [(HOSTILE_HOST, B, 64501), (HOSTILE_HOST, H, 64501), (B, B, 64501)]
    with engine.begin() as conn:
        inventory.write(conn, inventory.read(conn), at)
        conn.execute(  # URLhaus lists the hostile name
            update(PayloadHost.__table__)
            .where(PayloadHost.__table__.c.host == HOSTILE_HOST)
            .values(
                enrichment={"urlhaus_host": {"url_count": 3}},
                provenance={"urlhaus_host": {"status": "found", "fetched_at": at.isoformat()}},
            )
        )
        conn.execute(
            insert(PayloadHostAddress.__table__),
            [
                {"host": h, "ip_address": ip, "asn_at_resolution": asn, "first_resolved_at": at, "last_resolved_at": at}
                for h, ip, asn in addresses
            ],
        )


def file_sources(engine: Engine, sha256: str, **answers: tuple[str, dict[str, Any] | None]) -> None:
    """Set a file's sources' answers as ``enrich`` stores them: source -> (status, data)."""
    at = T0 + dt.timedelta(days=4)
    provenance = {name: {"status": status, "fetched_at": at.isoformat()} for name, (status, _) in answers.items()}
    enrichment = {name: data for name, (_, data) in answers.items() if data is not None}
    with engine.begin() as conn:
        conn.execute(
            update(FileInventory.__table__)
            .where(FileInventory.__table__.c.sha256 == sha256)
            .values(provenance=provenance, enrichment=enrichment)
        )
