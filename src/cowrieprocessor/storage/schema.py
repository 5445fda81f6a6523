"""Schema revisions: upgrade, downgrade and status, always through Alembic and in one transaction.

Alembic is imported by the functions that migrate: reading the stored revision (``status``, the check every
command makes) is one SELECT, and importing Alembic for it cost more than a small query (#21).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from cowrieprocessor.errors import SchemaRevisionError
from cowrieprocessor.storage import dialects

if TYPE_CHECKING:
    from alembic.config import Config

    from cowrieprocessor.storage import maintenance

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
HEAD = "v26"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def known_revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return stored_revision(connection)


def stored_revision(connection: Connection, table_names: list[str] | None = None) -> str | None:
    """The revision in ``alembic_version`` (None without the table or a row), as Alembic's
    ``get_current_revision`` reads it; ``table_names`` saves a look-up when the caller has them."""
    names = table_names if table_names is not None else inspect(connection).get_table_names()
    if "alembic_version" not in names:
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:
        raise SchemaRevisionError(
            f"alembic_version holds {len(rows)} revisions ({', '.join(map(str, rows))}); this schema has one line",
            "restore the database from a backup: it was changed by something other than cowrieprocessor",
        )
    return str(rows[0]) if rows else None


@dataclass(frozen=True)
class Change:
    """A committed schema change and the maintenance that left the database ready after it."""

    before: str | None
    after: str | None
    maintenance: list[maintenance.Step]
    sqlite_free_bytes: int | None = None  # SQLite: pages left free after it (what a VACUUM would give back)


def upgrade(engine: Engine, to: str = "head") -> str | None:
    """Upgrade to ``to``; the whole run is one transaction on both backends (then vacuum and analyse)."""
    return migrate(engine, to).after


def downgrade(engine: Engine, to: str) -> str | None:
    return migrate(engine, to, down=True).after


def migrate(engine: Engine, to: str, *, down: bool = False, vacuum_sqlite: bool = False) -> Change:
    """Upgrade (or with ``down``, downgrade) in one transaction; after it commits, vacuum and analyse the
    tables the traversed revisions rewrote (:mod:`maintenance`), so no query meets stale statistics."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from cowrieprocessor.storage import maintenance

    if down and to not in known_revisions() and to != "base":
        raise ValueError(f"unknown revision {to!r}; known: {', '.join(known_revisions())}")
    before = current_revision(engine)
    _run(engine, lambda cfg: (command.downgrade if down else command.upgrade)(cfg, to))
    after = current_revision(engine)
    script = ScriptDirectory.from_config(alembic_config())
    # a database created from nothing holds no rows to vacuum or analyse
    tables = maintenance.rewritten_tables(script, before, after) if before is not None else []
    steps = maintenance.prepare(engine, tables, revision=after, vacuum_sqlite=vacuum_sqlite)
    free = maintenance.sqlite_free_bytes(engine) if steps and dialects.of(engine).files else None
    return Change(before, after, steps, free)


def _run(engine: Engine, step: Callable[[Config], None]) -> None:
    with engine.connect() as connection:
        rebuilds = not dialects.of(connection).alter_constraints
        if rebuilds:
            # Table rebuilds (batch mode) must not cascade deletes; foreign keys are checked before commit.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                step(alembic_config(connection))
                if rebuilds:
                    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if violations:
                        raise RuntimeError(f"foreign key violations after migration: {violations[:5]}")
        finally:
            if rebuilds:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


@dataclass(frozen=True)
class Status:
    url: str
    backend: str
    revision: str | None
    head: str
    tables: dict[str, int]


def status(engine: Engine) -> Status:
    with engine.connect() as connection:
        every = inspect(connection).get_table_names()
        revision = stored_revision(connection, every)
        names = sorted(n for n in every if n != "alembic_version")
        counts = {n: int(connection.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one()) for n in names}
    return Status(
        url=engine.url.render_as_string(hide_password=True),
        backend=engine.dialect.name,
        revision=revision,
        head=HEAD,
        tables=counts,
    )
