"""The real Cowrie logs (``../shared/data/real-cowrie`` from the repository root, or
``$COWRIEPROCESSOR_REAL_COWRIE``), ingested once per backend for the tests of this package.

Without the folder every test here is skipped with the reason (CI has it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cowrieprocessor.ingestion import IngestStats, ingest
from cowrieprocessor.storage.engine import make_engine
from tests.conftest import BACKENDS, PostgresServer
from tests.realdata import expected

ROOT = Path(__file__).resolve().parents[2]
ENV = "COWRIEPROCESSOR_REAL_COWRIE"
#: The shared folder sits next to the repository (CI), or next to the folder of a git worktree.
CANDIDATES = [ROOT / ".." / "shared" / "data" / "real-cowrie", ROOT / ".." / ".." / "shared" / "data" / "real-cowrie"]


def real_cowrie_dir() -> Path | None:
    if os.environ.get(ENV):
        path = Path(os.environ[ENV])
        return path if path.is_dir() else None
    return next((p.resolve() for p in CANDIDATES if p.is_dir()), None)


@pytest.fixture(scope="session")
def real_dir() -> Path:
    found = real_cowrie_dir()
    if found is None:
        where = os.environ.get(ENV) or ", ".join(str(p) for p in CANDIDATES)
        pytest.skip(f"real Cowrie logs not found ({where}); set {ENV} to their folder")
    return found


@dataclass
class Ingested:
    engine: Engine
    url: str
    stats: IngestStats


@pytest.fixture(scope="session", params=BACKENDS)
def real_db(
    request: pytest.FixtureRequest, real_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ingested]:
    """Every real log ingested into a fresh database of the backend (once per run)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("real") / "real.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        url = server.migrated_database()
    engine = make_engine(url)
    stats = ingest(engine, [str(real_dir)])
    yield Ingested(engine, url, stats)
    engine.dispose()


@pytest.fixture(scope="session")
def real_lines(real_dir: Path) -> dict[str, list[expected.Line]]:
    """Every session's distinct lines, read from the logs by the tests' own code."""
    return expected.read_lines(expected.log_files(real_dir))
