"""Option values coerced without pydantic where Typer's own rules give the same value (#21).

Typer (0.2x) checks every option of the command that runs - also the ones left at ``None`` - through a
pydantic ``TypeAdapter`` it builds on first use, so each command imported pydantic and built a dozen
validators: the largest part of a small query's start once the database side was lean. ``install`` gives
Typer's parameters a coercion that returns, for the plain cases this CLI has (a string, an integer in its
range, a float, a choice of an enum, a custom parser, a list of strings), exactly what Typer's adapter would,
and hands everything else - and every value it would refuse, so the error reads as Typer's - to Typer's own
coercion. With a Typer whose internals differ, ``install`` does nothing (a test notices).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

_DECLINE = object()
_CANONICAL_INT = re.compile(r"-?(0|[1-9][0-9]*)")


def _fast_value(annotation: Any, info: Any, value: Any, ctx: Any) -> Any:
    """Typer's coerced value for ``value``, or ``_DECLINE`` when only Typer's own path can tell."""
    if info.parser is not None:
        return info.parser(value)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        from typer._param_types import coerce_cli_choice

        return coerce_cli_choice(value, choices=tuple(annotation), case_sensitive=info.case_sensitive, ctx=ctx)
    if annotation is str:
        return value if isinstance(value, str) else _DECLINE
    if annotation is int and not info.clamp:
        if type(value) is str and _CANONICAL_INT.fullmatch(value):
            value = int(value)
        if type(value) is not int:
            return _DECLINE
        low_ok = info.min is None or value >= info.min
        return value if low_ok and (info.max is None or value <= info.max) else _DECLINE
    if annotation is float and info.min is None and info.max is None:
        return value if type(value) is float else _DECLINE
    if annotation == list[str] and isinstance(value, list | tuple) and all(type(v) is str for v in value):
        return list(value)
    return _DECLINE


def install() -> bool:
    """Give Typer's parameters the fast coercion; False (and nothing changed) on a Typer this does not know."""
    try:
        from typer import _coercion
        from typer.core import _TyperParameter
    except ImportError:
        return False
    if getattr(_TyperParameter, "_cowrieprocessor_fast", False):
        return True
    needed = ("get_runtime_param", "type_descriptor", "_runtime_param")
    if not all(hasattr(_TyperParameter, n) or n in getattr(_TyperParameter, "__annotations__", {}) for n in needed):
        return False
    if not hasattr(_coercion, "RuntimeParam") or not hasattr(_coercion, "build_runtime_param"):
        return False

    @dataclass(frozen=True)
    class FastRuntimeParam(_coercion.RuntimeParam):
        """Plain values here; Typer's coercion (built on first need) for the rest."""

        descriptor: Any = None
        _typer: list[Any] = field(default_factory=list, compare=False, repr=False)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                fast = _fast_value(self.annotation, self.parameter_info, value, ctx)
            except Exception:  # Typer's own coercion below raises the error it always raised
                fast = _DECLINE
            if fast is not _DECLINE:
                return fast
            if not self._typer:
                self._typer.append(_coercion.build_runtime_param(self.descriptor))
            return self._typer[0]._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            descriptor = self.type_descriptor
            if descriptor.file_annotation is not None:
                self._runtime_param = _coercion.build_runtime_param(descriptor)
            else:
                self._runtime_param = FastRuntimeParam(
                    parameter_info=descriptor.parameter_info, annotation=descriptor.annotation, descriptor=descriptor
                )
        return self._runtime_param

    _TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]
    _TyperParameter._cowrieprocessor_fast = True  # type: ignore[attr-defined]
    return True
