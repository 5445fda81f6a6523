"""The end of the main command's summary: the top ASNs and the biggest campaign attributed to them.

A newcomer's first run should show the point of the tool - sessions -> campaign -> IPs -> networks -
without knowing which query to ask. Everything here reads the tiers through the analysis API.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.table import Table
from sqlalchemy import Engine, func, select

from cowrieprocessor import analysis
from cowrieprocessor.analysis.keys import KEY_COLUMNS, CampaignKey, KeyKind
from cowrieprocessor.analysis.sql import SESSIONS
from cowrieprocessor.cli.output import console, safe_text

TOP = 5


def biggest_campaign(engine: Engine) -> tuple[CampaignKey, int, int] | None:
    """The SSH key or command signature replayed from the most source IPs: (key, sessions, IPs)."""
    best: tuple[CampaignKey, int, int] | None = None
    for kind in (KeyKind.ssh_key, KeyKind.command_sig):
        column = SESSIONS.c[KEY_COLUMNS[kind]]
        ips = func.count(SESSIONS.c.source_ip.distinct())
        stmt = (
            select(column, func.count(), ips)
            .where(column.is_not(None))
            .group_by(column)
            .order_by(ips.desc(), func.count().desc(), column)
            .limit(1)
        )
        with engine.connect() as conn:
            row = conn.execute(stmt).first()
        if row is not None and row[2] > 1 and (best is None or row[2] > best[2]):
            best = (CampaignKey(kind, row[0]), int(row[1]), int(row[2]))
    return best


def summary(engine: Engine) -> dict[str, Any]:
    """Top ASNs and the biggest campaign with the networks that hosted it (for JSON and the table)."""
    top = [asdict(row) for row in analysis.top_asns(engine, limit=TOP)]
    found = biggest_campaign(engine)
    campaign: dict[str, Any] | None = None
    if found is not None:
        key, sessions, ips = found
        networks = [asdict(row) for row in analysis.infrastructure(engine, key, limit=TOP)]
        campaign = {"kind": key.kind.value, "key": key.value, "sessions": sessions, "ips": ips, "asns": networks}
    return {"top_asns": top, "campaign": campaign}


def print_summary(data: dict[str, Any]) -> None:
    table = Table(title=f"top {TOP} ASNs (query top-asns)")
    for column in ("asn", "organisation", "type", "sessions", "IPs"):
        table.add_column(column, justify="right" if column in {"sessions", "IPs"} else "left")
    for row in data["top_asns"]:
        table.add_row(
            f"AS{row['asn']}",
            safe_text(row["organization_name"] or ""),
            safe_text(row["asn_type"] or ""),
            f"{row['total_session_count']:,}",
            f"{row['unique_ip_count']:,}",
        )
    console.print(table)
    campaign = data["campaign"]
    if campaign is None:
        return
    option = {"ssh_key": "--ssh-key", "command_sig": "--command-sig"}[campaign["kind"]]
    networks = ", ".join(
        f"AS{row['asn']} {safe_text(row['organization_name'] or '?')} ({row['ips']} IP{'' if row['ips'] == 1 else 's'})"
        for row in campaign["asns"]
        if row["asn"] is not None
    )
    # The sentence wraps between words (an AS number is never split across lines); the command to copy
    # stays one line, however narrow the terminal.
    console.print(
        f"widest campaign: {campaign['sessions']:,} sessions from {campaign['ips']:,} IPs share one "
        f"{campaign['kind'].replace('_', ' ')}; its top networks: {networks or 'no known AS'}."
    )
    console.print(f"more: cowrieprocessor query infrastructure {option} {safe_text(campaign['key'])}", soft_wrap=True)
