"""``query overview|campaigns|session|tunnels|exploits``: a way into the data without knowing the schema.

``overview`` says what the database holds, ``campaigns --by KIND`` lists the keys worth asking about,
``session ID`` shows one session in full, ``tunnels`` and ``exploits`` the honeypot used as a proxy and
the exploits it saw. Tables fit the terminal (``output.print_rows``, as every list command); long values
(keys, hashes, timelines) are printed as lines that wrap between words, never cut; ``--format json|csv``
is complete.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cowrieprocessor.cli import output
from cowrieprocessor.cli.context import state
from cowrieprocessor.cli.options import Since, Until, parse_time
from cowrieprocessor.cli.output import ColumnsOption, FormatOption, OutputFormat
from cowrieprocessor.kinds import By

if TYPE_CHECKING:
    from cowrieprocessor.analysis.campaigns import KeyRow
    from cowrieprocessor.analysis.timeline import SessionDetail


#: The ``query campaign`` option that asks about one key of this kind, where there is one.
CAMPAIGN_OPTION = {By.ssh_key: "--ssh-key", By.password: "--password-hash", By.command: "--command-sig"}

#: Shorter headers for people (JSON and CSV keep the field names).
LABELS = {
    "payload_bytes": "bytes", "organization_name": "organization", "total_session_count": "sessions",
    "unique_ip_count": "ips", "organization_country": "cc", "is_known_hosting": "hosting",
    "is_known_vpn": "vpn", "first_seen": "first", "last_seen": "last", "destination_port": "port",
}  # fmt: skip
#: A command script shown in the campaign list is cut here (free text; JSON and CSV have it whole).
SCRIPT_CHARS = 200
AsnOption = Annotated[int | None, typer.Option("--asn", help="Only sessions from this ASN (at attack time).")]
Limit = Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")]


def _say(text: str) -> None:
    output.console.print(text)


def _warn(text: str) -> None:
    output.err_console.print(text)


def _when(value: dt.datetime | None) -> str:
    """A time as one word, so a wrapped line never splits it."""
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else "-"


def cell(value: Any) -> str:
    """A value as these views show it: times to the second in UTC, days as dates, lists comma-separated."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _day(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d") if value else "-"


def _machine(records: list[dict[str, Any]], fmt: OutputFormat, columns: Sequence[str], empty: str) -> None:
    if not records:
        _warn(output.safe_text(empty))
    output.print_rows(records, fmt, columns=columns)


def _table(
    rows: Sequence[Any], kind: type, fmt: OutputFormat, title: str, empty: str, *, columns: str | None = None
) -> None:
    """A list of dataclass rows (of type ``kind``): a table that fits for people (``output.print_rows``, headers
    from ``LABELS``, times to the second), every column for machines; ``columns`` picks them for either."""
    records = output.records(rows)
    names = [f.name for f in dataclasses.fields(kind)]
    names = output.parse_columns(columns, names) or names
    if fmt is not OutputFormat.table:
        _machine(records, fmt, names, empty)
        return
    shown = [{c: cell(v) if isinstance(v, dt.datetime) else v for c, v in r.items()} for r in records]
    output.print_rows(
        shown, fmt, title=output.safe_text(title), columns=names, empty_message=empty, pick=names if columns else None,
        labels=LABELS,
    )  # fmt: skip


# -------------------------------------------------------------------------------------------- overview ---


