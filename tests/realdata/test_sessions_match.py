"""Every session of the real logs (Cowrie 1.x of 2018, 2.0-2.2 of 2020, 2.7-3.0.3 of 2026) as the ingester
summarised it, on SQLite and PostgreSQL, against a recomputation from the raw JSON (``expected.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from cowrieprocessor.storage.models import SessionSummary
from cowrieprocessor.storage.textsafe import unescape_text
from tests.realdata import expected
from tests.realdata.conftest import Ingested

TEXT = ("client_version", "client_version_normalised", "login_username")


@pytest.fixture(scope="module")
def recomputed(real_lines: dict[str, list[expected.Line]]) -> dict[str, dict[str, Any]]:
    return {sid: expected.summary(session) for sid, session in real_lines.items()}


def _stored(real_db: Ingested) -> dict[str, dict[str, Any]]:
    columns = [c for c in SessionSummary.__table__.columns]
    with real_db.engine.connect() as conn:
        rows = conn.execute(select(*columns)).mappings().all()
    out = {}
    for row in rows:
        values = dict(row)
        for name in TEXT:
            if values[name] is not None:
                values[name] = unescape_text(values[name])
        out[values["session_id"]] = values
    return out


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, dt.datetime) and isinstance(got, dt.datetime):
        return got.astimezone(dt.UTC) == want
    return bool(got == want)


def test_every_session_matches_its_recomputation(real_db: Ingested, recomputed: dict[str, dict[str, Any]]) -> None:
    stored = _stored(real_db)
    assert set(stored) == set(recomputed)
    problems = [
        f"{sid} {name}: stored {stored[sid][name]!r}, recomputed {want!r}"
        for sid, fields in sorted(recomputed.items())
        for name, want in fields.items()
        if not _same(stored[sid][name], want)
    ]
    assert problems == [], f"{len(problems)} differences, first ones:\n" + "\n".join(problems[:30])


def test_the_logs_are_what_their_sources_say(real_db: Ingested, recomputed: dict[str, dict[str, Any]]) -> None:
    """Counts from each directory's SOURCE.md: a check that the whole of every log was read."""
    assert real_db.stats.events_new == 123_089 and real_db.stats.dead_letters == 0
    assert len(recomputed) == 22_238 + 2_095 + 922
    by_sensor: dict[str, int] = {}
    for fields in recomputed.values():
        by_sensor[fields["sensor"]] = by_sensor.get(fields["sensor"], 0) + 1
    assert by_sensor["920497a79896"] == 22_238 and by_sensor["ip-172-31-31-222"] == 922
