"""Engines for the supported backends (:mod:`cowrieprocessor.storage.dialects`), configured the same way
everywhere they are made."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cowrieprocessor.storage import dialects
from cowrieprocessor.storage.textsafe import escape_json

DEFAULT_SQLITE_FILE = "cowrieprocessor.sqlite"


def default_url() -> str:
    """``COWRIEPROCESSOR_DB`` or an SQLite file in the current directory."""
    return os.environ.get("COWRIEPROCESSOR_DB") or f"sqlite:///{Path.cwd() / DEFAULT_SQLITE_FILE}"


def normalise_url(url: str) -> str:
    """Accept the URLs users paste (``postgres://``, ``postgresql://``) and pick the psycopg 3 driver; a plain
    path (``x.sqlite``, ``~/cowrie.sqlite``, ``/srv/x.sqlite``) is an SQLite file, as is ``sqlite:///~/x``."""
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().absolute()}"
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL or path: {url!r}") from exc
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = dialects.of(parsed.get_backend_name())  # ValueError for another backend
    if backend.files and parsed.database and parsed.database.startswith("~"):
        parsed = parsed.set(database=str(Path(parsed.database).expanduser()))
    return parsed.render_as_string(hide_password=False)


def json_serializer(value: Any) -> str:
    """orjson (several times faster on the enrichment hot path); text PostgreSQL's jsonb would reject -
    NUL, lone surrogates (which orjson refuses anyway) - goes through the reversible U+2400 escape of
    ``textsafe``, the same one ingestion uses, so a document is stored whole on both backends."""
    try:
        encoded = orjson.dumps(value)
    except TypeError:
        return orjson.dumps(escape_json(value)).decode()
    if b"\\u0000" in encoded:
        return orjson.dumps(escape_json(value)).decode()
    return encoded.decode()


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = normalise_url(url or default_url())
    backend = dialects.of(make_url(url).get_backend_name())
    kwargs.setdefault("json_serializer", json_serializer)
    for option, value in backend.engine_options.items():
        kwargs.setdefault(option, value)
    engine = create_engine(url, **kwargs)
    backend.configure(engine)
    return engine
