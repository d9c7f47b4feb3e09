"""The report page's body: the period, the headline figures, the three charts (MTTA/MTTR over
time, response targets met per severity, phase durations against their time boxes) and the
report's tables. Words for durations and shares are the report's own (`report_render`), so the
page, the Markdown file and the Slack answer say the same numbers the same way."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.dashboard.charts import Bar, BoxBar, Series, bar_chart, box_chart, line_chart, minutes
from app.dashboard.html import esc, severity_badge, table
from app.domain.formatting import format_time
from app.domain.periods import Period
from app.domain.report import Figures, Report, Share, Spread
from app.domain.report_render import duration, share_text

__all__ = ["period_form", "render"]

STATUSES = ("investigating", "mitigating")


def period_form(value: str) -> str:
    """Pick another period: a quarter typed, or this one / the last full one."""
    return (
        '<form class="period" method="get" action="/dashboard/report">'
        '<label for="period">Period</label>'
        f'<input id="period" name="period" value="{esc(value)}" placeholder="2026Q3" '
        'maxlength="20" autocomplete="off">'
        '<button type="submit">Show</button>'
        '<a href="/dashboard/report?period=this">This quarter</a>'
        '<a href="/dashboard/report?period=last">Last full quarter</a></form>'
    )


def _spread(spread: Spread) -> str:
    if spread.median is None:
        return '<span class="muted">n/a</span>'
    return (
        f'<span class="nowrap">{esc(duration(spread.median))}</span>'
        f'<small class="p90">p90 {esc(duration(spread.p90))}</small>'
    )


def _tile(label: str, value: str, note: str = "") -> str:
    extra = f'<span class="note">{note}</span>' if note else ""
    return (
        f'<div class="tile"><span class="label">{esc(label)}</span>'
        f'<span class="value">{value}</span>{extra}</div>'
    )


def _share_tile(label: str, share: Share) -> str:
    """The share as a percentage, its counts beneath."""
    if share.ratio is None:
        return _tile(label, '<span class="muted">n/a</span>', "nothing to measure")
    return _tile(label, esc(f"{share.ratio:.0%}"), esc(f"{share.met} of {share.of}"))


def _review_label(report: Report) -> str:
    within = report.review_within
    if within is None:
        return "Reviews in time"
    hours = within / timedelta(hours=1)
    return f"Reviews within {hours:g} h"


def _tiles(report: Report) -> str:
    overall = report.overall
    items = overall.action_items
    return (
        '<div class="tiles">'
        + "".join(
            [
                _tile(
                    "Incidents",
                    str(overall.incidents),
                    esc(f"{overall.open} still open") if overall.open else "",
                ),
                _tile("MTTA (median)", _spread(overall.mtta)),
                _tile("MTTR (median)", _spread(overall.mttr)),
                _share_tile("Acknowledged in time", overall.ack_within_target),
                _share_tile("Update cadence kept", overall.updates_kept),
                _share_tile(_review_label(report), overall.reviews_within),
                _tile(
                    "Action items",
                    esc(f"{items.done} done"),
                    esc(f"{items.open} open, {items.overdue} overdue"),
                ),
            ]
        )
        + "</div>"
    )


def _charts(report: Report) -> str:
    trend = report.trend
    labels = [point.label for point in trend]
    line = line_chart(
        "chart-trend",
        "MTTA and MTTR over time (minutes, medians)",
        labels,
        [
            Series("MTTA", tuple(minutes(p.mtta_median) for p in trend), "mtta"),
            Series("MTTR", tuple(minutes(p.mttr_median) for p in trend), "mttr"),
        ],
    )
    bars = [
        Bar(key, figures.ack_within_target.met, figures.ack_within_target.of)
        for key, figures in report.by_severity.items()
    ]
    if report.by_severity:
        shares = report.overall.ack_within_target
        bars.append(Bar("All", shares.met, shares.of))
    targets = bar_chart("chart-targets", "Response targets met, per severity", bars)
    phases = box_chart(
        "chart-phases",
        "Phase durations against their time boxes (minutes, medians)",
        [
            BoxBar(
                phase.name,
                minutes(phase.reached.median),
                minutes(phase.within) or 0.0,
                phase.met.met,
                phase.met.of,
            )
            for phase in report.overall.phases
        ],
    )
    return f'<div class="charts">{line}{targets}{phases}</div>'


def _severity_rows(report: Report) -> list[list[str]]:
    scopes: list[tuple[str, Figures]] = list(report.by_severity.items())
    rows = [
        [
            severity_badge(key, rank),
            str(f.incidents),
            _spread(f.mtta),
            _spread(f.mttr),
            esc(share_text(f.ack_within_target)),
            esc(share_text(f.updates_kept)),
            esc(share_text(f.reviews_within)),
            esc(f"{f.action_items.open} / {f.action_items.overdue} / {f.action_items.done}"),
        ]
        for rank, (key, f) in enumerate(scopes)
    ]
    o = report.overall
    rows.append(
        [
            "<strong>All</strong>",
            str(o.incidents),
            _spread(o.mtta),
            _spread(o.mttr),
            esc(share_text(o.ack_within_target)),
            esc(share_text(o.updates_kept)),
            esc(share_text(o.reviews_within)),
            esc(f"{o.action_items.open} / {o.action_items.overdue} / {o.action_items.done}"),
        ]
    )
    return rows


def _none(title: str) -> str:
    return f'<section class="small"><h3>{esc(title)}</h3><p class="muted">None.</p></section>'


def _counts(title: str, head: str, pairs: tuple[tuple[str, int], ...]) -> str:
    if not pairs:
        return _none(title)
    return (
        f'<section class="small"><h3>{esc(title)}</h3>'
        + table([head, "Incidents"], ([esc(k), str(n)] for k, n in pairs))
        + "</section>"
    )


def _status_table(overall: Figures) -> str:
    keys = [s for s in STATUSES if s in overall.time_in_status or s in overall.status_time]
    keys += sorted(set(overall.time_in_status) - set(keys))
    rows = [
        [
            esc(key.capitalize()),
            esc(duration(overall.time_in_status.get(key))),
            _spread(overall.status_time.get(key, Spread())),
        ]
        for key in keys
    ]
    if not rows:
        return _none("Time in each status")
    return (
        '<section class="small"><h3>Time in each status</h3>'
        + table(["Status", "Total", "Per incident (median)"], rows)
        + "</section>"
    )


def _pages_table(overall: Figures) -> str:
    levels = sorted(set(overall.pages_per_level) | set(overall.reached_level))
    if not levels:
        return _none("Pages per level")
    rows = [
        [
            esc(level),
            str(overall.pages_per_level.get(level, 0)),
            str(overall.reached_level.get(level, 0)),
        ]
        for level in levels
    ]
    return (
        '<section class="small"><h3>Pages per level</h3>'
        + table(["Level", "Pages", "Incidents that needed it"], rows)
        + "</section>"
    )


def _stamp(moment: datetime, tz: ZoneInfo) -> str:
    return esc(format_time(moment, tz))


def render(period: Period, report: Report, tz: ZoneInfo) -> str:
    last_day = period.until - timedelta(microseconds=1)
    head = (
        f'<div class="heading"><h1>Report <span class="id">{esc(period.label)}</span></h1></div>'
        f'<p class="muted lede">Incidents declared from {_stamp(period.since, tz)} to '
        f"{_stamp(last_day, tz) if period.until > period.since else _stamp(period.until, tz)}, "
        "each measured against the policy it was declared under.</p>"
        f'<p class="muted small-print">Made {_stamp(report.generated_at, tz)}.</p>'
    )
    severity = table(
        [
            "Severity",
            "Incidents",
            "MTTA",
            "MTTR",
            "Ack within target",
            "Updates kept",
            "Reviews in time",
            "Action items open / overdue / done",
        ],
        _severity_rows(report),
        css="figures",
    )
    details = (
        '<div class="columns">'
        + _status_table(report.overall)
        + _pages_table(report.overall)
        + _counts("Top incident types", "Type", report.types)
        + _counts("Alert sources", "Source", report.sources)
        + "</div>"
    )
    return (
        head
        + period_form(period.label if not period.label.endswith("to date") else "this")
        + _tiles(report)
        + _charts(report)
        + f'<section><h2>Per severity</h2><div class="scroll">{severity}</div></section>'
        + f"<section><h2>Details</h2>{details}</section>"
    )
