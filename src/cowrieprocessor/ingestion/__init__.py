"""Cowrie JSON logs -> ``raw_events``, ``session_summaries`` and the detail tables.

Idempotent (an event's identity is the hash of its content), incremental (a byte checkpoint per file
identity), crash-safe (one transaction per batch, checkpoint included) and loss-free (anything that is
not an event is a dead letter with its reason, source, offset and bytes).

``ingest`` and ``IngestStats`` load the pipeline on first use: a query that needs only ``ingestion.fields``
(the credential-list hash) must not import the writer, the ORM and the log readers with it (#21).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cowrieprocessor.ingestion.pipeline import IngestStats, ingest

__all__ = ["IngestStats", "ingest"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from cowrieprocessor.ingestion import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
