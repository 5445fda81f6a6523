"""The row positions the writer and stores read by name match the column orders the rows are written in."""

from __future__ import annotations

from cowrieprocessor.ingestion.store import DETAIL_TABLES, NEW_SUMMARY_COLUMNS, SESSION_COLUMNS
from cowrieprocessor.ingestion.summaries import (
    COMMAND_COLUMNS,
    COMMAND_KNOWN,
    COMMAND_SEQUENCE,
    COMMAND_UID,
    DETAIL_TIME,
    SUMMARY_COLUMNS,
    SUMMARY_TIMES,
)


def test_every_detail_row_has_its_event_time_at_the_same_place() -> None:
    assert {table: cols[DETAIL_TIME] for table, cols in DETAIL_TABLES.items()} == dict.fromkeys(
        DETAIL_TABLES, "event_time"
    )


def test_summary_and_command_positions() -> None:
    for cols in (SUMMARY_COLUMNS, SESSION_COLUMNS, NEW_SUMMARY_COLUMNS):  # the written rows extend the summary
        assert [cols[i] for i in SUMMARY_TIMES] == ["first_event_at", "last_event_at"]
    assert [COMMAND_COLUMNS[i] for i in (COMMAND_UID, COMMAND_SEQUENCE, COMMAND_KNOWN)] == [
        "event_uid", "sequence", "known",
    ]  # fmt: skip
