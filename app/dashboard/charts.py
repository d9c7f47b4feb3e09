"""The report's charts as inline SVG, drawn on the server: no script, no CDN, nothing to load.

Each chart is a <figure> holding the SVG (role="img", a <title> and a <desc>) and, beside it,
a table with the same numbers for screen readers and for anyone who wants them exactly. Every
mark carries its number in `data-value` (and its label in `data-label`), so what is drawn can be
checked against the report: the tests read them back. Labels are escaped like any other text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from app.dashboard.html import esc, table

__all__ = ["Bar", "BoxBar", "Series", "bar_chart", "box_chart", "line_chart", "minutes"]

WIDTH = 640
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 16, 40


@dataclass(frozen=True)
class Series:
    """One line: a value (minutes) per label, None where the bucket had no incident."""

    name: str
    values: tuple[float | None, ...]
    css: str


@dataclass(frozen=True)
class Bar:
    """`met` of `of` (a percentage bar; no bar when `of` is 0)."""

    label: str
    met: int
    of: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.met / self.of, 1) if self.of else None


@dataclass(frozen=True)
class BoxBar:
    """A phase: how long it took (median minutes, None if no incident reached its end) against
    its time box (minutes)."""

    label: str
    value: float | None
    box: float
    met: int = 0
    of: int = 0


def minutes(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds() / 60, 1)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _minutes_text(value: float | None) -> str:
    return "—" if value is None else f"{_number(value)} min"


def nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _svg(chart_id: str, title: str, desc: str, height: int, inner: str) -> str:
    return (
        f'<svg class="chart-svg" id="{esc(chart_id)}" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'preserveAspectRatio="xMidYMid meet" aria-labelledby="{esc(chart_id)}-t '
        f'{esc(chart_id)}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{esc(chart_id)}-t">{esc(title)}</title>'
        f'<desc id="{esc(chart_id)}-d">{esc(desc)}</desc>{inner}</svg>'
    )


def _figure(chart_id: str, title: str, svg: str, data: str, legend: str = "") -> str:
    return (
        f'<figure class="chart" aria-labelledby="{esc(chart_id)}-c">'
        f'<figcaption id="{esc(chart_id)}-c">{esc(title)}</figcaption>'
        f'<div class="chart-body"><div class="chart-plot">{svg}{legend}</div>'
        f'<div class="chart-data">{data}</div></div></figure>'
    )


def _y_axis(top: float, plot_h: int, unit: str) -> str:
    """Four grid lines with their values, from 0 to `top`."""
    parts = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{esc(_number(round(value, 1)))}{esc(unit)}</text>"
        )
    return "".join(parts)


def _empty(chart_id: str, title: str, note: str) -> str:
    svg = _svg(
        chart_id,
        title,
        note,
        80,
        f'<text class="empty" x="{WIDTH / 2}" y="45" text-anchor="middle">{esc(note)}</text>',
    )
    return _figure(chart_id, title, svg, f'<p class="muted">{esc(note)}</p>')


def line_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """Lines of minutes over the period's buckets (MTTA and MTTR medians)."""
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not values:
        return _empty(chart_id, title, "No acknowledged or resolved incidents in this period.")
    height = 260
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    top = nice_max(max(values))
    step = plot_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return LEFT + (step * i if len(labels) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h - plot_h * v / top

    every = max(1, math.ceil(len(labels) / 13))
    parts = [_y_axis(top, plot_h, "")]
    parts += [
        f'<text class="tick" x="{x(i):.1f}" y="{height - BOTTOM + 18}" text-anchor="middle">'
        f"{esc(label)}</text>"
        for i, label in enumerate(labels)
        if i % every == 0
    ]
    for s in series:
        runs: list[list[str]] = [[]]
        for i, v in enumerate(s.values):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(i):.1f},{y(v):.1f}")
        parts += [
            f'<polyline class="line {esc(s.css)}" points="{" ".join(run)}"/>'
            for run in runs
            if len(run) > 1
        ]
        parts += [
            f'<circle class="point {esc(s.css)}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="4" '
            f'data-series="{esc(s.name)}" data-label="{esc(labels[i])}" '
            f'data-value="{_number(v)}"><title>{esc(s.name)} {esc(labels[i])}: '
            f"{esc(_minutes_text(v))}</title></circle>"
            for i, v in enumerate(s.values)
            if v is not None
        ]
    desc = "; ".join(
        f"{s.name}: "
        + ", ".join(
            f"{label} {_minutes_text(v)}" for label, v in zip(labels, s.values, strict=True)
        )
        for s in series
    )
    legend = (
        '<p class="legend">'
        + "".join(f'<span class="key {esc(s.css)}">{esc(s.name)}</span>' for s in series)
        + "</p>"
    )
    data = table(
        ["Bucket", *(s.name for s in series)],
        (
            [esc(label), *(esc(_minutes_text(s.values[i])) for s in series)]
            for i, label in enumerate(labels)
        ),
        caption="In numbers",
    )
    return _figure(
        chart_id, title, _svg(chart_id, title, desc, height, "".join(parts)), data, legend
    )


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar]) -> str:
    """Vertical bars of a share (0–100 %): the response targets met, per severity."""
    if not bars or all(b.of == 0 for b in bars):
        return _empty(chart_id, title, "No incidents in this period.")
    height = 240
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    slot = plot_w / len(bars)
    width = min(64.0, slot * 0.6)
    parts = [_y_axis(100, plot_h, "%")]
    for i, bar in enumerate(bars):
        cx = LEFT + slot * i + slot / 2
        parts.append(
            f'<text class="tick" x="{cx:.1f}" y="{height - BOTTOM + 18}" text-anchor="middle">'
            f"{esc(bar.label)}</text>"
        )
        percent = bar.percent
        if percent is None:
            parts.append(
                f'<text class="none" x="{cx:.1f}" y="{TOP + plot_h - 6}" text-anchor="middle">'
                "none</text>"
            )
            continue
        h = plot_h * percent / 100
        level = "ok" if percent >= 90 else "warn" if percent >= 60 else "bad"
        parts.append(
            f'<rect class="bar {level}" x="{cx - width / 2:.1f}" y="{TOP + plot_h - h:.1f}" '
            f'width="{width:.1f}" height="{h:.1f}" data-label="{esc(bar.label)}" '
            f'data-value="{_number(percent)}" data-met="{bar.met}" data-of="{bar.of}">'
            f"<title>{esc(bar.label)}: {bar.met} of {bar.of} ({_number(percent)} %)</title></rect>"
            f'<text class="value" x="{cx:.1f}" y="{TOP + plot_h - h - 6:.1f}" '
            f'text-anchor="middle">{_number(percent)} %</text>'
        )
    desc = "; ".join(
        f"{b.label}: {b.met} of {b.of}" + (f" ({_number(b.percent)} %)" if b.of else "")
        for b in bars
    )
    data = table(
        ["Severity", "Met", "Of", "Share"],
        (
            [esc(b.label), str(b.met), str(b.of), esc(f"{_number(b.percent)} %" if b.of else "—")]
            for b in bars
        ),
        caption="In numbers",
    )
    return _figure(chart_id, title, _svg(chart_id, title, desc, height, "".join(parts)), data)


