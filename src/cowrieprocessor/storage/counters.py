"""The rule "counters from sessions", defined once for ingest, the enrichment pass and reconcile.

An IP's ``session_count`` is how many sessions it has; ``first_seen`` the earliest ``first_event_at``;
``last_seen`` the latest ``coalesce(last_event_at, first_event_at)``: a session without a last event time
(a legacy row, a session cut short) was still seen at its first event, so it counts there - with plain
``MAX(last_event_at)`` an IP whose only session lacks one would have ``first_seen`` but no ``last_seen``.
An AS's ``total_session_count``/``first_seen``/``last_seen`` are the same aggregates over the sessions
attributed to it at attack time (``snapshot_asn``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause


def session_last_event(sessions: FromClause) -> ColumnElement[Any]:
    """When a session was last seen: its last event, else its first."""
    c = sessions.c
    return func.coalesce(c.last_event_at, c.first_event_at)


def session_counters(sessions: FromClause) -> tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]]:
    """The aggregates (``n``, ``first``, ``last``) over a group of ``sessions`` (``session_summaries`` or an
    alias of it); ``n`` counts session ids, so an outer join without sessions counts zero."""
    c = sessions.c
    return (
        func.count(c.session_id).label("n"),
        func.min(c.first_event_at).label("first"),
        func.max(session_last_event(sessions)).label("last"),
    )


def counters_sql(alias: str) -> tuple[str, str, str]:
    """:func:`session_counters` as SQL text over ``session_summaries AS <alias>``, for the raw-SQL writers."""
    from cowrieprocessor.storage.models import SessionSummary

    table = SessionSummary.__table__.alias(alias)
    return tuple(str(e.element.compile()) for e in session_counters(table))  # type: ignore[return-value]
