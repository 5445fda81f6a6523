"""What every command gets from the global options: the database URL and the loaded settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import typer
from sqlalchemy import Engine

from cowrieprocessor.config import Settings
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

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()


def state(ctx: typer.Context) -> AppState:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppState):
        raise RuntimeError("global options were not processed")
    return obj
