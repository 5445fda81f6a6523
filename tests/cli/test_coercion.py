"""The fast option coercion (#21) gives every option of the CLI exactly what Typer's own coercion gives."""

from __future__ import annotations

from typing import Any

import pytest
from typer import _coercion
from typer._click.core import Context
from typer.core import _TyperParameter
from typer.main import get_command

from cowrieprocessor.cli import coercion
from cowrieprocessor.cli.main import app

#: Values as they reach an option: typed, defaults, well-formed and malformed strings, edges of ranges.
VALUES: list[Any] = [
    None, "", "x", "table", "JSON", "Csv", "xml", "0", "1", "-1", "007", "1_000", " 5", "5 ", "10000000",
    "10000001", "4294967295", "4294967296", "1.5", "nan", 0, 1, 100, -3, 10_000_001, 1.5, True, False,
    ("a", "b"), ["a"], (), ("1", "2"),
]  # fmt: skip


def _parameters() -> list[tuple[str, _TyperParameter]]:
    found: list[tuple[str, _TyperParameter]] = []

    def walk(command: Any, path: str) -> None:
        found.extend((f"{path} {p.name}", p) for p in command.params if isinstance(p, _TyperParameter))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(get_command(app), "cowrieprocessor")
    return found


def _outcome(coerce: Any, value: Any, param: _TyperParameter, ctx: Context) -> tuple[str, Any]:
    try:
        return "value", repr(coerce(value, param=param, ctx=ctx))  # repr: nan equals nan
    except Exception as exc:  # the error itself is what is compared
        return "error", (type(exc).__name__, str(exc))


def test_every_option_coerces_as_typer_does() -> None:
    assert coercion.install()
    checked = 0
    for where, param in _parameters():
        fast = param.get_runtime_param()
        typer_own = _coercion.build_runtime_param(param.type_descriptor)
        ctx = Context(get_command(app))
        for value in VALUES:
            assert _outcome(fast.coerce, value, param, ctx) == _outcome(typer_own.coerce, value, param, ctx), (
                f"{where} <- {value!r}"
            )
            checked += 1
    assert checked > 1000


@pytest.mark.parametrize("value", ["5", "abc", "0"])
def test_refused_values_read_as_typer_words_them(value: str) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["--db", "/nonexistent/x.sqlite", "query", "top-asns", "--limit", value])
    if value == "5":
        assert "--limit" not in result.output  # accepted: the database is what is missing
    else:
        assert result.exit_code == 2 and "Invalid value for '--limit'" in result.output
