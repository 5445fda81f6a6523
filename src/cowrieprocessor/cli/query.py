"""``cowrieprocessor query ...``: the analyst's questions, behaviour -> IPs -> ASNs, then and now.

Each command is a thin shell over one function of ``cowrieprocessor.analysis``. Tables on a terminal go
through ``print_rows`` (attacker-controlled text escaped); ``--format json|csv`` is for pipelines.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from cowrieprocessor import analysis
from cowrieprocessor.analysis import CampaignKey, KeyKind, SessionFilter
from cowrieprocessor.cli.context import state
from cowrieprocessor.cli.output import OutputFormat, console, err_console, print_json, print_rows, safe_text

app = typer.Typer(help="Ask the database: campaigns, their IPs and networks, then and now.", no_args_is_help=True)

FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", help="table for people; json or csv for pipelines.", case_sensitive=False),
]
SshKey = Annotated[str | None, typer.Option("--ssh-key", help="SSH key fingerprint (e.g. SHA256:...).")]
Password = Annotated[
    str | None, typer.Option("--password", help="Password in plain text (hashed with SHA-256 for the lookup).")
]
PasswordHash = Annotated[str | None, typer.Option("--password-hash", help="SHA-256 hex of the password.")]
CommandSig = Annotated[str | None, typer.Option("--command-sig", help="Command signature of the session.")]


def _limit() -> Any:
    return typer.Option("--limit", min=1, help="At most this many rows.")


def _time(value: str | None, name: str) -> dt.datetime | None:
    """ISO-8601 date or time; without a zone it is UTC (the analyst's times are UTC, like every stored one)."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO-8601 date/time: {value!r}", param_hint=name) from exc
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _campaign_key(ssh_key: str | None, password: str | None, password_hash: str | None, sig: str | None) -> CampaignKey:
    given = [
        (v, make)
        for v, make in (
            (ssh_key, CampaignKey.ssh_key),
            (password, CampaignKey.password),
            (password_hash, CampaignKey.password_hash),
            (sig, CampaignKey.command_sig),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise typer.BadParameter("give exactly one of --ssh-key, --password, --password-hash, --command-sig")
    value, make = given[0]
    return make(value)


def _records(rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(r) for r in rows]


def _show(rows: Sequence[Any], fmt: OutputFormat, title: str, empty: str) -> None:
    records = _records(rows)
    if not records and fmt is not OutputFormat.table:
        err_console.print(safe_text(empty))  # machines get [] / a header on stdout, people the reason
    print_rows(records, fmt, title=safe_text(title), empty_message=empty)


@app.command()
def sessions(
    ctx: typer.Context,
    ssh_key: SshKey = None,
    password: Password = None,
    password_hash: PasswordHash = None,
    command_sig: CommandSig = None,
    ip: Annotated[str | None, typer.Option("--ip", help="Source IP address.")] = None,
    asn: Annotated[int | None, typer.Option("--asn", help="ASN at the time of the attack.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="Country at the time of the attack.")] = None,
    sensor: Annotated[str | None, typer.Option("--sensor", help="Honeypot sensor name.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="First event at or after (ISO-8601, UTC).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="First event before (ISO-8601, UTC).")] = None,
    commands: Annotated[bool, typer.Option("--commands", help="Add each session's shell input.")] = False,
    limit: Annotated[int, _limit()] = 100,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Sessions matching every filter, oldest first, with their attack-time snapshot (no JOIN)."""
    if password is not None and password_hash is not None:
        raise typer.BadParameter("give --password or --password-hash, not both")
    where = SessionFilter(
        ssh_key=ssh_key,
        password_hash=SessionFilter.hash(password) if password is not None else password_hash,
        command_sig=command_sig,
        ip=ip,
        asn=asn,
        country=country,
        sensor=sensor,
        since=_time(since, "--since"),
        until=_time(until, "--until"),
    )
    try:
        if not where.active():  # also refuses an address that is not one
            raise typer.BadParameter("give at least one filter")
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    rows = analysis.find_sessions(state(ctx).engine, where, limit=limit, with_commands=commands)
    _show(rows, fmt, "sessions", "No session matches these filters.")


@app.command()
def campaign(
    ctx: typer.Context,
    ssh_key: SshKey = None,
    password: Password = None,
    password_hash: PasswordHash = None,
    command_sig: CommandSig = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A campaign's sessions, IPs and ASNs by country and IP type at attack time (snapshot columns only)."""
    key = _campaign_key(ssh_key, password, password_hash, command_sig)
    report = analysis.campaign_summary(state(ctx).engine, key)
    groups = _records(report.groups)
    if fmt is OutputFormat.json:
        print_json(dataclasses.asdict(report))
        return
    if fmt is OutputFormat.csv:
        print_rows(groups, fmt, columns=[f.name for f in dataclasses.fields(analysis.CampaignGroup)])
        return
    if not report.sessions:
        console.print(f"[yellow]No session has this {key.kind.value}.[/yellow]")
        return
    console.print(
        f"{report.sessions:,} sessions, {report.ips:,} IPs, {report.asns:,} ASNs, {report.countries:,} countries"
        f" from {safe_text(report.first_seen)} to {safe_text(report.last_seen)}"
    )
    print_rows(groups, fmt, title=f"campaign by {key.kind.value}: country x IP type at attack time")


@app.command()
def attribution(
    ctx: typer.Context,
    ssh_key: SshKey = None,
    password: Password = None,
    password_hash: PasswordHash = None,
    command_sig: CommandSig = None,
    limit: Annotated[int, _limit()] = 1000,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Each IP of a campaign: ASN and country at attack time vs now (ASN_CHANGED, COUNTRY_CHANGED, STABLE)."""
    key = _campaign_key(ssh_key, password, password_hash, command_sig)
    rows = analysis.attribution(state(ctx).engine, key, limit=limit)
    _show(rows, fmt, "attribution: attack time vs now", f"No session has this {key.kind.value}.")


@app.command()
def infrastructure(
    ctx: typer.Context,
    ssh_key: SshKey = None,
    password: Password = None,
    password_hash: PasswordHash = None,
    command_sig: CommandSig = None,
    limit: Annotated[int, _limit()] = 1000,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The ASNs and organisations that hosted a campaign, with type, IPs, sessions, first/last seen."""
    key = _campaign_key(ssh_key, password, password_hash, command_sig)
    rows = analysis.infrastructure(state(ctx).engine, key, limit=limit)
    _show(rows, fmt, "infrastructure at attack time", f"No session has this {key.kind.value}.")


@app.command()
def related(
    ctx: typer.Context,
    ssh_key: SshKey = None,
    password: Password = None,
    password_hash: PasswordHash = None,
    command_sig: CommandSig = None,
    kind: Annotated[
        list[KeyKind] | None, typer.Option("--kind", help="Only these kinds of other campaigns (repeatable).")
    ] = None,
    limit: Annotated[int, _limit()] = 100,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Other campaigns (SSH keys, passwords, command signatures) seen on the same ASNs."""
    key = _campaign_key(ssh_key, password, password_hash, command_sig)
    kinds = tuple(kind) if kind else tuple(KeyKind)
    rows = analysis.related(state(ctx).engine, key, kinds=kinds, limit=limit)
    _show(rows, fmt, "other campaigns on the same ASNs", "No other campaign on these ASNs.")


@app.command("top-asns")
def top_asns(
    ctx: typer.Context,
    asn_type: Annotated[str | None, typer.Option("--type", help="Only ASNs of this type.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="Only organisations of this country.")] = None,
    limit: Annotated[int, _limit()] = 20,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The ASNs with the most sessions (ASN inventory alone, no session scan)."""
    rows = analysis.top_asns(state(ctx).engine, limit=limit, asn_type=asn_type, country=country)
    _show(rows, fmt, "top ASNs", "The ASN inventory has no matching ASN.")


@app.command("asn-types")
def asn_types(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Sessions, IPs and ASNs per ASN type (hosting, ISP, ...) from the ASN inventory alone."""
    _show(analysis.asn_types(state(ctx).engine), fmt, "ASN types", "The ASN inventory is empty.")


@app.command("persistent-ips")
def persistent_ips(
    ctx: typer.Context,
    min_days: Annotated[float, typer.Option("--min-days", min=0, help="Active at least this many days.")] = 30,
    limit: Annotated[int, _limit()] = 100,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """IPs active (first to last session) longer than N days, from the IP inventory."""
    rows = analysis.persistent_ips(state(ctx).engine, min_days=min_days, limit=limit)
    _show(rows, fmt, f"IPs active at least {min_days:g} days", f"No IP was active {min_days:g} days or more.")


@app.command()
def movements(
    ctx: typer.Context,
    ip: Annotated[str | None, typer.Option("--ip", help="Only this IP.")] = None,
    asn: Annotated[int | None, typer.Option("--asn", help="Only IPs that were ever in this ASN.")] = None,
    limit: Annotated[int, _limit()] = 100,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """IPs that changed ASN, each with its history windows (valid_until empty = current)."""
    try:
        rows = analysis.movements(state(ctx).engine, limit=limit, ip=ip, asn=asn)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _show(rows, fmt, "IP -> ASN movements", "No IP has changed ASN.")


@app.command()
def stale(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="List the IPs to refresh from this source.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Judge freshness at this time (default now).")] = None,
    limit: Annotated[int, _limit()] = 100,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """What needs re-enrichment, per source: expired provenance, or never enriched."""
    moment = _time(as_of, "--as-of")
    engine, freshness = state(ctx).engine, state(ctx).settings.freshness
    if source is None:
        rows: Sequence[Any] = [r for r in analysis.stale(engine, as_of=moment, freshness=freshness) if r.count]
        _show(rows, fmt, "needs re-enrichment", "Nothing needs re-enrichment.")
    else:
        rows = analysis.stale_ips(engine, source, as_of=moment, limit=limit, freshness=freshness)
        _show(rows, fmt, f"IPs to refresh from {source}", f"No IP needs a refresh from {source}.")


def register(root: typer.Typer) -> None:
    """Add the ``query`` group to ``root``."""
    root.add_typer(app, name="query")
