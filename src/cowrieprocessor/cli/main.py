"""Entry point: global options (``--db``, ``--config``) and the command groups."""

from __future__ import annotations

import atexit
import gc
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from cowrieprocessor import __version__
from cowrieprocessor.cli import coercion, output
from cowrieprocessor.cli.context import AppState
from cowrieprocessor.cli.failures import GuardedGroup
from cowrieprocessor.cli.lazy import LazyCommands, Register

# Typer validates option values with pydantic, whose first model scans every installed package's entry points
# for pydantic plugins (~20 ms of each command's start); this CLI uses none. An explicit setting wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
coercion.install()  # and plain option values need no pydantic at all (#21)
# The interpreter's last garbage collections walk every object SQLAlchemy, Typer and rich made: ~70 ms of a
# small query's 400 (#21). At exit nothing is left to collect that matters - the command closed its engines
# and files - so those objects are frozen out of the collections (reference counting still frees the rest).
atexit.register(gc.freeze)


def _db(app: typer.Typer) -> None:
    from cowrieprocessor.cli import db

    app.add_typer(db.app, name="db")


def _ingest(app: typer.Typer) -> None:
    from cowrieprocessor.cli import ingest

    ingest.register(app)


def _enrich(app: typer.Typer) -> None:
    from cowrieprocessor.cli import enrich

    enrich.register(app)


def _lookup(app: typer.Typer) -> None:
    from cowrieprocessor.cli import lookup

    lookup.register(app)


def _query(app: typer.Typer) -> None:
    from cowrieprocessor.cli import query

    query.register(app)


def _explore(app: typer.Typer) -> None:
    from cowrieprocessor.cli import explore

    explore.register(app)


def _data(app: typer.Typer) -> None:
    from cowrieprocessor.cli import data

    data.register(app)


def _alerts(app: typer.Typer) -> None:
    from cowrieprocessor.cli import alerts

    app.add_typer(alerts.app, name="alerts")


def _follow(app: typer.Typer) -> None:
    from cowrieprocessor.cli import follow

    follow.register(app)


def _report(app: typer.Typer) -> None:
    from cowrieprocessor.cli import report

    report.register(app)


#: The top-level commands, in the order ``--help`` lists them, and what registers each: a command's module is
#: imported, and its commands built, when it runs (``cli.lazy``). A command registered on ``app`` directly works too.
COMMANDS: dict[str, Register] = {
    "ingest": _ingest, "enrich": _enrich, "lookup": _lookup, "report": _report, "db": _db, "dead-letters": _ingest,
    "query": _query, "data": _data, "follow": _follow, "alerts": _alerts,
}  # fmt: skip
#: Subcommands of a group that come from another module (``cli.explore`` adds to ``query``), built likewise.
INNER: dict[str, dict[str, Register]] = {
    "query": {name: _explore for name in ("overview", "campaigns", "session", "tunnels", "exploits")},
}


class RootGroup(GuardedGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(self.commands, COMMANDS, INNER)


app = typer.Typer(
    name="cowrieprocessor",
    help="Turn Cowrie honeypot logs into threat attribution: sessions -> IPs -> ASNs, then and now.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: conventional, and rich's help renderer costs ~60 ms per --help
    pretty_exceptions_enable=False,
    cls=RootGroup,
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


if __name__ == "__main__":  # pragma: no cover
    app()
