"""The report's pure parts: text made safe to show, Markdown escaping, periods, time buckets, chart geometry."""

from __future__ import annotations

import datetime as dt

import pytest
from markupsafe import Markup

from cowrieprocessor.report import Period, charts
from cowrieprocessor.report.render import MAX_TEXT, markdown_text, visible

T = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def test_hidden_characters_are_spelt_out_and_long_text_is_cut() -> None:
    assert visible("a\u202eb\u200bc\x1b[31m\u2066") == "a\\u202eb\\u200bc\\u001b[31m\\u2066"
    assert visible("x" * (MAX_TEXT + 5)) == "x" * MAX_TEXT + "… [5 more characters]"
    assert visible(Markup("<b>ours</b>")) == Markup("<b>ours</b>") and visible(42) == 42


def test_markdown_metacharacters_are_escaped() -> None:
    assert markdown_text("[x](javascript:alert(1)) <img> *b* `c` |") == (
        "\\[x\\]\\(javascript:alert\\(1\\)\\) \\<img\\> \\*b\\* \\`c\\` \\|"
    )


def test_period_previous_and_bucket() -> None:
    week = Period(T, T + dt.timedelta(days=7))
    assert week.previous == Period(T - dt.timedelta(days=7), T) and week.bucket == "hour"
    assert Period(T, T + dt.timedelta(days=30)).bucket == "day"
    with pytest.raises(ValueError, match="the period is empty"):
        Period(T, T)
    with pytest.raises(ValueError, match="naive"):
        Period(T.replace(tzinfo=None), T + dt.timedelta(days=1))


def test_slots_cover_the_period_with_gaps_visible() -> None:
    assert charts.slots(T, T + dt.timedelta(hours=3), "hour") == ["2025-03-01 00", "2025-03-01 01", "2025-03-01 02"]
    assert charts.slots(T + dt.timedelta(hours=5), T + dt.timedelta(days=2), "day") == ["2025-03-01", "2025-03-02"]


def test_stacked_bars_scale_to_the_tallest_bucket() -> None:
    rows = [
        {"slot": "2025-03-01", "series": "ssh", "sessions": 30},
        {"slot": "2025-03-02", "series": "telnet", "sessions": 10},
    ]
    chart = charts.stacked_bars(rows, ["2025-03-01", "2025-03-02"], ["ssh", "telnet"], height=240)
    heights = sorted(r.height for r in chart.rects)
    assert len(chart.rects) == 2 and heights[1] == pytest.approx(3 * heights[0])  # 30 vs 10 on one scale
    assert chart.summary == "40 sessions in 2 buckets" and [n for n, _ in chart.legend] == ["ssh", "telnet"]


def test_graph_draws_only_edges_between_known_nodes() -> None:
    chart = charts.bipartite([("c1", "key", "#c1")], [(64500, "AS64500", None)], [("c1", 64500, 5), ("c2", 64500, 9)])
    assert len(chart.lines) == 1 and chart.lines[0].title == "5 sessions"
