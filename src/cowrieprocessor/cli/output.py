"""Output for people (tables that fit the terminal) and machines (complete JSON and CSV), with attacker text
made safe to show: escaped on a terminal, neutralised for spreadsheets.

Every command prints its records through ``print_rows``: it chooses the columns that fit the width without
cutting an IP, a hash or a time (the rest are named under the table), honours ``--columns`` (``COLUMNS``
below), shows one record as a list of fields, and writes CSV with a header row even when empty. Rich is
imported on first use only, so ``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import enum
import io
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from cowrieprocessor.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text


class OutputFormat(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class _LazyConsole:
    """A rich Console made on first use (importing rich costs more than the rest of ``--version``)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def _real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    # Dunder methods bypass __getattr__: rich's Live and Progress use the console as a context manager.
    def __enter__(self) -> Console:
        return self._real().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._real().__exit__(*exc)


# No emoji codes: rich would turn an attacker's ``:smiley:`` (a username, a command) into a picture.
console = cast("Console", _LazyConsole(emoji=False))
err_console = cast("Console", _LazyConsole(stderr=True, emoji=False))

#: Set by the global ``--raw-csv``: CSV cells exactly as stored, formula-like ones included.
RAW_CSV = False

FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", help="table for people; json or csv for pipelines.", case_sensitive=False),
]
ColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="Comma-separated columns to show, in this order (any format); `--columns list` names them all.",
        show_default=False,
    ),
]

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), 0x7F)}
_CONTROL.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})
# Invisible characters that reorder or break what the analyst reads: zero-width and bidi controls, the
# line and paragraph separators (a terminal or viewer may start a new line), the byte-order mark.
_HIDDEN = (*range(0x200B, 0x2010), 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF)
_TERMINAL_ESCAPES = {**_CONTROL, **{c: f"\\u{c:04x}" for c in _HIDDEN}}
#: OWASP's CSV-injection list: a spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain_text(value: Any) -> str:
    """Attacker-controlled text for a terminal, without markup: control and invisible characters escaped."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return text.translate(_TERMINAL_ESCAPES)


def safe_text(value: Any) -> str:
    """Attacker-controlled text for rich markup: control characters as ``\\xNN``, rich markup escaped."""
    from rich.markup import escape

    return escape(plain_text(value))


def json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


def records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Dataclass rows as dicts, as ``dataclasses.asdict`` makes them but without its deep copy of every value
    (a tenth of a 100-row query's time, #21): values are shared, containers rebuilt."""
    return [_plain(row) for row in rows]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=json_default, indent=2, sort_keys=False) + "\n")


def parse_columns(spec: str | None, available: Sequence[str]) -> list[str] | None:
    """``--columns a,b`` checked against what the command has; ``list`` prints them and ends the command."""
    if spec is None:
        return None
    if spec.strip() == "list":
        sys.stdout.write("\n".join(available) + "\n")
        raise typer.Exit(0)
    chosen = [c.strip() for c in spec.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in available]
    if unknown or not chosen:
        raise UsageError(
            f"--columns: unknown column(s) {', '.join(unknown) or '(none given)'}",
            f"this command has: {', '.join(available)}",
        )
    return chosen


