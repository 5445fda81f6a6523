"""Entry point: global options (``--db``, ``--config``) and the command groups."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cowrieprocessor import __version__
from cowrieprocessor.cli import alerts, data, db, enrich, explore, follow, ingest, lookup, output, query
from cowrieprocessor.cli import report as report_cli
from cowrieprocessor.cli.context import AppState
from cowrieprocessor.cli.failures import GuardedGroup

# Typer validates option values with pydantic, whose first model scans every installed package's entry points
# for pydantic plugins (~20 ms of each command's start); this CLI uses none. An explicit setting wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

app = typer.Typer(
    name="cowrieprocessor",
    help="Turn Cowrie honeypot logs into threat attribution: sessions -> IPs -> ASNs, then and now.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: conventional, and rich's help renderer costs ~60 ms per --help
    pretty_exceptions_enable=False,
    cls=GuardedGroup,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cowrieprocessor {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database: an SQLite file path (x.sqlite, ~/x.sqlite) or URL (sqlite:///x.sqlite, "
            "postgresql://user@host/db). Default: $COWRIEPROCESSOR_DB, else [database] url, "
            "else ./cowrieprocessor.sqlite.",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML configuration file. Default: $COWRIEPROCESSOR_CONFIG. "
            "Every key can be overridden by COWRIEPROCESSOR_<SECTION>__<KEY>.",
            show_default=False,
        ),
    ] = None,
    raw_csv: Annotated[
        bool,
        typer.Option(
            "--raw-csv",
            help="CSV cells exactly as stored. By default a cell starting with = + - @ tab or CR gets a leading ' "
            "so that a spreadsheet shows it as text instead of running it as a formula (OWASP).",
        ),
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    output.RAW_CSV = raw_csv
    state = AppState(db_url=db_url, config_path=config)
    ctx.obj = state
    if ctx.invoked_subcommand and not ctx.resilient_parsing:
        state.load_settings_now()
    ctx.call_on_close(state.close)


app.add_typer(db.app, name="db")
app.add_typer(alerts.app, name="alerts")
ingest.register(app)
enrich.register(app)
lookup.register(app)
query.register(app)
explore.register(query.app)
data.register(app)
report_cli.register(app)
follow.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
