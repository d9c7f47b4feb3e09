"""The words of the report against the plan in Slack: `/incident report`'s answers and the
file's comment, and the quarterly plan-review reminder (what to look at, from the figures).

A report holds aggregates only (counts, durations, the policy's severities, types and alert
sources), never an incident's title; every line still goes through `escape` before it is put
in mrkdwn, as everything the bot did not write itself does.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.report import Figures, Report, Share
from app.domain.report_render import duration
from app.domain.text import link
from app.ui.common import escape

__all__ = [
    "building",
    "delivered",
    "no_period",
    "plan_review_comment",
    "report_comment",
    "report_title",
    "review_points",
]

# Slack shows an upload's initial comment as a message: keep it well inside a message's text.
COMMENT_MAX = 3500
REVIEW_FREQUENCY = "Review Frequency: Quarterly"


def building(label: str) -> str:
    return f"Building the report for {escape(label)}…"


def no_period(reason: str) -> str:
    return (
        f"{escape(reason)}\nUse `/incident report` (the last full quarter), "
        "`/incident report 2026Q3`, `/incident report Q3` or `/incident report this`."
    )


def report_title(label: str) -> str:
    return f"Report against the plan, {label}"


def delivered(label: str, filename: str, permalink: str | None) -> str:
    """Where the file went: the person's DM with the bot (the file linked when Slack said)."""
    name = link(permalink, filename) if permalink else f"`{escape(filename)}`"
    return f"The report for {escape(label)} is in your direct messages with me: {name}."


def _lines(lines: Sequence[str]) -> str:
    return "\n".join(f"• {escape(line)}" for line in lines)


def _clip(text: str) -> str:
    return text if len(text) <= COMMENT_MAX else text[: COMMENT_MAX - 1] + "…"


def report_comment(label: str, summary: Sequence[str]) -> str:
    """The uploaded file's comment: its title and the summary lines."""
    head = f"*{escape(report_title(label))}*"
    return _clip(f"{head}\n{_lines(summary)}" if summary else head)


def plan_review_comment(label: str, summary: Sequence[str], points: Sequence[str]) -> str:
    """The owner's quarterly reminder: why now, the quarter in figures, what to look at."""
    parts = [
        "*Time for the quarterly review of the incident-response plan* "
        f"(the plan's _{REVIEW_FREQUENCY}_). {escape(label)} is over; its report is attached.",
    ]
    if summary:
        parts.append(f"*{escape(label)} in figures*\n{_lines(summary)}")
    parts.append(f"*What to look at*\n{_lines(points)}")
    parts.append(
        "Then check the plan itself: severities and response targets, the escalation levels "
        "and their contacts, the on-call schedules, the phases' time boxes and the runbooks."
    )
    return _clip("\n\n".join(parts))


def _missed(share: Share) -> int:
    return share.of - share.met


def review_points(report: Report) -> list[str]:
    """What the owner should look at first: each target missed, each phase over its box, the
    overdue action items, worst first within each kind. Plain text (escaped by the caller)."""
    overall = report.overall
    if overall.incidents == 0:
        return [
            "No incidents this quarter: make sure the plan still matches the team (contacts, "
            "schedules, who declares)."
        ]
    points = _target_points(overall, report)
    for severity, figures in report.by_severity.items():  # most severe first
        if (missed := _missed(figures.ack_within_target)) > 0:
            points.append(
                f"{severity}: {missed} of {figures.ack_within_target.of} not acknowledged "
                "within its response target"
            )
    over = [
        (phase.met.of - phase.met.met, phase)
        for phase in overall.phases
        if phase.met.of and phase.met.met < phase.met.of
    ]
    for count, phase in sorted(over, key=lambda pair: -pair[0]):
        points.append(
            f"{phase.name} phase over its {duration(phase.within)} box in "
            f"{count} of {phase.met.of} incidents"
        )
    items = overall.action_items
    if items.overdue:
        points.append(
            f"{items.overdue} action items overdue ({items.open} open, {items.done} done)"
        )
    return points or ["Every target and time box was met this quarter."]


def _target_points(figures: Figures, report: Report) -> list[str]:
    points = []
    if (missed := _missed(figures.ack_within_target)) > 0:
        points.append(
            f"{missed} of {figures.ack_within_target.of} incidents not acknowledged within "
            "their response target"
        )
    if (missed := _missed(figures.updates_kept)) > 0:
        points.append(f"{missed} of {figures.updates_kept.of} incidents missed the update cadence")
    if (missed := _missed(figures.reviews_within)) > 0:
        window = duration(report.review_within) if report.review_within else "the plan's window"
        points.append(f"{missed} of {figures.reviews_within.of} reviews not held within {window}")
    return points
