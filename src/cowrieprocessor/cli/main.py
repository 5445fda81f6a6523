"""Entry point: global options (``--db``, ``--config``) and the command groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cowrieprocessor import __version__
from cowrieprocessor.cli import db, enrich, ingest, lookup, query
from cowrieprocessor.cli import report as report_cli
from cowrieprocessor.cli.context import AppState
from cowrieprocessor.cli.output import err_console
from cowrieprocessor.config import load_settings
from cowrieprocessor.storage.engine import default_url, normalise_url

app = typer.Typer(
    name="cowrieprocessor",
    help="Turn Cowrie honeypot logs into threat attribution: sessions -> IPs -> ASNs, then and now.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
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
            help="Database URL (sqlite:///file.sqlite or postgresql://user@host/db). "
            "Default: $COWRIEPROCESSOR_DB, else ./cowrieprocessor.sqlite.",
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
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    try:
        settings = load_settings(config)
        url = normalise_url(db_url or settings.database.url or default_url())
    except (FileNotFoundError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    state = AppState(db_url=url, settings=settings)
    ctx.obj = state
    ctx.call_on_close(state.close)


app.add_typer(db.app, name="db")
ingest.register(app)
enrich.register(app)
lookup.register(app)
query.register(app)
report_cli.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