def overview(
    ctx: typer.Context,
    busiest: Annotated[int, typer.Option("--busiest", min=0, help="Keys shown per behaviour kind.")] = 3,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """``query overview``."""
    from cowrieprocessor.analysis.inventory import AsnRow
    from cowrieprocessor.analysis.overview import SensorRow, SourceRow
    from cowrieprocessor.analysis.overview import overview as build_overview

    o = build_overview(state(ctx).ready_engine(), busiest=busiest, freshness=state(ctx).freshness)
    if fmt is OutputFormat.json:
        output.print_json(dataclasses.asdict(o))
        return
    if fmt is OutputFormat.csv:
        output.print_rows(_overview_long(o), fmt, columns=["section", "name", "value"])
        return
    if not o.sessions:
        _say("[yellow]The database holds no session yet: `cowrieprocessor ingest PATH` first.[/yellow]")
    dead = ", ".join(f"{n:,} {status}" for status, n in o.dead_letters.items()) or "none"
    _say(
        f"[bold]{o.sessions:,}[/bold] sessions ({o.sessions_with_login:,} logged in, {o.sessions_snapshotted:,} "
        f"with their attack-time snapshot) from [bold]{o.ips:,}[/bold] IPs ({o.ips_enriched:,} enriched) in "
        f"[bold]{o.asns:,}[/bold] ASNs; {_n(o.events, 'event')} from {_n(o.files, 'file')}; {_n(o.sensors, 'sensor')}"
    )
    _say(f"from {_when(o.first_event)} to {_when(o.last_event)}")
    _say(
        f"port-forwarding requests: {o.port_forward_requests:,}; exploit attempts: {o.exploit_attempts:,}; "
        f"dead letters: {dead}"
    )
    if o.per_sensor:
        _table(o.per_sensor, SensorRow, fmt, "sensors", "")
    for kind, keys in o.busiest.items():
        if keys:
            _say(f"\n[bold]busiest by {kind}[/bold] (query campaigns --by {kind})")
            _key_lines(By(kind), keys)
    if o.top_asns:
        _table(o.top_asns, AsnRow, fmt, "top ASNs", "")
    if o.sources:
        _table(o.sources, SourceRow, fmt, "enrichment sources (due: IPs whose answer has expired)", "")
    if o.sessions:
        _say("next: query campaigns --by KIND | query session ID | query tunnels | query exploits")


def _overview_long(o: Any) -> list[dict[str, Any]]:
    """The overview as (section, name, value) rows: scalars as they are, rows as JSON."""
    out: list[dict[str, Any]] = []
    for f in dataclasses.fields(o):
        value = getattr(o, f.name)
        if isinstance(value, list):
            out += [{"section": f.name, "name": _row_name(r), "value": _json(r)} for r in value]
        elif isinstance(value, dict) and f.name == "busiest":
            for kind, rows in value.items():
                out += [{"section": f"busiest:{kind}", "name": r.key, "value": _json(r)} for r in rows]
        elif isinstance(value, dict):
            out += [{"section": f.name, "name": k, "value": v} for k, v in value.items()]
        else:
            out.append({"section": "totals", "name": f.name, "value": value})
    return out


def _row_name(row: Any) -> Any:
    first = dataclasses.fields(row)[0].name
    return getattr(row, first)


def _json(row: Any) -> str:
    return json.dumps(dataclasses.asdict(row), default=output.json_default, separators=(",", ":"))


# ------------------------------------------------------------------------------------------- campaigns ---


def _key_lines(by: By, keys: Sequence[KeyRow]) -> None:
    """Each key on its own line (whole, wrapped between words if need be), its figures on the next."""
    for n, k in enumerate(keys, 1):
        shown = k.example if by is By.password and k.example is not None else k.key
        _say(f"{n:>3}. {output.safe_text(shown)}")
        if by is By.password and k.example is not None:
            _say(f"     sha256 {k.key}")
        elif k.example and by is By.ssh_key:
            _say(f"     comment: {output.safe_text(k.example)}")
        elif k.example and by is not By.command:
            _say(f"     e.g. {output.safe_text(k.example)}")
        elif k.example:
            script = k.example if len(k.example) <= SCRIPT_CHARS else k.example[: SCRIPT_CHARS - 1] + "…"
            _say(f"     script: {output.safe_text(script)}")
        _say(
            f"     {_n(k.sessions, 'session')}, {_n(k.ips, 'IP')}, ASNs {k.asns_at_attack:,} then {k.asns_now:,} now, "
            f"{_n(k.sensors, 'sensor')}, {_day(k.first_seen)}..{_day(k.last_seen)}"
        )
        if k.session is not None:
            _say(f"     e.g. session {output.safe_text(k.session)}")


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def campaigns(
    ctx: typer.Context,
    by: Annotated[By, typer.Option("--by", help="The kind of key.", case_sensitive=False)],
    since: Since = None,
    until: Until = None,
    sensor: Annotated[str | None, typer.Option("--sensor", help="Only sessions of this sensor.")] = None,
    limit: Limit = 20,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """``query campaigns --by KIND``."""
    from cowrieprocessor.analysis import campaigns as found

    rows = found.top_keys(
        state(ctx).ready_engine(), by, limit=limit, since=parse_time(since, "--since"),
        until=parse_time(until, "--until"), sensor=sensor,
    )  # fmt: skip
    empty = f"No session has a {by.value} key" + (" in this range." if since or until or sensor else ".")
    if fmt is not OutputFormat.table:
        _machine(output.records(rows), fmt, [f.name for f in dataclasses.fields(found.KeyRow)], empty)
        return
    if not rows:
        _say(f"[yellow]{output.safe_text(empty)}[/yellow]")
        return
    _say(f"[bold]top {len(rows)} keys by {by.value}[/bold]")
    _key_lines(by, rows)
    option = CAMPAIGN_OPTION.get(by)
    if option is not None:
        value = "PASSWORD" if by is By.password else "KEY"
        hint = f"--password {value}" if by is By.password else f"{option} {value}"
        _say(f"\nnext: cowrieprocessor query campaign {hint}\n(and attribution, infrastructure, related)")


# --------------------------------------------------------------------------------------------- session ---


def session(
    ctx: typer.Context,
    session_id: Annotated[str, typer.Argument(metavar="ID", help="Cowrie's session id (12 hex characters).")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many timeline entries.")] = 1000,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """``query session ID``."""
    from cowrieprocessor.analysis.timeline import session_detail

    detail = session_detail(state(ctx).ready_engine(), session_id, limit=limit)
    if detail is None:
        _warn(
            f"[red]error:[/red] no session {output.safe_text(session_id)!s} in this database "
            "(`cowrieprocessor query sessions --ip ADDRESS` lists the sessions of an IP)."
        )
        raise typer.Exit(1)
    if fmt is OutputFormat.json:
        output.print_json(dataclasses.asdict(detail))
        return
    timeline = [{"time": e.time, "kind": e.kind, "summary": e.summary, "data": e.data} for e in detail.timeline]
    if fmt is OutputFormat.csv:
        output.print_rows(timeline, fmt, columns=["time", "kind", "summary", "data"])
        return
    _session_text(detail)


def _session_text(d: SessionDetail) -> None:
    s = d.summary
    session, sensor = output.safe_text(s["session_id"]), output.safe_text(s["sensor"])
    _say(f"[bold]session {session}[/bold] on {sensor} ({s['protocol']})")
    width = output.console.width
    for name, value in s.items():
        if name in ("session_id", "sensor", "protocol") or value in (None, 0, False, "") or value == []:
            continue
        text = _when(value) if isinstance(value, dt.datetime) else cell(value)
        if 4 + len(name) + len(text) > width and len(text) <= width - 4:  # a hash on a line of its own, whole
            _say(f"  {name}:\n    {output.safe_text(text)}")
        else:
            _say(f"  {name}: {output.safe_text(text)}")
    rows = [
        {"": name, "attack time": cell(d.at_attack.get(name)), "now": cell(d.now.get(name))}
        for name in ("asn", "organization", "asn_type", "country", "ip_types")
    ]
    rows.append({"": "as of", "attack time": cell(d.at_attack.get("taken_at")), "now": cell(d.now.get("enriched_at"))})
    rows.append({"": "taken by", "attack time": cell(d.at_attack.get("source")), "now": ""})
    output.print_rows(
        rows, OutputFormat.table, title=f"{output.safe_text(s['source_ip'])}: attack time vs now", columns=list(rows[0])
    )
    _say(f"[bold]timeline[/bold] ({len(d.timeline):,} entries from {d.events:,} events)")
    for e in d.timeline:
        _say(f"  {_when(e.time)} [bold]{output.safe_text(e.kind)}[/bold] {output.safe_text(e.summary)}")
    if d.truncated:
        _say("[yellow]  ... more: raise --limit[/yellow]")


# --------------------------------------------------------------------------------------------- tunnels ---


def tunnels(
    ctx: typer.Context,
    by_asn: Annotated[bool, typer.Option("--by-asn", help="Per source network instead of per destination.")] = False,
    asn: AsnOption = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 20,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """``query tunnels``."""
    from cowrieprocessor.analysis.tunnels import DestinationRow, TunnelAsnRow, tunnel_asns, tunnel_destinations

    engine = state(ctx).ready_engine()
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    if by_asn:
        if asn is not None:
            raise typer.BadParameter("filters destinations; --by-asn lists every ASN", param_hint="--asn")
        rows: Sequence[Any] = tunnel_asns(engine, limit=limit, since=start, until=end)
        _table(
            rows,
            TunnelAsnRow,
            fmt,
            "port forwarding by source ASN",
            "No port forwarding recorded.",
            columns=columns,
        )
        return
    rows = tunnel_destinations(engine, limit=limit, since=start, until=end, asn=asn)
    _table(
        rows,
        DestinationRow,
        fmt,
        "port forwarding destinations",
        "No port forwarding recorded.",
        columns=columns,
    )


def exploits(
    ctx: typer.Context,
    asn: AsnOption = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 20,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """``query exploits``."""
    from cowrieprocessor.analysis.tunnels import ExploitRow
    from cowrieprocessor.analysis.tunnels import exploits as find_exploits

    rows = find_exploits(
        state(ctx).ready_engine(),
        limit=limit,
        since=parse_time(since, "--since"),
        until=parse_time(until, "--until"),
        asn=asn,
    )
    _table(
        rows,
        ExploitRow,
        fmt,
        "exploit attempts",
        "No exploit attempt recorded.",
        columns=columns,
    )


#: Each command's help, one paragraph (a docstring's line breaks would show in ``--help``).
HELP = {
    "overview": "What this database holds: time span, sensors, sessions, IPs, ASNs, dead letters, the busiest "
    "campaigns by each kind of key, top ASNs, and each enrichment source with how fresh it is.",
    "campaigns": "The busiest keys of one kind (SSH key, password, command script, HASSH, client version, "
    "downloaded file) with their sessions, IPs, ASNs at attack time and now, sensors and first/last seen.",
    "session": "One session in full: summary, attack-time snapshot vs current enrichment, and its timeline "
    "(logins, commands, downloads and uploads with URLs and hashes, keys, port forwarding, exploits).",
    "tunnels": "SSH port forwarding (the honeypot used as a proxy): the top destinations, or the ASNs it came from.",
    "exploits": "Exploits Cowrie recognised (e.g. the telnet NEW-ENVIRON login bypass), per CVE.",
}


def register(app: typer.Typer) -> None:
    """Add these commands to the ``query`` group."""
    for name, command in (
        ("overview", overview), ("campaigns", campaigns), ("session", session), ("tunnels", tunnels),
        ("exploits", exploits),
    ):  # fmt: skip
        app.command(name, help=HELP[name])(command)
