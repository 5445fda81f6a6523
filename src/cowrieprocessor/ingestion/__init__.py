"""Cowrie JSON logs -> ``raw_events``, ``session_summaries`` and the detail tables.

Idempotent (an event's identity is the hash of its content), incremental (a byte checkpoint per file
identity), crash-safe (one transaction per batch, checkpoint included) and loss-free (anything that is
not an event is a dead letter with its reason, source, offset and bytes).
"""

from cowrieprocessor.ingestion.pipeline import IngestStats, ingest

__all__ = ["IngestStats", "ingest"]
