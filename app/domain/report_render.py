"""The report against the plan as text: Markdown (for people and the Slack file upload), JSON
(stable keys, durations in whole seconds, for scripts and the dashboard) and CSV (one row per
scope and metric, for spreadsheets); and `summary_lines`, the few plain lines the Slack answer
and the plan-review DM show.

Pure. Nothing to measure reads "n/a" in Markdown and the summary, null in JSON and an empty
value in CSV. The only words from outside the policy are incident types and alert sources
(policy and runbook keys, alert source names); Markdown cells escape them all the same.

JSON and CSV are written by `app.domain.report_export` (its docstring names the CSV's columns).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from app.domain.report import Figures, Report, Share, Spread
from app.domain.report_export import STATUSES, as_csv, as_json

__all__ = [
    "FORMATS",
    "Format",
    "as_csv",
    "as_json",
    "duration",
    "render",
    "share_text",
    "summary_lines",
]

Format = Literal["md", "json", "csv"]
FORMATS: tuple[str, ...] = ("md", "json", "csv")
NA = "n/a"


def render(report: Report, fmt: str, tz: ZoneInfo | None = None) -> str:
    """The report as `fmt` (md, json or csv); ValueError for another format. `tz` (the bot's
    TIMEZONE; UTC when left out) is how Markdown shows times; JSON and CSV keep ISO 8601."""
    if fmt == "md":
        return markdown(report, tz or ZoneInfo("UTC"))
    if fmt == "json":
        return json.dumps(as_json(report), indent=2) + "\n"
    if fmt == "csv":
        return as_csv(report)
    raise ValueError(f"unknown report format {fmt!r} (known: {', '.join(FORMATS)})")


# ------------------------------------------------------------------------------------ words


def duration(value: timedelta | None) -> str:
    """``"45 s"``, ``"4 min 30 s"``, ``"1 h 05 min"``, ``"26 h"``; "n/a" for None. Hours are
    never rolled into days: the plan counts in hours."""
    if value is None:
        return NA
    seconds = max(int(value.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"


def share_text(share: Share) -> str:
    """``"3 of 4 (75%)"``; "n/a" when nothing was measured."""
    if share.ratio is None:
        return NA
    return f"{share.met} of {share.of} ({share.ratio:.0%})"


def _spread_text(spread: Spread) -> str:
    if spread.median is None:
        return NA
    return f"{duration(spread.median)} (p90 {duration(spread.p90)})"


def review_words(report: Report) -> str:
    """``"Reviews within 48 h"``, or "Reviews in time" when the snapshots' windows differ."""
    if report.review_within is None:
        return "Reviews in time"
    return f"Reviews within {duration(report.review_within)}"


def summary_lines(report: Report) -> list[str]:
    """A few plain-text lines (no markup): what the Slack answer and the plan-review DM say."""
    figures = report.overall
    name = report.label or "The period"
    still = f" ({figures.open} still open)" if figures.open else ""
    count = "1 incident" if figures.incidents == 1 else f"{figures.incidents} incidents"
    lines = [f"{name}: {count} declared{still}."]
    if figures.incidents:
        lines += [
            f"MTTA median {duration(figures.mtta.median)}, "
            f"MTTR median {duration(figures.mttr.median)}.",
            f"Acknowledged within the response target: {share_text(figures.ack_within_target)}.",
            f"{review_words(report)} of resolution: {share_text(figures.reviews_within)}.",
        ]
    return lines


# ------------------------------------------------------------------------------------ Markdown


