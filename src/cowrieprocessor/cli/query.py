"""``cowrieprocessor query ...``: the analyst's questions, behaviour -> IPs -> ASNs, then and now.

Each command is a thin shell over one function of ``cowrieprocessor.analysis``. Tables on a terminal go
through ``output.print_rows`` (attacker-controlled text escaped); ``--format json|csv`` is for pipelines.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cowrieprocessor.cli import output
from cowrieprocessor.cli.context import state
from cowrieprocessor.cli.options import (
    AsnOption,
    CommandSig,
    Password,
    PasswordHash,
    SshKey,
    Username,
    limit_option,
    parse_time,
    takes_campaign_key,
)
from cowrieprocessor.cli.output import ColumnsOption, FormatOption, OutputFormat

if TYPE_CHECKING:
    from cowrieprocessor.analysis import CampaignKey

app = typer.Typer(help="Ask the database: campaigns, their IPs and networks, then and now.", no_args_is_help=True)


class Kind(enum.StrEnum):
    """``analysis.KeyKind`` for the command line (importing it would load SQLAlchemy for ``--help``)."""

    ssh_key = "ssh_key"
    password = "password"  # noqa: S105 - a kind of key, not a secret
    command_sig = "command_sig"
    credentials = "credentials"


def _finite_days(value: float) -> float:
    if math.isnan(value) or not 0 <= value <= 36_525:
        raise typer.BadParameter("give a number of days from 0 to 36,525 (a hundred years)")
    return value


def _show(
    rows: Sequence[Any],
    fmt: OutputFormat,
    title: str,
    empty: str,
    names: type | Sequence[str],
    columns: str | None = None,
    priority: Sequence[str] = (),
) -> None:
    """Rows of one dataclass type: every field a column (so that an empty CSV still has its header)."""
    records = output.records(rows)
    if not records and fmt is not OutputFormat.table:
        output.err_console.print(output.safe_text(empty))  # machines get [] / a header on stdout, people the reason
    cols = [f.name for f in dataclasses.fields(names)] if isinstance(names, type) else list(names)
    output.print_rows(
        records, fmt, title=output.safe_text(title), empty_message=empty, columns=cols, pick=columns, priority=priority
    )


SESSION_PRIORITY = (
    "session_id", "source_ip", "first_event_at", "snapshot_asn", "snapshot_country", "login_username",
    "command_count", "sensor",
)  # fmt: skip


@app.command()
def sessions(
    ctx: typer.Context,
    ssh_key: SshKey = None,
    password: Password = None,
    password_hash: PasswordHash = None,
    command_sig: CommandSig = None,
    username: Username = None,
    ip: Annotated[str | None, typer.Option("--ip", help="Source IP address.")] = None,
    asn: AsnOption = None,
    country: Annotated[str | None, typer.Option("--country", help="Country at the time of the attack.")] = None,
    sensor: Annotated[str | None, typer.Option("--sensor", help="Honeypot sensor name.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="First event at or after (ISO-8601, UTC).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="First event before (ISO-8601, UTC).")] = None,
    commands: Annotated[bool, typer.Option("--commands", help="Add each session's shell input.")] = False,
    limit: Annotated[int, limit_option()] = 100,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Sessions matching every filter, oldest first, with their attack-time snapshot (no JOIN).

    Columns: session_id, first_event_at, last_event_at, sensor, source_ip, login_username, client_version,
    ssh_key_fingerprint, password_hash, command_signature, command_count, snapshot_asn, snapshot_country,
    snapshot_ip_types, snapshot_source, enrichment_at, commands (with --commands). A narrow table keeps
    session_id, source_ip, first_event_at, snapshot_asn and snapshot_country first.
    """
    from cowrieprocessor import analysis
    from cowrieprocessor.analysis import SessionFilter

    if password is not None and password_hash is not None:
        raise typer.BadParameter("give --password or --password-hash, not both")
    where = SessionFilter(
        ssh_key=ssh_key,
        password_hash=SessionFilter.hash(password) if password is not None else password_hash,
        command_sig=command_sig,
        username=username,
        ip=ip,
        asn=asn,
        country=country,
        sensor=sensor,
        since=parse_time(since, "--since"),
        until=parse_time(until, "--until"),
    )
    try:
        if not where.active():  # also refuses an address that is not one
            raise typer.BadParameter("give at least one filter")
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    rows = analysis.find_sessions(state(ctx).engine, where, limit=limit, with_commands=commands)
    names = [f.name for f in dataclasses.fields(analysis.SessionRow) if commands or f.name != "commands"]
    records = [{k: v for k, v in r.items() if k in names} for r in output.records(rows)]
    if not records and fmt is not OutputFormat.table:
        output.err_console.print("No session matches these filters.")
    output.print_rows(
        records, fmt, title="sessions", empty_message="No session matches these filters.", columns=names,
        pick=columns, priority=(*SESSION_PRIORITY, "commands"),
    )  # fmt: skip


