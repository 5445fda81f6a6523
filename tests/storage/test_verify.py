"""``storage.verify`` as a library: a typed report, and a named error when there is nothing to compare with."""

from __future__ import annotations

import pytest

from cowrieprocessor.errors import EXIT_USAGE, NoBaseline
from cowrieprocessor.storage.verify import Check, Verification, verify
from tests.storage.test_migration import _v15


def test_no_baseline_is_a_named_usage_error(empty_db_url: str) -> None:
    engine = _v15(empty_db_url)  # never upgraded: no baseline recorded
    with pytest.raises(NoBaseline) as raised:
        verify(engine)
    engine.dispose()
    assert raised.value.exit_code == EXIT_USAGE
    assert "baseline" in raised.value.message and raised.value.remedy


def test_the_report_is_ok_unless_a_check_lost_data() -> None:
    info = Check("schema_revision", "v15", "v26", None, "informational")
    kept = Check("sessions", 10, 12, True, "grew since the baseline")
    lost = Check("commands", 10, 9, False)
    assert Verification("v26", "v15", None, [info, kept]).ok
    report = Verification("v26", "v15", None, [info, kept, lost])
    assert not report.ok
    assert [c["status"] for c in report.as_json()["checks"]] == ["info", "intact", "NOT INTACT"]
    assert report.as_json()["ok"] is False
