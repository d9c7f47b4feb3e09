"""One incident's facts, as the report reads them, and what they measure against its own plan.

`IncidentFacts` holds plain values (the store reads them: `app.store.reports`); `measure`
turns one into a `Measures`, every figure the report sums. All of it is read against the
incident's own policy (`Policy.from_snapshot(incident.policy_snapshot)`), never the current
one: editing the policy does not rewrite history. "Now" is when the report is made: an incident
declared in the period is measured with everything known by then.

The definitions (docs/reports.md says the same for people):

- **MTTA**: acknowledged_at - started_at, for acknowledged incidents. **MTTR**: resolved_at -
  started_at, for incidents resolved now (a reopened one counts from its final resolution; a
  still-open one is left out).
- **Acknowledged within target**: answered (the first acknowledgement, or the first resolution
  when it came before any acknowledgement: the bot stops paging then too) within the response
  target of the severity in force at that moment (the target moves with the severity until
  answered, as the bot's own warning does). Unanswered: missed once the target has passed,
  not counted before.
- **Time in each status**: from the declaration, the timeline's status_changed (its data's
  "to"), resolved and reopened entries; time spent resolved counts for no status.
- **Phases** (the snapshot's `phases`): time from the declaration to the phase's end:
  ``acknowledged`` is answered as above, ``first_update`` the first status update,
  ``mitigating`` the first move to Mitigating or the first resolution (a fix may skip
  Mitigating), ``resolved`` the final resolution. Within the box: reached within `within`;
  not reached: missed once `within` has passed, not counted before.
- **Update cadence kept** (severities with `update_every`; the severity the incident has now):
  while open, no gap longer than update_every between the declaration (or a reopening), each
  status update, and the resolution (or now).
- **Review within**: resolved incidents; held within the snapshot's review_within of the
  resolution; not held: missed once that window has passed, not counted before.
- **Action items**: open (not done, overdue included), overdue (not done, due before today in
  the bot's time zone), done.
- **Pages**: the timeline's paged entries, by their data's "level" (a backup page is a page of
  its level; the e-mail record of a page already counted, data "channel", is not another).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from app.domain.lifecycle import INVESTIGATING, MITIGATING, RESOLVED
from app.domain.policy import Policy
from app.domain.policy.reporting import Phase
from app.domain.timeline import Kind

__all__ = ["READ_KINDS", "Entry", "IncidentFacts", "ItemFacts", "Measures", "measure"]

# The timeline kinds the report reads (the store reads only these).
READ_KINDS: tuple[str, ...] = (
    Kind.STATUS_CHANGED,
    Kind.RESOLVED,
    Kind.REOPENED,
    Kind.UPDATE,
    Kind.PAGED,
    Kind.ACKNOWLEDGED,
    Kind.SEVERITY_CHANGED,
)


class Entry(NamedTuple):
    """A timeline entry: its kind, when it happened, its data."""

    kind: str
    at: datetime
    data: dict[str, Any]


class ItemFacts(NamedTuple):
    due_on: date | None
    done: bool


@dataclass(frozen=True)
class IncidentFacts:
    """An incident as the report reads it. `timeline` in the order things happened."""

    id: int
    public_id: str
    severity: str
    status: str
    started_at: datetime
    policy: Policy
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    review_held_at: datetime | None = None
    incident_type: str | None = None
    timeline: tuple[Entry, ...] = ()
    action_items: tuple[ItemFacts, ...] = ()
    alert_sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhaseMeasure:
    phase: Phase
    reached: timedelta | None  # after the declaration; None: not (yet) reached
    met: bool | None  # None: not reached and its box has not run out


@dataclass(frozen=True)
class Measures:
    """What one incident contributes to each figure (None: not counted)."""

    mtta: timedelta | None
    mttr: timedelta | None
    ack_within_target: bool | None
    status_time: dict[str, timedelta]
    phases: tuple[PhaseMeasure, ...]
    updates_kept: bool | None
    review_within: bool | None
    items_open: int = 0
    items_overdue: int = 0
    items_done: int = 0
    pages: dict[str, int] = field(default_factory=dict)


def _first(facts: IncidentFacts, kind: str, **data: Any) -> datetime | None:
    for entry in facts.timeline:
        if entry.kind == kind and all(entry.data.get(k) == v for k, v in data.items()):
            return entry.at
    return None


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return min(known) if known else None


def severity_at(facts: IncidentFacts, moment: datetime) -> str:
    """The severity the incident had at `moment`, from its severity_changed entries."""
    changes = [e for e in facts.timeline if e.kind == Kind.SEVERITY_CHANGED]
    if not changes:
        return facts.severity
    current = str(changes[0].data.get("from") or facts.severity)
    for entry in changes:
        if entry.at > moment:
            break
        current = str(entry.data.get("to") or current)
    return current


def answered_at(facts: IncidentFacts) -> datetime | None:
    """The first acknowledgement, or the first resolution if it came first."""
    acked = facts.acknowledged_at or _first(facts, Kind.ACKNOWLEDGED)
    return _earliest(acked, _first(facts, Kind.RESOLVED))


def _within(
    start: datetime, reached: datetime | None, box: timedelta, now: datetime
) -> bool | None:
    if reached is not None:
        return reached - start <= box
    return False if now - start > box else None


def _ack_within_target(facts: IncidentFacts, now: datetime) -> bool | None:
    answered = answered_at(facts)
    severity = facts.policy.severities.get(severity_at(facts, answered or now))
    if severity is None:
        return None
    return _within(facts.started_at, answered, severity.response_target, now)


def _segments(facts: IncidentFacts, now: datetime) -> list[tuple[str, datetime, datetime]]:
    """(status, from, to) for each stretch of the incident's life up to now."""
    moves: list[tuple[datetime, str]] = []
    for entry in facts.timeline:
        if entry.kind == Kind.STATUS_CHANGED and entry.data.get("to"):
            moves.append((entry.at, str(entry.data["to"])))
        elif entry.kind == Kind.RESOLVED:
            moves.append((entry.at, RESOLVED))
        elif entry.kind == Kind.REOPENED:
            moves.append((entry.at, INVESTIGATING))
    stretches = []
    status, since = INVESTIGATING, facts.started_at
    for at, target in moves:
        at = max(at, since)
        if at > since:
            stretches.append((status, since, at))
        status, since = target, at
    end = max(now, since)
    if end > since:
        stretches.append((status, since, end))
    return stretches


