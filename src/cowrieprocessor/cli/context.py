"""What every command gets from the global options: the database URL and the loaded settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import typer
from sqlalchemy import Engine, inspect

from cowrieprocessor.cli.output import err_console
from cowrieprocessor.config import Settings
from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine


@dataclass
class AppState:
    db_url: str
    settings: Settings
    _engines: list[Engine] = field(default_factory=list)

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.db_url)
        self._engines.append(engine)
        return engine

    def ready_engine(self, *, create: bool = False) -> Engine:
        """The engine of a database at the head revision.

        A database with no tables at all is created when ``create`` (a first ``ingest`` just works); one at
        an older revision is never upgraded implicitly - migrating years of data is a deliberate step.
        """
        revision = schema.current_revision(self.engine)
        if revision == schema.HEAD:
            return self.engine
        if revision is None and create and not inspect(self.engine).get_table_names():
            err_console.print(f"new database: creating schema {schema.HEAD}")
            schema.upgrade(self.engine)
            return self.engine
        where = f"at revision {revision}" if revision else "not initialised"
        err_console.print(
            f"[red]error:[/red] the database is {where}; this command needs {schema.HEAD}. "
            "Run `cowrieprocessor db upgrade` first."
        )
        raise typer.Exit(2)

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()


def state(ctx: typer.Context) -> AppState:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppState):
        raise RuntimeError("global options were not processed")
    return obj