@app.command()
@takes_campaign_key
def campaign(
    ctx: typer.Context,
    key: CampaignKey,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A campaign's sessions, IPs and ASNs by country and IP type at attack time (snapshot columns only).

    Columns (csv and the table): country, ip_type, sessions, ips, asns.
    """
    from cowrieprocessor import analysis

    report = analysis.campaign_summary(state(ctx).engine, key)
    groups = output.records(report.groups)
    names = [f.name for f in dataclasses.fields(analysis.CampaignGroup)]
    if fmt is OutputFormat.json:
        output.print_json(dataclasses.asdict(report))
        return
    if fmt is OutputFormat.csv:
        output.print_rows(groups, fmt, columns=names, pick=columns)
        return
    if not report.sessions:
        output.console.print(f"[yellow]No session has this {key.kind.value}.[/yellow]")
        return
    output.console.print(
        f"{report.sessions:,} sessions, {report.ips:,} IPs, {report.asns:,} ASNs, {report.countries:,} countries"
        f" from {output.safe_text(report.first_seen)} to {output.safe_text(report.last_seen)}"
    )
    output.print_rows(
        groups, fmt, title=f"campaign by {key.kind.value}: country x IP type at attack time", columns=names,
        pick=columns,
    )  # fmt: skip


def _per_ip_or_asn(name: str, row: str, title: str, priority: tuple[str, ...], help_text: str) -> None:
    """Add ``query NAME``: the rows ``analysis.NAME`` gives for one campaign key (at most ``--limit``)."""

    @app.command(name, help=help_text)
    @takes_campaign_key
    def command(
        ctx: typer.Context,
        key: CampaignKey,
        limit: Annotated[int, limit_option()] = 1000,
        columns: ColumnsOption = None,
        fmt: FormatOption = OutputFormat.table,
    ) -> None:
        from cowrieprocessor import analysis

        rows = getattr(analysis, name)(state(ctx).engine, key, limit=limit)
        empty = f"No session has this {key.kind.value}."
        _show(rows, fmt, title, empty, getattr(analysis, row), columns, priority)


_per_ip_or_asn(
    "attribution", "AttributionRow", "attribution: attack time vs now",
    ("ip", "asn_at_attack", "asn_now", "status", "country_at_attack"),
    """Each IP of a campaign: ASN and country at attack time vs now (ASN_CHANGED, COUNTRY_CHANGED, STABLE).

    Columns: ip, sessions, first_seen, last_seen, asn_at_attack, country_at_attack, asn_now, country_now,
    status.
    """,
)  # fmt: skip
_per_ip_or_asn(
    "infrastructure", "InfrastructureRow", "infrastructure at attack time",
    ("asn", "organization_name", "asn_type", "ips", "sessions"),
    """The ASNs and organisations that hosted a campaign, with type, IPs, sessions, first/last seen.

    Columns: asn, organization_name, organization_country, asn_type, is_known_hosting, is_known_vpn, ips,
    ips_still_there, sessions, first_seen, last_seen.
    """,
)  # fmt: skip


@app.command()
@takes_campaign_key
def related(
    ctx: typer.Context,
    key: CampaignKey,
    kind: Annotated[
        list[Kind] | None, typer.Option("--kind", help="Only these kinds of other campaigns (repeatable).")
    ] = None,
    limit: Annotated[int, limit_option()] = 100,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Other campaigns (SSH keys, passwords, command signatures) seen on the same ASNs.

    Columns: kind, key, asn, organization_name, sessions, ips, first_seen, last_seen.
    """
    from cowrieprocessor import analysis
    from cowrieprocessor.analysis.keys import LISTED_KINDS, KeyKind

    kinds = tuple(KeyKind(k.value) for k in kind) if kind else LISTED_KINDS
    try:
        rows = analysis.related(state(ctx).engine, key, kinds=kinds, limit=limit)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--kind") from exc
    _show(
        rows, fmt, "other campaigns on the same ASNs", "No other campaign on these ASNs.", analysis.RelatedRow, columns
    )


@app.command("top-asns")
def top_asns(
    ctx: typer.Context,
    asn_type: Annotated[
        str | None, typer.Option("--type", help="Only ASNs of this type (see `query asn-types`; any case).")
    ] = None,
    country: Annotated[str | None, typer.Option("--country", help="Only organisations of this country.")] = None,
    limit: Annotated[int, limit_option()] = 20,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The ASNs with the most sessions (ASN inventory alone, no session scan).

    Columns: asn, organization_name, organization_country, asn_type, is_known_hosting, is_known_vpn,
    total_session_count, unique_ip_count, first_seen, last_seen.
    """
    from cowrieprocessor import analysis

    engine = state(ctx).engine
    kind = None
    if asn_type is not None:  # the types this database holds (classify's, or a migrated database's own)
        present = {r.asn_type.lower(): r.asn_type for r in analysis.asn_types(engine) if r.asn_type}
        kind = present.get(asn_type.lower())
        if kind is None:
            raise typer.BadParameter(
                f"no ASN of type {asn_type!r} here; types: {', '.join(sorted(present.values())) or '(none yet)'}",
                param_hint="--type",
            )
    rows = analysis.top_asns(engine, limit=limit, asn_type=kind, country=country)
    _show(
        rows, fmt, "top ASNs", "The ASN inventory has no matching ASN.", analysis.AsnRow, columns,
        ("asn", "organization_name", "asn_type", "total_session_count", "unique_ip_count", "last_seen"),
    )  # fmt: skip


@app.command("asn-types")
def asn_types(ctx: typer.Context, columns: ColumnsOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """Sessions, IPs and ASNs per ASN type (hosting, ISP, ...) from the ASN inventory alone.

    Columns: asn_type, asns, sessions, ips, avg_sessions_per_asn.
    """
    from cowrieprocessor import analysis

    rows = analysis.asn_types(state(ctx).engine)
    _show(rows, fmt, "ASN types", "The ASN inventory is empty.", analysis.AsnTypeRow, columns)
    pending = next((r for r in rows if r.asn_type is None), None)
    if pending is not None:  # on stderr: machine formats on stdout stay as they are
        output.err_console.print(
            f"note: {pending.asns:,} ASNs ({pending.sessions:,} sessions) have no type yet (the empty type). "
            "An enrichment pass types an ASN when it looks up one of its IPs; "
            "`cowrieprocessor db classify-asns` types them now from the stored enrichment."
        )


@app.command("persistent-ips")
def persistent_ips(
    ctx: typer.Context,
    min_days: Annotated[
        float,
        typer.Option("--min-days", callback=_finite_days, help="Active at least this many days (0 to 36,525)."),
    ] = 30,
    limit: Annotated[int, limit_option()] = 100,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """IPs active (first to last session) longer than N days, from the IP inventory.

    Columns: ip, first_seen, last_seen, active_days, session_count, current_asn, geo_country, ip_types,
    is_scanner.
    """
    from cowrieprocessor import analysis

    rows = analysis.persistent_ips(state(ctx).engine, min_days=min_days, limit=limit)
    _show(
        rows, fmt, f"IPs active at least {min_days:g} days", f"No IP was active {min_days:g} days or more.",
        analysis.PersistentIPRow, columns, ("ip", "active_days", "session_count", "current_asn", "last_seen"),
    )  # fmt: skip


@app.command()
def movements(
    ctx: typer.Context,
    ip: Annotated[str | None, typer.Option("--ip", help="Only this IP.")] = None,
    asn: Annotated[
        int | None, typer.Option("--asn", min=0, max=4_294_967_295, help="Only IPs that were ever in this ASN.")
    ] = None,
    limit: Annotated[int, limit_option()] = 100,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """IPs that changed ASN, each with its history windows (valid_until empty = current).

    Columns: ip, asn, organization_name, valid_from, valid_until, observed_by.
    """
    from cowrieprocessor import analysis

    try:
        rows = analysis.movements(state(ctx).engine, limit=limit, ip=ip, asn=asn)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _show(
        rows, fmt, "IP -> ASN movements", "No IP has changed ASN.", analysis.MovementRow, columns,
        ("ip", "asn", "valid_from", "valid_until"),
    )  # fmt: skip


@app.command()
def stale(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="List the IPs to refresh from this source.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Judge freshness at this time (default now).")] = None,
    limit: Annotated[int, limit_option()] = 100,
    columns: ColumnsOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """What needs re-enrichment, per source: expired provenance, or never enriched.

    Columns: tier, source, count, oldest_expiry; with --source: ip, source, status, fetched_at, expires_at,
    last_seen, session_count.
    """
    from cowrieprocessor import analysis

    if source is not None:
        from cowrieprocessor.enrichment.cascade import ORDER  # the sources' registry: only to check a name

        if source not in ORDER:
            raise typer.BadParameter(f"unknown source {source!r}; sources: {', '.join(ORDER)}", param_hint="--source")
    moment = parse_time(as_of, "--as-of")
    engine, freshness = state(ctx).engine, state(ctx).freshness
    if source is None:
        rows: Sequence[Any] = [r for r in analysis.stale(engine, as_of=moment, freshness=freshness) if r.count]
        _show(rows, fmt, "needs re-enrichment", "Nothing needs re-enrichment.", analysis.StaleRow, columns)
    else:
        rows = analysis.stale_ips(engine, source, as_of=moment, limit=limit, freshness=freshness)
        _show(
            rows, fmt, f"IPs to refresh from {source}", f"No IP needs a refresh from {source}.", analysis.StaleIPRow,
            columns, ("ip", "status", "expires_at", "last_seen"),
        )  # fmt: skip


def register(root: typer.Typer) -> None:
    """Add the ``query`` group to ``root``."""
    root.add_typer(app, name="query")


# #19: files, one file, payload hosts - their commands register themselves on ``app``
from cowrieprocessor.cli import query_artifacts  # noqa: E402, F401
