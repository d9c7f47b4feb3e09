"""The report's sums: incidents' measures (`app.domain.report_facts`) into a `Report`, per
severity and overall, with the trend and the top incident types and alert sources.

- Incidents are those declared (started_at) in [since, until), grouped by the severity they
  have now.
- **Median**: the middle value, or the mean of the two middle ones. **p90**: nearest rank,
  the smallest value that at least 90% of the values do not exceed (the ceil(0.9 n)-th of
  the sorted values); with one incident both are its value.
- **Trend**: weekly buckets (from Monday 00:00 in the bot's time zone, the first and last
  clipped to the period) for periods up to 92 days, calendar months beyond; an incident falls
  in the bucket of its declaration.
- **Top types and sources**: incidents per incident_type (none: not listed), and incidents
  per alert source (an incident with several alerts of one source counts once), the 10 most
  frequent, ties by name.
- **Phases**: grouped by key across snapshots, each incident against its own time box; the
  box shown is the current policy's (or, for a phase it no longer has, the latest
  snapshot's); the current policy's phases first, in its order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.domain.periods import month_start
from app.domain.policy import Policy
from app.domain.policy.reporting import Phase
from app.domain.report import (
    ActionItemFigures,
    Figures,
    PhaseFigures,
    Report,
    Share,
    Spread,
    TrendPoint,
)
from app.domain.report_facts import IncidentFacts, Measures, measure

__all__ = ["WEEKLY_UP_TO", "buckets", "compute", "median", "p90", "share", "spread"]

WEEKLY_UP_TO = timedelta(days=92)
TOP = 10


def median(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def p90(values: Sequence[timedelta]) -> timedelta | None:
    """Nearest rank: the ceil(0.9 n)-th smallest."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-90 * len(ordered) // 100)
    return ordered[rank - 1]


def spread(values: Iterable[timedelta | None]) -> Spread:
    known = [v for v in values if v is not None]
    return Spread(count=len(known), median=median(known), p90=p90(known))


def share(values: Iterable[bool | None]) -> Share:
    known = [v for v in values if v is not None]
    return Share(met=sum(known), of=len(known))


def _phase_figures(
    measured: Sequence[Measures], shown: dict[str, Phase]
) -> tuple[PhaseFigures, ...]:
    grouped: dict[str, list[tuple[timedelta | None, bool | None]]] = {}
    for m in measured:
        for pm in m.phases:
            grouped.setdefault(pm.phase.key, []).append((pm.reached, pm.met))
    figures = []
    for key, phase in shown.items():
        if key not in grouped:
            continue
        values = grouped[key]
        figures.append(
            PhaseFigures(
                key=key,
                name=phase.name,
                within=phase.within,
                ends=phase.ends,
                reached=spread(r for r, _ in values),
                met=share(met for _, met in values),
            )
        )
    return tuple(figures)


def _ordered(counts: Counter[str], order: Sequence[str]) -> dict[str, int]:
    rank = {key: n for n, key in enumerate(order)}
    keys = sorted(counts, key=lambda k: (rank.get(k, len(rank)), len(k), k))
    return {key: counts[key] for key in keys}


def figures(
    measured: Sequence[Measures], shown: dict[str, Phase], levels: Sequence[str]
) -> Figures:
    """The figures of some incidents' measures (one severity's, or all)."""
    status_time: dict[str, list[timedelta]] = {}
    for m in measured:
        for status, spent in m.status_time.items():
            status_time.setdefault(status, []).append(spent)
    pages: Counter[str] = Counter()
    reached: Counter[str] = Counter()
    for m in measured:
        pages.update(m.pages)
        reached.update(m.pages.keys())
    return Figures(
        incidents=len(measured),
        open=sum(m.mttr is None for m in measured),
        mtta=spread(m.mtta for m in measured),
        mttr=spread(m.mttr for m in measured),
        ack_within_target=share(m.ack_within_target for m in measured),
        time_in_status={s: sum(v, timedelta()) for s, v in status_time.items()},
        status_time={s: spread(v) for s, v in status_time.items()},
        phases=_phase_figures(measured, shown),
        updates_kept=share(m.updates_kept for m in measured),
        reviews_within=share(m.review_within for m in measured),
        action_items=ActionItemFigures(
            open=sum(m.items_open for m in measured),
            overdue=sum(m.items_overdue for m in measured),
            done=sum(m.items_done for m in measured),
        ),
        pages_per_level=_ordered(pages, levels),
        reached_level=_ordered(reached, levels),
    )


