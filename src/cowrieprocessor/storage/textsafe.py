"""Attacker text that PostgreSQL can store and that can be turned back into the original exactly.

PostgreSQL ``text`` and ``jsonb`` reject U+0000, and UTF-8 cannot encode a lone surrogate (JSON allows
``"\\ud800"``). Text columns and the ``payload`` copy therefore hold an escaped form, identical to the
original for ordinary text. The escape character is U+2400 (SYMBOL FOR NULL, ``␀``), which practically
never occurs in logs:

* ``␀`` itself          -> ``␀␀``
* U+0000                -> ``␀0``
* lone surrogate U+DXXX -> ``␀u`` + four lowercase hex digits

:func:`unescape_text` reverses it exactly. The byte-exact original line is in ``raw_events.raw_line``
anyway; the escape only keeps the queryable copies lossless too. SQLite uses the same form, so queries
behave the same on both backends.
"""

from __future__ import annotations

import re
from typing import Any

ESCAPE = "\u2400"
_NEEDS = re.compile("[\u2400\x00\ud800-\udfff]")
_ESCAPED = re.compile("\u2400(\u2400|0|u[0-9a-f]{4})")


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch == ESCAPE:
        return ESCAPE + ESCAPE
    if ch == "\x00":
        return ESCAPE + "0"
    return f"{ESCAPE}u{ord(ch):04x}"


def _unescape_char(match: re.Match[str]) -> str:
    code = match.group(1)
    if code == ESCAPE:
        return ESCAPE
    if code == "0":
        return "\x00"
    return chr(int(code[1:], 16))


def escape_text(value: str) -> str:
    """The storable form of ``value`` (unchanged unless it holds NUL, a lone surrogate or ``␀``)."""
    if _NEEDS.search(value) is None:
        return value
    return _NEEDS.sub(_escape_char, value)


def unescape_text(value: str) -> str:
    """The original text of a value written by :func:`escape_text`."""
    if ESCAPE not in value:
        return value
    return _ESCAPED.sub(_unescape_char, value)


def escape_json(value: Any) -> Any:
    """``value`` (a decoded JSON document) with every string, keys included, escaped."""
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, dict):
        return {escape_text(k): escape_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_json(v) for v in value]
    return value


def text_or_none(value: Any) -> str | None:
    """An event field as storable text: strings escaped, other JSON values in their JSON spelling."""
    if value is None:
        return None
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    import json

    return escape_text(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
