"""Database fixtures: every database test runs on SQLite and on PostgreSQL, each in a throwaway database.

PostgreSQL comes from ``COWRIEPROCESSOR_TEST_PG_URL`` (default: the local server). Locally, when it is not
reachable, its tests are skipped with the reason; under ``CI=true`` that is a failure instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from cowrieprocessor.storage import schema
from cowrieprocessor.storage.engine import make_engine

PG_URL = os.environ.get("COWRIEPROCESSOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def _pg_problem() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect is the reason to report
        return f"PostgreSQL not reachable at {make_url(PG_URL).render_as_string()}: {exc.__class__.__name__}: {exc}"
    return None


class PostgresServer:
    """Creates and drops throwaway databases; keeps one migrated template to clone quickly."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self.prefix = f"cptest_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []
        self._template: str | None = None

    def new_database(self, template: str | None = None) -> str:
        name = f"{self.prefix}_{len(self.created)}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def migrated_database(self) -> str:
        if self._template is None:
            url = self.new_database()
            engine = make_engine(url)
            schema.upgrade(engine)
            engine.dispose()
            self._template = make_url(url).database
        return self.new_database(template=self._template)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in reversed(self.created):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    problem = _pg_problem()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{problem} (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(problem)
    server = PostgresServer(PG_URL)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "head.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """URL of an empty database (no tables) on the test's backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.new_database()


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """URL of a database at the head revision (``schema.HEAD``) on the test's backend."""
    if backend == "sqlite":
        path = tmp_path / "db.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.migrated_database()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh database at the head revision."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()
