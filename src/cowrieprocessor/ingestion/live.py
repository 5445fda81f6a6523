"""Sessions of the current run, kept in memory so a later batch updates them without re-reading the database.

A session is *live* when this run holds every stored event of it: it was created by this run, or it was
re-read from ``raw_events`` once. A live session's summary is recomputed from its events in memory (the
same :func:`~cowrieprocessor.ingestion.summaries.summarise` over the same set of events, so the result is
identical); any other session falls back to re-reading its stored raw lines.

Memory stays bounded: a session leaves when its ``cowrie.session.closed`` event has been written, and the
oldest sessions leave while more than ``max_events`` events are held. Leaving only costs speed: if more
events of that session turn up, it is re-read from the database like a session of an earlier run.
Events kept are trimmed to the fields a summary reads (no raw bytes, payload or unrelated fields).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cowrieprocessor.ingestion.activity import ACTIVITY_FIELDS
from cowrieprocessor.ingestion.events import Event
from cowrieprocessor.ingestion.summaries import SUMMARY_FIELDS

MAX_LIVE_EVENTS = 100_000
KEPT_FIELDS = SUMMARY_FIELDS | ACTIVITY_FIELDS
CLOSED = "cowrie.session.closed"


@dataclass(slots=True)
class LiveSession:
    events: list[Event]
    source_ip: str | None = None  # as last written to session_summaries
    commands: dict[str, tuple[int, bool]] = field(default_factory=dict)  # uid -> (sequence, known) written
    closed: bool = False
    stored: int = 0  # its raw events in the database as of this run's last write (any loader's)


class LiveSessions:
    def __init__(self, max_events: int = MAX_LIVE_EVENTS) -> None:
        self.max_events = max_events
        self.sessions: dict[str, LiveSession] = {}  # insertion order: oldest first
        self.events = 0

    def __contains__(self, session_id: str) -> bool:
        return session_id in self.sessions

    def get(self, session_id: str) -> LiveSession | None:
        return self.sessions.get(session_id)

    def put(self, session_id: str, live: LiveSession, added: list[Event]) -> None:
        """Hold ``live`` (whose events include ``added``, the ones not held before), unless it is closed."""
        old = self.sessions.pop(session_id, None)
        if old is not None:
            self.events -= len(old.events)
        live.closed = live.closed or any(e.eventid == CLOSED for e in added)
        if live.closed:
            return
        for event in added:
            _trim(event)
        self.sessions[session_id] = live
        self.events += len(live.events)

    def forget(self, session_id: str) -> None:
        old = self.sessions.pop(session_id, None)
        if old is not None:
            self.events -= len(old.events)

    def shrink(self) -> None:
        """Let the oldest sessions go until at most ``max_events`` events are held."""
        sessions = self.sessions
        while self.events > self.max_events and sessions:
            oldest = next(iter(sessions))
            self.events -= len(sessions.pop(oldest).events)


def _trim(event: Event) -> None:
    event.data = {k: v for k, v in event.data.items() if k in KEPT_FIELDS}
    event.raw, event.payload = b"", None