def buckets(since: datetime, until: datetime, tz: ZoneInfo) -> list[tuple[str, datetime, datetime]]:
    """(label, from, to) covering [since, until): weeks (labelled by their first day in the
    period) up to 92 days, months ("2026-07") beyond."""
    start = since.astimezone(tz)
    found = []
    # On the wall clock of `tz`: a quarter across the end of summer time is 92 days, not 92
    # and an hour, whatever zone the bounds are given in.
    wall = until.astimezone(tz).replace(tzinfo=None) - start.replace(tzinfo=None)
    if wall <= WEEKLY_UP_TO:
        monday = datetime.combine(
            (start - timedelta(days=start.weekday())).date(), datetime.min.time(), tzinfo=tz
        )
        edge = monday
        while edge < until:
            following = datetime.combine(
                (edge + timedelta(days=7, hours=12)).date(), datetime.min.time(), tzinfo=tz
            )
            low, high = max(edge, start), min(following, until)
            if low < high:
                found.append((low.date().isoformat(), low, high))
            edge = following
        return found
    year, month = start.year, start.month
    edge = month_start(year, month, tz)
    while edge < until:
        month += 1
        following = month_start(year, month, tz)
        low, high = max(edge, start), min(following, until)
        if low < high:
            found.append((low.strftime("%Y-%m"), low, high))
        edge = following
    return found


def _trend(
    pairs: Sequence[tuple[IncidentFacts, Measures]], since: datetime, until: datetime, tz: ZoneInfo
) -> tuple[TrendPoint, ...]:
    points = []
    for label, low, high in buckets(since, until, tz):
        inside = [m for f, m in pairs if low <= f.started_at < high]
        points.append(
            TrendPoint(
                label=label,
                since=low,
                until=high,
                incidents=len(inside),
                mtta_median=median([m.mtta for m in inside if m.mtta is not None]),
                mttr_median=median([m.mttr for m in inside if m.mttr is not None]),
                ack_within_target=share(m.ack_within_target for m in inside),
            )
        )
    return tuple(points)


def _top(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP])


def _shown_phases(policy: Policy, facts: Sequence[IncidentFacts]) -> dict[str, Phase]:
    shown = {phase.key: phase for phase in policy.phases}
    for incident in sorted(facts, key=lambda f: f.started_at, reverse=True):
        for phase in incident.policy.phases:
            shown.setdefault(phase.key, phase)
    return shown


def compute(
    facts: Sequence[IncidentFacts],
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    tz: ZoneInfo,
    policy: Policy,
    label: str = "",
) -> Report:
    """The report of the incidents among `facts` declared in [since, until), as of `now`;
    `policy` (the current one) orders severities, levels and phases."""
    today = now.astimezone(tz).date()
    inside = sorted(
        (f for f in facts if since <= f.started_at < until), key=lambda f: (f.started_at, f.id)
    )
    pairs = [(f, measure(f, now, today)) for f in inside]
    shown = _shown_phases(policy, inside)
    levels = [level.key for level in policy.escalation.levels]
    severities = list(policy.severity_keys)
    severities += sorted({f.severity for f in inside} - set(severities))
    by_severity = {
        key: figures([m for f, m in pairs if f.severity == key], shown, levels)
        for key in severities
    }
    windows = {f.policy.review_within for f in inside} or {policy.review_within}
    types = Counter(f.incident_type for f in inside if f.incident_type)
    sources = Counter(source for f in inside for source in set(f.alert_sources))
    return Report(
        since=since,
        until=until,
        generated_at=now,
        label=label,
        overall=figures([m for _, m in pairs], shown, levels),
        by_severity=by_severity,
        types=_top(types),
        sources=_top(sources),
        trend=_trend(pairs, since, until, tz),
        today=today,
        review_within=windows.pop() if len(windows) == 1 else None,
    )
