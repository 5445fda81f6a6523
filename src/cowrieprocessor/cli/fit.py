"""Rows made to fit the terminal before ``print_rows`` draws them: whole columns are left out (lowest
priority first) rather than any IP, hash or time being cut; only free text (names, payloads) is shortened.

The rule is simple enough to check: a drawn table is as wide as the sum of its columns' widest cells plus
3 characters per column and 1; every value it shows is shown whole, except in ``free`` columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.text import Text

from cowrieprocessor.cli import output
from cowrieprocessor.cli.output import safe_text

#: The narrowest a free-text column is shrunk to before whole columns are left out instead.
MIN_FREE = 12


def cell(value: Any) -> str:
    """A value as a table shows it: times to the second in UTC, days as dates, lists comma-separated."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def shown_width(text: str) -> int:
    """Terminal cells ``print_rows`` will take for ``text`` (control characters escaped, wide characters)."""
    return Text.from_markup(safe_text(text)).cell_len


def _width(texts: Iterable[str], header: str) -> int:
    return max([len(header), *(shown_width(t) for t in texts)])


def _cut(text: str, limit: int) -> str:
    if shown_width(text) <= limit:
        return text
    end = min(len(text), limit)
    while end > 0 and shown_width(text[:end]) > limit - 1:
        end -= 1
    return text[:end] + "…"


def fit(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    free: Iterable[str] = (),
    width: int | None = None,
) -> tuple[list[dict[str, str]], list[str]]:
    """``rows`` as display strings, and the columns (a prefix of ``columns``, by priority) that fit ``width``.

    Free-text columns are cut to the room left (with ``…``); every other value is shown whole or its
    column not at all. The first column is always kept.
    """
    total = width or output.console.width
    free_set = set(free)
    shown = [{c: cell(r.get(c)) for c in columns} for r in rows]
    natural = {c: _width((s[c] for s in shown), c) for c in columns}

    def needed(cols: Sequence[str]) -> int:
        fixed = sum(natural[c] if c not in free_set else min(natural[c], MIN_FREE) for c in cols)
        return fixed + 3 * len(cols) + 1

    chosen = list(columns)
    while len(chosen) > 1 and needed(chosen) > total:
        chosen.pop()
    room = total - needed(chosen)
    for c in chosen:  # give the room left to free-text columns, in priority order
        if c in free_set and natural[c] > MIN_FREE:
            limit = MIN_FREE + max(0, room)
            room -= min(natural[c], limit) - MIN_FREE
            for s in shown:
                s[c] = _cut(s[c], limit)
    return [{c: s[c] for c in chosen} for s in shown], chosen
