"""What every command gets from the global options: the database and the settings, both resolved lazily.

Nothing here opens a database, reads the configuration or imports SQLAlchemy until a command asks: ``--help``
and ``--version`` stay fast, and a command that needs no database never touches one. The checks a command
needs before it reads or writes live here too, so that every command (also ones added later) gets them
from ``state(ctx).engine``: the database exists (read-only commands never create one), it is not an
in-memory one that would vanish, and it is at the head revision.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cowrieprocessor.cli import startup
from cowrieprocessor.errors import DatabaseMissing, DatabaseUnreachable, SchemaRevisionError, UsageError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cowrieprocessor.config import Settings
    from cowrieprocessor.tiers.ttls import TTLs

HEAD = "v26"  # storage.schema.HEAD, without importing Alembic (a test keeps the two equal)
DB_ENV = "COWRIEPROCESSOR_DB"


def resolve_db_url(option: str | None, settings_url: str | None = None) -> str:
    """``--db``, else ``$COWRIEPROCESSOR_DB``, else ``[database] url``, else ./cowrieprocessor.sqlite."""
    from cowrieprocessor.storage.engine import DEFAULT_SQLITE_FILE, normalise_url

    if option is not None and not option.strip():
        raise UsageError("--db is empty", "give a file path (x.sqlite) or a URL (postgresql://user@host/db)")
    raw = option or os.environ.get(DB_ENV) or settings_url or str(Path.cwd() / DEFAULT_SQLITE_FILE)
    try:
        return normalise_url(raw)
    except ValueError as exc:
        raise UsageError(f"--db: {exc}", "e.g. --db ./cowrie.sqlite or --db postgresql://user@host/db") from exc


class AppState:
    """The global options of one invocation; ``engine`` is the checked database of a command."""

    def __init__(
        self, db_url: str | None = None, settings: Settings | None = None, *, config_path: Path | None = None
    ) -> None:
        self._db_option = db_url
        self._settings = settings
        self._config_path = config_path
        self._engines: list[Engine] = []
        self.may_create = False
        self.quiet = False
        self._checked = False

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from cowrieprocessor.config import load_settings

            self._settings = load_settings(self._config_path)
        return self._settings

    @property
    def freshness(self) -> TTLs | None:
        """The TTLs in force: the configuration's, or ``None`` for the defaults when none was given (a query
        then judges staleness without importing the configuration's validation)."""
        if self._settings is None and not self._given():
            return None
        return self.settings.freshness

    def load_settings_now(self) -> None:
        """Validate a configuration that was given, before any command runs (a typo is an error at once)."""
        if self._given():
            _ = self.settings

    @cached_property
    def db_url(self) -> str:
        configured = None
        if self._db_option is None and not os.environ.get(DB_ENV) and (self._settings is not None or self._given()):
            configured = self.settings.database.url
        return resolve_db_url(self._db_option, configured)

    def _given(self) -> bool:
        """Whether a configuration was given at all (file or variables); without one the defaults hold."""
        given = self._config_path is not None or os.environ.get("COWRIEPROCESSOR_CONFIG")
        return bool(given) or any(k.startswith("COWRIEPROCESSOR_") and "__" in k for k in os.environ)

    @cached_property
    def raw_engine(self) -> Engine:
        """The database as it is, at any revision (``db`` commands); a missing SQLite file is created only
        by commands that said ``may_create``."""
        from sqlalchemy.engine import make_url

        from cowrieprocessor.storage import dialects
        from cowrieprocessor.storage.engine import make_engine

        url = make_url(self.db_url)
        if dialects.of(url.get_backend_name()).files:
            _check_sqlite_file(url.database, create=self.may_create)
        engine = make_engine(self.db_url)
        self._engines.append(engine)
        startup.resume_collections()
        return engine

    @property
    def engine(self) -> Engine:
        """The database at the head revision (what every query, ingest and enrich needs)."""
        return self.ready_engine()

    def ready_engine(self, *, create: bool = False) -> Engine:
        """The engine of a database at the head revision.

        A database with no tables at all is created when ``create`` (a first ``ingest`` just works); one at
        an older revision is never upgraded implicitly - migrating years of data is a deliberate step.
        """
        if create:
            self.may_create = True
        engine = self.raw_engine
        if self._checked:
            return engine
        revision, empty = revision_of(engine)
        if revision == HEAD:
            self._checked = True
            return engine
        if revision is None and empty and create:
            from cowrieprocessor.cli.output import err_console
            from cowrieprocessor.storage import schema

            if not self.quiet:
                err_console.print(f"new database: creating schema {schema.HEAD}")
            schema.upgrade(engine)
            self._checked = True
            return engine
        raise revision_error(revision, empty)

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()


def revision_error(revision: str | None, empty: bool) -> SchemaRevisionError:
    """What to do about a database at ``revision`` when this program needs HEAD."""
    if revision is None:
        what = "is empty (no schema)" if empty else "has tables but no schema revision (not a cowrieprocessor one?)"
        return SchemaRevisionError(
            f"the database {what}", "create the schema with `cowrieprocessor db upgrade` (or run `ingest`)"
        )
    from cowrieprocessor.storage import schema

    if revision not in schema.known_revisions():
        return SchemaRevisionError(
            f"the database is at revision {revision}, newer than this program knows (head: {HEAD})",
            "upgrade cowrieprocessor to the version that wrote it",
        )
    return SchemaRevisionError(
        f"the database is at revision {revision}; this command needs {HEAD}",
        "run `cowrieprocessor db upgrade` first (a deliberate step: back up large databases before)",
    )


def revision_of(engine: Engine) -> tuple[str | None, bool]:
    """The stored revision (None without one) and whether the database has no tables at all - read
    directly, without Alembic's import cost."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        names = inspect(conn).get_table_names()
        if "alembic_version" not in names:
            return None, not names
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return (str(revision) if revision is not None else None), False


def _check_sqlite_file(database: str | None, *, create: bool) -> None:
    if database in (None, "", ":memory:"):
        raise UsageError(
            "an in-memory database (sqlite://) vanishes when the command ends",
            "give --db a file, e.g. --db ./cowrieprocessor.sqlite",
        )
    assert database is not None
    path = Path(database)
    if path.exists():
        if path.is_dir():
            raise DatabaseUnreachable(f"{path} is a directory, not a database file", "give --db a file path")
        return
    if not create:
        raise DatabaseMissing(
            f"no database at {path}",
            "check --db / $COWRIEPROCESSOR_DB, or create one: `cowrieprocessor ingest LOGS` (or `db upgrade`)",
        )
    if not path.parent.is_dir():
        raise DatabaseUnreachable(
            f"cannot create {path}: the directory {path.parent} does not exist", "create the directory first"
        )


def state(ctx: typer.Context) -> AppState:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppState):
        raise RuntimeError("global options were not processed")
    return obj
