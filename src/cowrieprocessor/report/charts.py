"""Chart geometry, computed here and drawn as inline SVG by the templates (no script, no library, no
network): stacked bars over time, horizontal bars, and the campaign <-> ASN graph.

Only numbers and labels leave this module; labels are escaped by the template like any other text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Okabe-Ito, readable by colour-blind readers and in print; the last colour is "other".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
OTHER = "#999999"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str
    href: str | None = None


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"
    href: str | None = None


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float
    color: str
    title: str


@dataclass
class Chart:
    """One SVG: its size, shapes, labels, legend and a text summary for screen readers and tests."""

    kind: str
    width: int
    height: int
    summary: str
    rects: list[Rect] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)


def slots(since: dt.datetime, until: dt.datetime, unit: str) -> list[str]:
    """Every bucket label of ``[since, until)``, spelt like ``report.sql.bucket`` (gaps stay visible)."""
    step = dt.timedelta(hours=1) if unit == "hour" else dt.timedelta(days=1)
    moment = since.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    if unit == "day":
        moment = moment.replace(hour=0)
    out = []
    while moment < until:
        out.append(moment.strftime("%Y-%m-%d %H") if unit == "hour" else moment.strftime("%Y-%m-%d"))
        moment += step
    return out


def _nice_max(value: int) -> int:
    if value <= 5:
        return max(value, 1)
    magnitude = 10 ** (len(str(value)) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        top = int(factor * magnitude)
        if top >= value:
            return top
    return value


def stacked_bars(
    rows: Iterable[dict[str, Any]],
    buckets: Sequence[str],
    series: Sequence[Any],
    *,
    name: Callable[[Any], str] = str,
    width: int = 960,
    height: int = 240,
) -> Chart:
    """Sessions per bucket, stacked by series (in the given order; colours follow it)."""
    counts: dict[tuple[str, Any], int] = {}
    for r in rows:
        counts[(r["slot"], r["series"])] = counts.get((r["slot"], r["series"]), 0) + int(r["sessions"])
    colors = {s: (OTHER if name(s) == "other" else PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)}
    left, bottom, top = 56, 28, 8
    plot_w, plot_h = width - left - 40, height - bottom - top
    totals = [sum(counts.get((b, s), 0) for s in series) for b in buckets]
    ymax = _nice_max(max(totals, default=0))
    step = plot_w / max(len(buckets), 1)
    chart = Chart("bars", width, height, f"{sum(totals):,} sessions in {len(buckets)} buckets")
    for i, b in enumerate(buckets):
        y: float = top + plot_h
        for s in series:
            n = counts.get((b, s), 0)
            if not n:
                continue
            h = plot_h * n / ymax
            y -= h
            chart.rects.append(Rect(left + i * step + 0.5, y, max(step - 1, 1), h, colors[s], f"{b}: {name(s)} {n:,}"))
    for frac in (0, 0.5, 1):
        value = int(ymax * frac)
        chart.labels.append(Label(left - 6, top + plot_h * (1 - frac) + 4, f"{value:,}", "end"))
    # month-day (and hour): a label every so many buckets that they never touch (about 7 px a character)
    texts = [b[5:] + ("h" if len(b) > 10 else "") for b in buckets]
    every = max(1, math.ceil(len(buckets) * (7 * max((len(t) for t in texts), default=1) + 12) / plot_w))
    for i in range(0, len(buckets), every):
        chart.labels.append(Label(left + i * step + step / 2, height - 8, texts[i], "middle"))
    chart.legend = [(name(s), colors[s]) for s in series]
    return chart


def hbars(
    items: Sequence[tuple[str, int, str | None]], *, width: int = 460, row: int = 20, label_width: int = 170
) -> Chart:
    """Horizontal bars: (label, value, link) per row, largest first."""
    height = row * len(items) + 8
    vmax = max((v for _, v, _ in items), default=0) or 1
    bar_w = width - label_width - 70
    chart = Chart("hbars", width, height, "; ".join(f"{label}: {v:,}" for label, v, _ in items))
    for i, (label, value, href) in enumerate(items):
        y = 4 + i * row
        chart.labels.append(Label(label_width - 6, y + row * 0.7, _clip(label, label_width // 7), "end", href))
        w = max(bar_w * value / vmax, 1.0)
        chart.rects.append(Rect(label_width, y + 2, w, row - 5, PALETTE[0], f"{label}: {value:,}", href))
        chart.labels.append(Label(label_width + w + 4, y + row * 0.7, f"{value:,}"))
    return chart


def bipartite(
    left: Sequence[tuple[str, str, str | None]],
    right: Sequence[tuple[Any, str, str | None]],
    edges: Sequence[tuple[str, Any, int]],
    *,
    width: int = 960,
    row: int = 24,
) -> Chart:
    """Campaigns (left: id, label, link) to ASNs (right: id, label, link), edge width by sessions."""
    height = max(len(left), len(right), 1) * row + 16
    lx, rx = 330, width - 330
    ly = {ident: 12 + i * row + row / 2 for i, (ident, _, _) in enumerate(left)}
    ry = {ident: 12 + i * row + row / 2 for i, (ident, _, _) in enumerate(right)}
    wmax = max((n for _, _, n in edges), default=1) or 1
    chart = Chart("graph", width, height, f"{len(left)} campaigns, {len(right)} ASNs, {len(edges)} links")
    colors = {ident: PALETTE[i % (len(PALETTE) - 1)] for i, (ident, _, _) in enumerate(left)}
    for a, b, n in edges:
        if a in ly and b in ry:
            chart.lines.append(Line(lx, ly[a], rx, ry[b], 1 + 7 * n / wmax, colors[a], f"{n:,} sessions"))
    for ident, label, href in left:
        chart.rects.append(Rect(lx - 6, ly[ident] - 6, 12, 12, colors[ident], label, href))
        chart.labels.append(Label(lx - 12, ly[ident] + 4, _clip(label, 44), "end", href))
    for ident, label, href in right:
        chart.rects.append(Rect(rx - 6, ry[ident] - 6, 12, 12, "#555555", label, href))
        chart.labels.append(Label(rx + 12, ry[ident] + 4, _clip(label, 44), "start", href))
    return chart


def _clip(label: str, chars: int) -> str:
    """A label that fits its room (about 7 px a character at the charts' font size), marked when cut; the
    bar's tooltip and the tables carry the whole text."""
    return label if len(label) <= chars else label[: chars - 1] + "\u2026"
