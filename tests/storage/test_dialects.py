"""The dialect seam: each backend's declaration, and no module beside it branching on backend names."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from cowrieprocessor.storage import dialects
from cowrieprocessor.storage.generated import GENERATED_SQL
from cowrieprocessor.storage.models import IPInventory, SessionSummary

#: The generated-column texts migration v16 created, as it created them (they must never change).
V16_GENERATED = {
    "geo_country": {
        "postgresql": (
            "COALESCE(NULLIF(enrichment->'maxmind'->>'country', ''), "
            "NULLIF(enrichment->'cymru'->>'country', ''), "
            "NULLIF(enrichment->'dshield'->'ip'->>'ascountry', ''), "
            "NULLIF(enrichment->'embedded'->>'country', ''), 'XX')"
        ),
        "sqlite": (
            "COALESCE(NULLIF(json_extract(enrichment, '$.maxmind.country'), ''), "
            "NULLIF(json_extract(enrichment, '$.cymru.country'), ''), "
            "NULLIF(json_extract(enrichment, '$.dshield.ip.ascountry'), ''), "
            "NULLIF(json_extract(enrichment, '$.embedded.country'), ''), 'XX')"
        ),
    },
    "ip_types": {
        "postgresql": (
            "cowrieprocessor_jsonb_text_array(enrichment->'spur'->'client'->'types')"
        ),
        "sqlite": (
            "CASE WHEN json_type(enrichment, '$.spur.client.types') = 'array' THEN "
            "json_extract(enrichment, '$.spur.client.types') ELSE '[]' END"
        ),
    },
    "is_scanner": {
        "postgresql": (
            "COALESCE(CASE WHEN jsonb_typeof(enrichment->'greynoise'->'noise') = 'boolean' THEN "
            "(enrichment->'greynoise'->>'noise')::boolean END, false)"
        ),
        "sqlite": (
            "COALESCE(CASE WHEN json_type(enrichment, '$.greynoise.noise') IN ('true', 'false') THEN "
            "json_extract(enrichment, '$.greynoise.noise') END, 0)"
        ),
    },
    "is_bogon": {
        "postgresql": (
            "COALESCE(CASE WHEN jsonb_typeof(enrichment->'validation'->'is_bogon') = 'boolean' THEN "
            "(enrichment->'validation'->>'is_bogon')::boolean END, false)"
        ),
        "sqlite": (
            "COALESCE(CASE WHEN json_type(enrichment, '$.validation.is_bogon') IN ('true', 'false') "
            "THEN json_extract(enrichment, '$.validation.is_bogon') END, 0)"
        ),
    },
}  # fmt: skip

SRC = Path(dialects.__file__).resolve().parents[1]
#: Modules that go through the seam (the migrations keep the texts they were written with).
SEAM_USERS = [
    *(p for p in (SRC / "storage").glob("*.py") if p.name != "dialects.py"),
    *(SRC / "tiers").glob("*.py"),
    *(SRC / "ingestion").glob("*.py"),
    SRC / "analysis" / "related.py",
    SRC / "cli" / "context.py",
    SRC / "cli" / "db.py",
    SRC / "cli" / "db_verify.py",
]
NAME_BRANCH = re.compile(
    r"dialect\.name\s*[!=]=|[!=]=\s*\"(?:postgresql|sqlite)\"|\bself\.pg\b|\bsql\.pg\b|get_backend_name\(\)\s*[!=]="
)


def test_generated_columns_are_spelled_as_v16_created_them() -> None:
    assert GENERATED_SQL == V16_GENERATED


def test_of_takes_a_name_an_engine_or_a_connection(engine: Engine, backend: str) -> None:
    declared = dialects.of(backend)
    assert declared.name == backend
    assert dialects.of(engine) is declared and dialects.of(engine.dialect) is declared
    with engine.connect() as conn:
        assert dialects.of(conn) is declared


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        dialects.of("mysql")


def test_every_backend_declares_every_capability() -> None:
    names = [n for n, v in vars(dialects.Dialect).get("__annotations__", {}).items() if "ClassVar" in str(v)]
    assert "bulk_copy" in names
    for backend in dialects.DIALECTS.values():
        missing = [n for n in names if not hasattr(backend, n)]
        assert not missing, (backend.name, missing)


@pytest.mark.parametrize("path", SEAM_USERS, ids=lambda p: str(p.relative_to(SRC)))
def test_modules_ask_the_seam_instead_of_comparing_names(path: Path) -> None:
    found = [line.strip() for line in path.read_text().splitlines() if NAME_BRANCH.search(line)]
    assert not found, found


def test_statements_still_print_with_sqlalchemys_string_compiler() -> None:
    """``str(statement)`` compiles for no backend: the column types fall back to the portable forms."""
    when = dt.datetime(2025, 2, 25, tzinfo=dt.UTC)
    stmt = select(SessionSummary.session_id).where(SessionSummary.source_ip == "1.2.3.4")
    assert "session_summaries.source_ip" in str(stmt)
    printed = str(update(IPInventory).values(first_seen=when).compile(compile_kwargs={"literal_binds": True}))
    assert "2025-02-25 00:00:00" in printed
    assert dialects.of_or_portable("default") is dialects.DIALECTS["sqlite"]
