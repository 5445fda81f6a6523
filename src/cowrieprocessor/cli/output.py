"""Output for people (rich tables) and machines (JSON, CSV), with attacker text made safe to show."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


class OutputFormat(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


console = Console()
err_console = Console(stderr=True)

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), 0x7F)}
_CONTROL.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})


def safe_text(value: Any) -> str:
    """Attacker-controlled text for a terminal: control characters as ``\\xNN``, rich markup escaped."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text.translate(_CONTROL)
    # Bidi overrides and other invisible format characters could reorder what the analyst reads.
    text = "".join(
        f"\\u{ord(ch):04x}"
        if 0x200B <= ord(ch) <= 0x200F or 0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069
        else ch
        for ch in text
    )
    return escape(text)


def json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=json_default, indent=2, sort_keys=False) + "\n")


def print_rows(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat,
    *,
    title: str | None = None,
    columns: Iterable[str] | None = None,
    empty_message: str = "No results.",
) -> None:
    """One list of records, in the chosen format; an empty result says so (on stderr for machines)."""
    cols = list(columns) if columns is not None else (list(rows[0].keys()) if rows else [])
    if fmt is OutputFormat.json:
        print_json([dict(r) for r in rows])
        return
    if fmt is OutputFormat.csv:
        # A terminal obeys control sequences hidden in attacker text: escape them there (as the table does,
        # without rich markup); a pipe or file gets the raw data.
        hidden = (*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A))
        escapes = {**_CONTROL, **{c: f"\\u{c:04x}" for c in hidden}} if sys.stdout.isatty() else {}
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            values = {k: _csv_value(row.get(k)) for k in cols}
            writer.writerow({k: v.translate(escapes) if isinstance(v, str) else v for k, v in values.items()})
        sys.stdout.write(buffer.getvalue())
        return
    if not rows:
        console.print(f"[yellow]{escape(empty_message)}[/yellow]")
        return
    table = Table(title=title)
    for col in cols:
        table.add_column(col)
    for row in rows:
        table.add_row(*(safe_text(_display(row.get(c))) for c in cols))
    console.print(table)


def _display(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=json_default)
    return value


def _csv_value(value: Any) -> Any:
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=json_default)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value
