"""Column types that are native on PostgreSQL and faithful on SQLite, so the models stay one set.

PostgreSQL gets INET, JSONB, TIMESTAMPTZ and TEXT[]; SQLite stores the same values as TEXT/JSON, and the
adapters give Python the same objects back on both backends (str addresses, aware UTC datetimes, lists).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from cowrieprocessor.storage import dialects


class JSONDocument(TypeDecorator[Any]):
    """JSON everywhere, JSONB on PostgreSQL (``Dialect.document_type``).

    A decorator rather than ``JSON().with_variant(JSONB(), ...)``: the variant needs the PostgreSQL dialect
    loaded to define the tables, which cost every SQLite command ~20 ms of start-up (#21)."""

    impl = JSON
    cache_ok = True
    # As JSON has them: an unset column stays SQL NULL (the ORM leaves it out), and documents are unhashable.
    should_evaluate_none = True
    hashable = False

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(dialects.of_or_portable(dialect).document_type())


JSONType = JSONDocument()


def key_string(length: int) -> TypeEngine[str]:
    """An identifier (hash, session id): compared byte by byte, in the ``C`` collation on PostgreSQL.

    The database's default collation (e.g. ``C.UTF-8``) makes every comparison a locale-aware ``strcoll``;
    nobody sorts these keys by language, and byte order made each key's index insert about a third cheaper.
    SQLite compares bytes already.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


@functools.lru_cache(maxsize=1 << 16)
def canonical_ip(value: str) -> str:
    """The canonical spelling of an address (cached: the same IPs are bound again and again)."""
    return str(ipaddress.ip_address(value))


class IPAddress(TypeDecorator[str]):
    """An IPv4/IPv6 address: ``INET`` on PostgreSQL, canonical text on SQLite.

    Values are normalised to the compressed canonical form on the way in, so the same address can never
    appear twice under two spellings (``::ffff:1.2.3.4`` vs ``1.2.3.4`` stays distinct, as it should).
    """

    impl = String(45)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(dialects.of_or_portable(dialect).ip_type())

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return canonical_ip(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return str(value)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp: ``TIMESTAMPTZ`` on PostgreSQL, ISO-8601 text on SQLite.

    Naive datetimes are rejected on the way in: a naive time from a log is a bug, not a guess to make.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(dialects.of_or_portable(dialect).utc_time_type())

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError("naive datetime: every timestamp stored must be timezone-aware")
        utc: dt.datetime = value.astimezone(dt.UTC)
        # SQLite stores text; dropping tzinfo keeps the ISO form sortable (all values are UTC).
        return utc if dialects.of_or_portable(dialect).aware_times else utc.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        parsed: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)


class StringList(TypeDecorator[list[str]]):
    """A list of strings: ``TEXT[]`` on PostgreSQL, a JSON array on SQLite."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(dialects.of_or_portable(dialect).string_list_type())

    def process_bind_param(self, value: Any, dialect: Dialect) -> list[str] | None:
        if value is None:
            return None
        return [str(v) for v in value]

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str] | None:
        if value is None:
            return None
        return list(value)
