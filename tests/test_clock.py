"""The one ISO-8601 -> UTC parser: naive means UTC, offsets are converted, stored junk is no time."""

from __future__ import annotations

import datetime as dt

import pytest

from cowrieprocessor.clock import as_utc, parse_utc, stored_time, utcnow


def test_times_are_utc_whatever_the_input_says() -> None:
    assert parse_utc("2025-02-20") == dt.datetime(2025, 2, 20, tzinfo=dt.UTC)
    assert parse_utc("2025-02-20T06:27:48+02:00") == dt.datetime(2025, 2, 20, 4, 27, 48, tzinfo=dt.UTC)
    assert parse_utc("2025-02-20T06:27:48Z").tzinfo is dt.UTC
    assert as_utc(dt.datetime(2025, 1, 1)) == dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    assert utcnow().tzinfo is dt.UTC


def test_bad_and_out_of_range_times_are_told_apart() -> None:
    with pytest.raises(ValueError):
        parse_utc("yesterday")
    with pytest.raises(OverflowError):
        parse_utc("0001-01-01T00:00:00+01:00")  # a valid time whose UTC is before year 1


@pytest.mark.parametrize("value", [None, "", 42, "not a time"])
def test_stored_junk_is_no_time(value: object) -> None:
    assert stored_time(value) is None
    assert stored_time("2025-02-20T06:27:48") == dt.datetime(2025, 2, 20, 6, 27, 48, tzinfo=dt.UTC)