def _cell(text: str) -> str:
    """A table cell: no pipe, newline or HTML ends the cell or adds markup."""
    text = " ".join(text.split())
    for char, escaped in (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(char, escaped)
    for char in "*_`[]#":
        text = text.replace(char, "\\" + char)
    return text


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _when(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _scopes(report: Report) -> list[tuple[str, Figures]]:
    return [("All", report.overall), *report.by_severity.items()]


def markdown(report: Report, tz: ZoneInfo) -> str:
    title = report.label or f"{_when(report.since, tz)} to {_when(report.until, tz)}"
    lines = [
        f"# Report against the plan: {title}",
        "",
        f"Incidents declared from {_when(report.since, tz)} until {_when(report.until, tz)} "
        f"({tz.key}), each measured against the policy it was declared under. "
        f"Generated {_when(report.generated_at, tz)}.",
        "",
    ]
    scopes = _scopes(report)
    items = [f.action_items for _, f in scopes]
    rows: list[tuple[str, list[str]]] = [
        ("Incidents", [str(f.incidents) for _, f in scopes]),
        ("Still open", [str(f.open) for _, f in scopes]),
        ("MTTA median", [duration(f.mtta.median) for _, f in scopes]),
        ("MTTA p90", [duration(f.mtta.p90) for _, f in scopes]),
        ("MTTR median", [duration(f.mttr.median) for _, f in scopes]),
        ("MTTR p90", [duration(f.mttr.p90) for _, f in scopes]),
        ("Acknowledged within target", [share_text(f.ack_within_target) for _, f in scopes]),
        ("Update cadence kept", [share_text(f.updates_kept) for _, f in scopes]),
        (review_words(report), [share_text(f.reviews_within) for _, f in scopes]),
        ("Action items open", [str(i.open) for i in items]),
        ("Action items overdue", [str(i.overdue) for i in items]),
        ("Action items done", [str(i.done) for i in items]),
    ]
    lines += ["## Per severity", ""]
    lines += _table(["", *(name for name, _ in scopes)], [[name, *row] for name, row in rows])
    lines += _phases_md(report)
    lines += ["## Time in each status", ""]
    status_rows = []
    for status in STATUSES:
        spread = report.overall.status_time.get(status, Spread())
        # Nothing to measure without incidents; with some, none in it is 0 s (as in JSON).
        none = timedelta() if report.overall.incidents else None
        total = report.overall.time_in_status.get(status, none)
        status_rows.append(
            [status.capitalize(), duration(total), str(spread.count), _spread_text(spread)]
        )
    lines += _table(["Status", "Total", "Incidents", "Median (p90)"], status_rows)
    lines += _pages_md(report)
    for heading, name, counted in (
        ("Top incident types", "Type", report.types),
        ("Top alert sources", "Source", report.sources),
    ):
        lines += [f"## {heading}", ""]
        if counted:
            lines += _table([name, "Incidents"], [[_cell(k), str(n)] for k, n in counted])
        else:
            lines += [NA, ""]
    lines += _trend_md(report)
    return "\n".join(lines).rstrip("\n") + "\n"


def _phases_md(report: Report) -> list[str]:
    lines = ["## The plan's phases", ""]
    phases = report.overall.phases
    if not phases:
        return lines + [NA, ""]
    lines += [
        "Each phase is due its time box after the declaration; an incident counts once it reached "
        "the phase's end, or once the box ran out without it.",
        "",
    ]
    severities = list(report.by_severity.items())
    rows = []
    for phase in phases:
        row = [
            _cell(phase.name),
            phase.ends.replace("_", " "),
            duration(phase.within),
            _spread_text(phase.reached),
            share_text(phase.met),
        ]
        for _, figures in severities:
            own = next((p for p in figures.phases if p.key == phase.key), None)
            row.append(share_text(own.met) if own is not None else NA)
        rows.append(row)
    head = ["Phase", "Ends at", "Time box", "Reached: median (p90)", "Within the box"]
    return lines + _table(head + [f"{key} within" for key, _ in severities], rows)


def _pages_md(report: Report) -> list[str]:
    lines = ["## Pages per level", ""]
    figures = report.overall
    levels = list(dict.fromkeys([*figures.pages_per_level, *figures.reached_level]))
    if not levels:
        return lines + [NA, ""]
    rows = [
        [
            _cell(level),
            str(figures.pages_per_level.get(level, 0)),
            str(figures.reached_level.get(level, 0)),
        ]
        for level in levels
    ]
    return lines + _table(["Level", "Pages", "Incidents that reached it"], rows)


def _trend_md(report: Report) -> list[str]:
    lines = ["## Trend", ""]
    if not report.trend:
        return lines + [NA, ""]
    rows = [
        [
            point.label,
            str(point.incidents),
            duration(point.mtta_median),
            duration(point.mttr_median),
            share_text(point.ack_within_target),
        ]
        for point in report.trend
    ]
    head = ["From", "Incidents", "MTTA median", "MTTR median", "Acknowledged within target"]
    return lines + _table(head, rows)