def _status_time(stretches: list[tuple[str, datetime, datetime]]) -> dict[str, timedelta]:
    spent: dict[str, timedelta] = {}
    for status, start, end in stretches:
        if status != RESOLVED:
            spent[status] = spent.get(status, timedelta()) + (end - start)
    return spent


def _updates_kept(
    facts: IncidentFacts, stretches: list[tuple[str, datetime, datetime]]
) -> bool | None:
    severity = facts.policy.severities.get(facts.severity)
    every = severity.update_every if severity is not None else None
    if every is None:
        return None
    updates = sorted(e.at for e in facts.timeline if e.kind == Kind.UPDATE)
    # The open stretches, joined: investigating then mitigating is one stretch of being open.
    open_spans: list[tuple[datetime, datetime]] = []
    for status, start, end in stretches:
        if status == RESOLVED:
            continue
        if open_spans and open_spans[-1][1] == start:
            open_spans[-1] = (open_spans[-1][0], end)
        else:
            open_spans.append((start, end))
    for start, end in open_spans:
        points = [start, *(u for u in updates if start < u < end), end]
        if any(b - a > every for a, b in zip(points, points[1:], strict=False)):
            return False
    return True


def _milestones(facts: IncidentFacts) -> dict[str, datetime | None]:
    first_resolved = _first(facts, Kind.RESOLVED)
    return {
        "acknowledged": answered_at(facts),
        "first_update": _first(facts, Kind.UPDATE),
        "mitigating": _earliest(_first(facts, Kind.STATUS_CHANGED, to=MITIGATING), first_resolved),
        "resolved": facts.resolved_at if facts.status == RESOLVED else None,
    }


def _phases(facts: IncidentFacts, now: datetime) -> tuple[PhaseMeasure, ...]:
    reached = _milestones(facts)
    measures = []
    for phase in facts.policy.phases:
        at = reached.get(phase.ends)
        measures.append(
            PhaseMeasure(
                phase,
                at - facts.started_at if at is not None else None,
                _within(facts.started_at, at, phase.within, now),
            )
        )
    return tuple(measures)


def _review_within(facts: IncidentFacts, now: datetime) -> bool | None:
    if facts.status != RESOLVED or facts.resolved_at is None:
        return None
    window = facts.policy.review_within
    held = facts.review_held_at
    if held is not None:
        return held <= facts.resolved_at + window
    return False if now > facts.resolved_at + window else None


def _pages(facts: IncidentFacts) -> dict[str, int]:
    pages: dict[str, int] = {}
    for entry in facts.timeline:
        level = entry.data.get("level")
        if entry.kind == Kind.PAGED and isinstance(level, str) and "channel" not in entry.data:
            pages[level] = pages.get(level, 0) + 1
    return pages


def measure(facts: IncidentFacts, now: datetime, today: date) -> Measures:
    """Everything one incident contributes to the report (see the module's docstring)."""
    resolved = facts.status == RESOLVED and facts.resolved_at is not None
    acked = facts.acknowledged_at
    stretches = _segments(facts, now)
    items = facts.action_items
    return Measures(
        mtta=acked - facts.started_at if acked is not None else None,
        mttr=facts.resolved_at - facts.started_at if resolved and facts.resolved_at else None,
        ack_within_target=_ack_within_target(facts, now),
        status_time=_status_time(stretches),
        phases=_phases(facts, now),
        updates_kept=_updates_kept(facts, stretches),
        review_within=_review_within(facts, now),
        items_open=sum(not i.done for i in items),
        items_overdue=sum(not i.done and i.due_on is not None and i.due_on < today for i in items),
        items_done=sum(i.done for i in items),
        pages=_pages(facts),
    )
