"""docs/data-model.md documents every table and column of the models, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from cowrieprocessor.storage.models import Base

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"
_TABLE = re.compile(r"^### `(\w+)`")
_COLUMN = re.compile(r"^\| `(\w+)` \|")


def documented(text: str) -> dict[str, list[str]]:
    """Table -> its documented columns, from ``### `table` `` headings and ``| `column` | ...`` rows."""
    tables: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if (heading := _TABLE.match(line)) is not None:
            current = tables.setdefault(heading[1], [])
        elif line.startswith("#"):
            current = None
        elif (row := _COLUMN.match(line)) is not None and current is not None:
            current.append(row[1])
    return tables


def modelled() -> dict[str, list[str]]:
    return {name: [c.name for c in table.columns] for name, table in Base.metadata.tables.items()}


def test_every_table_and_column_is_documented_and_nothing_else() -> None:
    docs, models = documented(DOC.read_text(encoding="utf-8")), modelled()
    assert sorted(docs) == sorted(models), "tables: documented vs models"
    for table, columns in models.items():
        assert sorted(docs[table]) == sorted(columns), f"columns of {table}: documented vs models"
        assert len(docs[table]) == len(set(docs[table])), f"a column of {table} is documented twice"


def test_the_parser_sees_a_missing_column() -> None:
    """The check can fail: a page without one column row is caught."""
    text = DOC.read_text(encoding="utf-8").replace("| `forward_bytes` |", "| forward_bytes |")
    assert "forward_bytes" not in documented(text)["session_summaries"]
    assert "forward_bytes" in modelled()["session_summaries"]