def print_rows(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat,
    *,
    title: str | None = None,
    columns: Iterable[str] | None = None,
    empty_message: str = "No results.",
    pick: str | Sequence[str] | None = None,
    priority: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> None:
    """One list of records in the chosen format.

    ``columns`` are every column in display order (default: the first row's keys; give them so that an
    empty CSV still has its header). ``pick`` is the user's ``--columns`` (a string is parsed and checked).
    ``priority`` names the columns a narrow table keeps first (then the rest in display order). ``labels``
    are shorter headers for people (JSON, CSV and ``--columns`` keep the field names).
    """
    cols = list(columns) if columns is not None else (list(rows[0].keys()) if rows else [])
    chosen = parse_columns(pick, cols) if isinstance(pick, str) or pick is None else list(pick)
    if chosen is not None:
        cols = chosen
    if fmt is OutputFormat.json:
        print_json([{k: r.get(k) for k in cols} if chosen else dict(r) for r in rows])
        return
    if fmt is OutputFormat.csv:
        write_csv(rows, cols)
        return
    if not rows:
        console.print(f"[yellow]{safe_text(empty_message)}[/yellow]")
        return
    render_table(rows, cols, title=title, explicit=chosen is not None, priority=priority, labels=labels)


def write_csv(rows: Sequence[Mapping[str, Any]], cols: Sequence[str]) -> None:
    """CSV with a header row even without records; cells neutralised for spreadsheets unless ``--raw-csv``.

    A terminal obeys control sequences hidden in attacker text: they are escaped there (as the table does,
    without rich markup); a pipe or a file gets the data itself.
    """
    escapes = _TERMINAL_ESCAPES if sys.stdout.isatty() else {}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(cols)
    for row in rows:
        writer.writerow([_csv_cell(row.get(k), escapes) for k in cols])
    sys.stdout.write(buffer.getvalue())


def _csv_cell(value: Any, escapes: Mapping[int, str]) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float(value, 6)
    if isinstance(value, int):
        return str(value)  # a number, negative or not, is not a formula
    if isinstance(value, list | tuple | dict):
        value = json.dumps(value, default=json_default, ensure_ascii=False)
    elif isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    elif not isinstance(value, str):
        value = str(value)
    if not RAW_CSV and value.startswith(_FORMULA_START):
        value = "'" + value  # OWASP: shown as text by every spreadsheet, and the data is still readable
    return value.translate(escapes) if escapes else value


def _float(value: float, digits: int) -> str:
    """A float as people write it: at most ``digits`` decimals, no trailing zeros, no exponent."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def display(value: Any) -> str:
    """One value for a table cell (before escaping)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and value.utcoffset() == dt.timedelta(0):
            return value.strftime("%Y-%m-%dT%H:%M:%SZ")
        return value.isoformat(timespec="seconds")
    if isinstance(value, float):
        return _float(value, 2)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=json_default, ensure_ascii=False)
    return str(value)


#: A value without spaces up to this length is one token (an IP, hash, time, fingerprint): never cut.
ATOMIC_MAX = 72
_TEXT_MIN = 16


def _layout(
    cells: dict[str, list[str]], cols: Sequence[str], labels: Mapping[str, str] | None = None
) -> dict[str, tuple[int, int, bool]]:
    """Per column: (least width, natural width, atomic)."""
    sizes = {}
    for col in cols:
        values = cells[col]
        header = labels.get(col, col) if labels else col
        longest = max((len(v) for v in values), default=0)
        atomic = all(len(v) <= ATOMIC_MAX and not any(ch.isspace() for ch in v) for v in values)
        parts = header.split("_")
        header_least = max([len(parts[0]), *(len(p) + 1 for p in parts[1:])])  # "_country" on its own line
        natural = max(longest, len(header))
        # text wraps between words, never inside one (up to ATOMIC_MAX: an address, a prefix, a URL)
        word = max((len(w) for v in values for w in v.split()), default=0)
        least = max(longest if atomic else max(min(longest, _TEXT_MIN), min(word, ATOMIC_MAX)), header_least, 1)
        sizes[col] = (least, natural, atomic)
    return sizes


def _overhead(n: int) -> int:
    return 2 * max(n - 1, 0)  # two spaces between columns, no borders (as ps, docker ps, sqlite-utils)