def box_chart(chart_id: str, title: str, bars: Sequence[BoxBar]) -> str:
    """Horizontal bars: each phase's median duration, with its time box marked on the bar."""
    if not bars:
        return _empty(chart_id, title, "The plan lists no phases.")
    row, left = 36, 132
    height = TOP + row * len(bars) + BOTTOM
    plot_w = WIDTH - left - RIGHT
    top = nice_max(max([b.box for b in bars] + [b.value for b in bars if b.value is not None]))
    parts = []
    for i in range(5):
        value = top * i / 4
        gx = left + plot_w * i / 4
        parts.append(
            f'<line class="grid" x1="{gx:.1f}" x2="{gx:.1f}" y1="{TOP}" '
            f'y2="{height - BOTTOM}"/><text class="tick" x="{gx:.1f}" '
            f'y="{height - BOTTOM + 18}" text-anchor="middle">{_number(round(value, 1))}</text>'
        )
    parts.append(
        f'<text class="unit" x="{WIDTH - RIGHT}" y="{height - 6}" text-anchor="end">min</text>'
    )
    for i, bar in enumerate(bars):
        y = TOP + row * i
        parts.append(
            f'<text class="label" x="{left - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end">'
            f"{esc(bar.label)}</text>"
        )
        bx = left + plot_w * bar.box / top
        if bar.value is not None:
            w = plot_w * bar.value / top
            level = "ok" if bar.value <= bar.box else "bad"
            parts.append(
                f'<rect class="bar {level}" x="{left}" y="{y + 8}" width="{w:.1f}" '
                f'height="{row - 16}" data-label="{esc(bar.label)}" '
                f'data-value="{_number(bar.value)}" data-box="{_number(bar.box)}">'
                f"<title>{esc(bar.label)}: median {esc(_minutes_text(bar.value))}, box "
                f"{esc(_minutes_text(bar.box))}</title></rect>"
            )
        else:
            parts.append(
                f'<text class="none" x="{left + 6}" y="{y + row / 2 + 4:.1f}">not reached</text>'
            )
        parts.append(
            f'<line class="box" x1="{bx:.1f}" x2="{bx:.1f}" y1="{y + 3}" y2="{y + row - 3}" '
            f'data-label="{esc(bar.label)}" data-box="{_number(bar.box)}">'
            f"<title>{esc(bar.label)} time box: {esc(_minutes_text(bar.box))}</title></line>"
        )
    desc = "; ".join(
        f"{b.label}: median {_minutes_text(b.value)} against a box of {_minutes_text(b.box)}"
        for b in bars
    )
    legend = (
        '<p class="legend"><span class="key ok">within its box</span>'
        '<span class="key bad">over its box</span><span class="key box">time box</span></p>'
    )
    data = table(
        ["Phase", "Median", "Box", "Within"],
        (
            [
                esc(b.label),
                esc(_minutes_text(b.value)),
                esc(_minutes_text(b.box)),
                esc(f"{b.met} of {b.of}" if b.of else "—"),
            ]
            for b in bars
        ),
        caption="In numbers",
    )
    return _figure(
        chart_id, title, _svg(chart_id, title, desc, height, "".join(parts)), data, legend
    )
