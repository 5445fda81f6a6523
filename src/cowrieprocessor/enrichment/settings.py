"""Typed configuration of the sources: TOML ``[providers.<name>]`` or ``COWRIEPROCESSOR_PROVIDERS__<NAME>__<KEY>``.

The settings models live here; each source's defaults and key variable in its registry entry
(``enrichment.registry``), one place per value. API keys are not settings: they come from the environment
(the entry's ``key_env``: ``GREYNOISE_API_KEY``...) or from ``api_key_file``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails
from pydantic_settings import NoDecode


class SourceSettings(BaseModel):
    """One source's section. Keys that make no sense for a source are ignored by it."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    base_url: str | None = None
    whois_server: str | None = None
    dns_server: str | None = None
    #: NoDecode: the env form may be a plain path list (``a.mmdb:b.mmdb``), not only JSON.
    paths: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    directory: Path | None = None
    rate_per_second: float = Field(default=1.0, gt=0)
    daily_budget: int | None = Field(default=None, ge=0)
    batch_size: int = Field(default=500, ge=1)
    timeout_seconds: float = Field(default=10.0, gt=0)
    api_key_file: Path | None = None
    #: Attempts per call (timeouts and 5xx are retried with exponential backoff and jitter).
    max_attempts: int = Field(default=3, ge=1)
    #: The longest ``Retry-After`` worth waiting for inside a run; a longer one ends the call as rate_limited.
    max_retry_wait_seconds: float = Field(default=60.0, ge=0)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: float = Field(default=300.0, ge=0)
    #: The largest answer read (streamed; a longer one is refused as an error, never stored or buffered).
    max_response_bytes: int = Field(default=1 << 20, ge=1)
    #: The longest one request may take in all (``timeout_seconds`` bounds each read: a slow drip passes it).
    total_timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("paths", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        """Accept a JSON list, or one string of paths separated by ``os.pathsep`` or commas (env form)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [p for p in text.replace(",", os.pathsep).split(os.pathsep) if p.strip()]
        return value


class MaxMindSettings(SourceSettings):
    """``[providers.maxmind]``: its paths must be MaxMind DB files."""

    @model_validator(mode="after")
    def _maxmind_files(self) -> MaxMindSettings:
        """A ``maxmind`` path must be a MaxMind DB: said here, once, instead of a traceback at the first lookup."""
        for path in self.paths:
            problem = mmdb_problem(path)
            if problem is not None:
                raise ValueError(f"providers.maxmind.paths: {path}: {problem}")
        return self


class ProvidersSettings(BaseModel):
    """One section per registered source (``enrichment.registry``), each of the source's settings model; a
    section given in part keeps the source's other defaults, a name no source is registered under is an error.

    The sections are not declared fields: a source registered later (a plugin, a test) is configured like
    the built-in ones. They are read as attributes (``providers.maxmind``) or with :meth:`section`.
    """

    model_config = ConfigDict(extra="allow")

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> SourceSettings: ...

    @model_validator(mode="wrap")
    @classmethod
    def _sections(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(value, Mapping):
            return handler(value)
        from cowrieprocessor.enrichment.registry import entries

        known = {e.name: e for e in entries(subject=None)}
        sections: dict[str, SourceSettings] = {}
        errors: list[InitErrorDetails] = []
        for name, given in value.items():
            entry = known.get(name)
            if entry is None:
                errors.append({"type": "extra_forbidden", "loc": (name,), "input": given})
            elif isinstance(given, entry.settings):
                sections[name] = given
            else:
                if isinstance(given, SourceSettings):  # another model's section: what was set in it
                    given = given.model_dump(exclude_unset=True)
                elif isinstance(given, str) and given.lstrip().startswith("{"):  # a whole section in one variable
                    given = json.loads(given)
                if not isinstance(given, Mapping):
                    errors.append({"type": "dict_type", "loc": (name,), "input": given})
                    continue
                try:
                    sections[name] = entry.section(given)
                except ValidationError as exc:
                    errors += [_nested(error, name) for error in exc.errors(include_url=False)]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return handler({name: sections[name] if name in sections else e.section() for name, e in known.items()})

    def section(self, name: str) -> SourceSettings:
        value = (self.__pydantic_extra__ or {}).get(name)
        if not isinstance(value, SourceSettings):
            raise KeyError(f"unknown source {name!r}")
        return value


def _nested(error: ErrorDetails, section: str) -> InitErrorDetails:
    """A section's validation error, placed under the section's name."""
    nested: InitErrorDetails = {"type": error["type"], "loc": (section, *error["loc"]), "input": error["input"]}
    if "ctx" in error:
        nested["ctx"] = error["ctx"]
    return nested


#: The marker that starts a MaxMind DB's metadata section, in the file's last 128 KiB.
MMDB_MARKER = b"\xab\xcd\xefMaxMind.com"


def mmdb_problem(path: Path) -> str | None:
    """Why ``path`` is not a MaxMind DB file, or None (a missing file is the source's business: it is then
    reported unavailable, and may appear after the settings are read)."""
    if path.suffix != ".mmdb":
        return "not a MaxMind DB file (expected a .mmdb file)"
    if not path.exists():
        return None
    if not path.is_file():
        return "not a file"
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - 128 * 1024))
            tail = handle.read()
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc.__class__.__name__}"
    return None if MMDB_MARKER in tail else "not a MaxMind DB file (no MaxMind metadata)"


def read_key(name: str, section: SourceSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The secret for ``name``: ``api_key_file`` first, then the variable its registry entry names (``key_env``);
    None when there is none."""
    from cowrieprocessor.enrichment.registry import all_entries

    env = os.environ if environ is None else environ
    if section.api_key_file is not None:
        value = section.api_key_file.read_text(encoding="utf-8").strip()
        return value or None
    entry = all_entries().get(name)
    variable = entry.key_env if entry is not None else None
    value = env.get(variable, "").strip() if variable else ""
    return value or None