def fit_columns(
    cells: dict[str, list[str]],
    cols: Sequence[str],
    width: int,
    priority: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """The columns that fit ``width`` at their least widths: ``priority`` first, then display order."""
    sizes = _layout(cells, cols, labels)
    order = [c for c in priority if c in sizes] + [c for c in cols if c not in priority]
    kept: list[str] = []
    used = 0
    for col in order:
        if used + sizes[col][0] + _overhead(len(kept) + 1) <= width or not kept:
            kept.append(col)
            used += sizes[col][0]
    return [c for c in cols if c in kept]


def _header(name: str, width: int) -> str:
    """A column name broken at underscores to fit its column (the name itself is what --columns takes)."""
    if len(name) <= width:
        return name
    lines: list[str] = []
    for part in name.split("_"):
        piece = part if not lines else f"_{part}"
        if lines and len(lines[-1]) + len(piece) <= width:
            lines[-1] += piece
        else:
            lines.append(piece if lines else part)
    return "\n".join(lines)


def render_table(
    rows: Sequence[Mapping[str, Any]],
    cols: Sequence[str],
    *,
    title: str | None = None,
    explicit: bool = False,
    priority: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> None:
    """A table that fits the console; one record (or chosen columns too wide for a table) as fields."""
    from rich import box
    from rich.table import Table

    cells = {c: [plain_text(display(r.get(c))) for r in rows] for c in cols}
    width = console.width
    shown = fit_columns(cells, cols, width, priority, labels)
    if (len(rows) == 1 and len(cols) > 3) or (explicit and len(shown) < len(cols)):
        render_records(rows, cols, title=title)
        return
    sizes = _layout(cells, shown, labels)
    spare = width - _overhead(len(shown)) - sum(sizes[c][0] for c in shown)
    widths = {c: sizes[c][0] for c in shown}
    for col in sorted(shown, key=lambda c: priority.index(c) if c in priority else len(priority)):
        # room for text columns up to their natural width: the priority columns first
        grow = min(spare, sizes[col][1] - widths[col])
        if grow > 0:
            widths[col] += grow
            spare -= grow
    table: Table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for col in shown:
        atomic = sizes[col][2]
        table.add_column(
            _header(labels.get(col, col) if labels else col, widths[col]),
            width=widths[col],
            no_wrap=atomic,
            overflow="fold",
            justify="right" if _numeric(rows, col) else "left",
        )
    for i in range(len(rows)):
        table.add_row(*(_cell(cells[c][i]) for c in shown))
    console.print(table)
    hidden = [c for c in cols if c not in shown]
    if hidden:
        console.print(
            f"[dim]{len(hidden)} more column(s) at this width: {', '.join(hidden)} "
            "(--columns to choose, --format json or csv for all)[/dim]"
        )


def render_records(rows: Sequence[Mapping[str, Any]], cols: Sequence[str], *, title: str | None = None) -> None:
    """Each record as ``field  value`` lines; a value too long for its line goes whole on the next one."""
    from rich.text import Text

    width = console.width
    label = max((len(c) for c in cols), default=0)
    if title:
        console.print(f"[bold]{title}[/bold]")
    for i, row in enumerate(rows):
        if i:
            console.print()
        for col in cols:
            value = plain_text(display(row.get(col)))
            if label + 2 + len(value) <= width:
                console.print(Text(f"{col:<{label}}  ", style="bold") + Text(value), soft_wrap=True)
            else:
                console.print(Text(col, style="bold"))
                console.print(Text("  " + value), overflow="fold")


def _cell(text: str) -> Text:
    from rich.text import Text

    return Text(text)


def _numeric(rows: Sequence[Mapping[str, Any]], col: str) -> bool:
    values = [r.get(col) for r in rows if r.get(col) is not None]
    return bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _table_or_json(value: str | OutputFormat) -> OutputFormat:
    try:
        chosen = OutputFormat(str(value).lower())
    except ValueError:
        chosen = None
    if chosen is None or chosen is OutputFormat.csv:
        raise typer.BadParameter(f"{value!r}: this command's output is table or json (no csv: it is not a list)")
    return chosen


#: ``--format`` of commands whose output is a report, not one list of records: table or json.
ReportFormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format", help="table for people, json for machines.", parser=_table_or_json, metavar="[table|json]"
    ),
]
