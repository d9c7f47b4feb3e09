"""The report against the plan (issue 18), as values: what a period's incidents did, measured
against each incident's own policy snapshot, per severity and overall.

Pure: `app.services.reports` reads the store into `IncidentFacts` and calls `compute`;
`app.domain.report_render` writes a report as Markdown, JSON or CSV; the dashboard charts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

__all__ = [
    "ActionItemFigures",
    "Figures",
    "PhaseFigures",
    "Report",
    "Share",
    "Spread",
    "TrendPoint",
]


@dataclass(frozen=True)
class Spread:
    """A duration's distribution over `count` incidents (None when there are none)."""

    count: int = 0
    median: timedelta | None = None
    p90: timedelta | None = None


@dataclass(frozen=True)
class Share:
    """`met` of `of` incidents kept a rule (acknowledged within the target...)."""

    met: int = 0
    of: int = 0

    @property
    def ratio(self) -> float | None:
        return self.met / self.of if self.of else None


@dataclass(frozen=True)
class PhaseFigures:
    """One of the plan's phases: how long incidents took to reach its end, and how many did
    within its time box."""

    key: str
    name: str
    within: timedelta
    reached: Spread = Spread()
    met: Share = Share()
    ends: str = ""  # the milestone that ends it (acknowledged, first_update, mitigating, resolved)


@dataclass(frozen=True)
class ActionItemFigures:
    open: int = 0
    overdue: int = 0
    done: int = 0


@dataclass(frozen=True)
class Figures:
    """The figures of one severity, or of all."""

    incidents: int = 0
    open: int = 0  # still open when the report was made
    mtta: Spread = Spread()
    mttr: Spread = Spread()
    ack_within_target: Share = Share()
    time_in_status: dict[str, timedelta] = field(default_factory=dict)  # summed over incidents
    status_time: dict[str, Spread] = field(default_factory=dict)  # per incident that was in it
    phases: tuple[PhaseFigures, ...] = ()
    updates_kept: Share = Share()
    reviews_within: Share = Share()
    action_items: ActionItemFigures = ActionItemFigures()
    pages_per_level: dict[str, int] = field(default_factory=dict)
    reached_level: dict[str, int] = field(default_factory=dict)  # incidents that paged it


@dataclass(frozen=True)
class TrendPoint:
    """One bucket (a week, or a month for long periods) of the period, for the charts."""

    label: str
    since: datetime
    until: datetime
    incidents: int = 0
    mtta_median: timedelta | None = None
    mttr_median: timedelta | None = None
    ack_within_target: Share = Share()


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    generated_at: datetime
    label: str = ""  # the period's name ("2026Q3")
    overall: Figures = Figures()
    by_severity: dict[str, Figures] = field(default_factory=dict)  # most severe first
    types: tuple[tuple[str, int], ...] = ()  # most frequent first
    sources: tuple[tuple[str, int], ...] = ()  # alert sources, most frequent first
    trend: tuple[TrendPoint, ...] = ()
    today: date | None = None  # what "overdue" was measured against
    # The review window of the incidents' snapshots when they all agree (the "48 h" of
    # "reviews within 48 h"); None when they differ or there are no incidents.
    review_within: timedelta | None = None
