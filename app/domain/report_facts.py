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
  when it came before any acknowledgement: the bot stops paging then too) before the response
  target of the severity in force ran out, at every moment until then: raised past its target
  it is missed at once, and lowered after its target ran out it stays missed (the bot's
  warning fires once). Unanswered: missed once a target has run out, not counted before.
- **Time in each status**: from the declaration, the timeline's status_changed (its data's
  "to"), resolved and reopened entries; time spent resolved counts for no status.
- **Status update**: an `/incident update` (a `update` entry). A status page publication is
  also an `update` entry (its data has "statuspage"): customer communication, not the
  stakeholders' update; the bot's update reminder does not count it either, nor does the report.
- **Phases** (the snapshot's `phases`): time from the declaration to the phase's end:
  ``acknowledged`` is answered as above, ``first_update`` the first status update,
  ``mitigating`` the first move to Mitigating or the first resolution (a fix may skip
  Mitigating), ``resolved`` the final resolution. Within the box: reached within `within`;
  not reached: missed once `within` has passed, not counted before.
- **Update cadence kept**: while open, no gap between the declaration (or a reopening), each
  status update or status change (both restart the bot's reminder) and the resolution (or now)
  outran the `update_every` of the severity in force at that moment. Declared outside working
  hours with L1 paged later (next_working_hours), the first gap counts from that page, as the
  bot's first reminder does. Counted for incidents with a channel that were open under a
  severity with `update_every`.
- **Review within**: resolved incidents with a channel (the review reminder and its "Mark
  review held" button live there: an incident without one has no review to hold); held within
  the snapshot's review_within of the resolution; not held: missed once that window has
  passed, not counted before.
- **Action items**: open (not done, overdue included), overdue (not done, due before today in
  the bot's time zone), done.
- **Pages**: the timeline's paged entries, by their data's "level" (a backup page is a page of
  its level; the e-mail record of a page already counted, data "channel", is not another; a
  level skipped for having nobody to page is no page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from app.domain.lifecycle import INVESTIGATING, MITIGATING, RESOLVED
from app.domain.policy import Policy
from app.domain.policy.reporting import Phase
from app.domain.timeline import Kind

__all__ = [
    "READ_KINDS",
    "Entry",
    "IncidentFacts",
    "ItemFacts",
    "Measures",
    "answered_at",
    "is_update",
    "measure",
]

# The timeline kinds the report reads (the store reads only these).
READ_KINDS: tuple[str, ...] = (
    Kind.STATUS_CHANGED,
    Kind.RESOLVED,
    Kind.REOPENED,
    Kind.UPDATE,
    Kind.PAGED,
    Kind.ACKNOWLEDGED,
    Kind.SEVERITY_CHANGED,
    Kind.ESCALATION_SKIPPED,
)
# A status page publication's `update` entry carries this data key.
STATUSPAGE = "statuspage"
# ESCALATION_SKIPPED's data at a declaration outside working hours whose L1 is paged later.
DEFERRED = "next_working_hours"

Stretch = tuple[str, datetime, datetime]  # (status or severity, from, to)


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
    has_channel: bool = True  # False: its severity opens none (`channel: false`)


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


def is_update(entry: Entry) -> bool:
    """A status update (`/incident update`), not a status page publication."""
    return entry.kind == Kind.UPDATE and STATUSPAGE not in entry.data


def _first(facts: IncidentFacts, kind: str, **data: Any) -> datetime | None:
    for entry in facts.timeline:
        if entry.kind == kind and all(entry.data.get(k) == v for k, v in data.items()):
            return entry.at
    return None


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return min(known) if known else None


def _severities(facts: IncidentFacts, now: datetime) -> list[Stretch]:
    """(severity, from, to) from the declaration to `now`, from the severity_changed entries."""
    changes = [e for e in facts.timeline if e.kind == Kind.SEVERITY_CHANGED]
    severity = str(changes[0].data.get("from") or facts.severity) if changes else facts.severity
    stretches: list[Stretch] = []
    since = facts.started_at
    for entry in changes:
        at = max(entry.at, since)
        stretches.append((severity, since, at))
        severity, since = str(entry.data.get("to") or severity), at
    stretches.append((severity, since, max(now, since)))
    return stretches


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
    end = answered or now
    judged = False
    for key, low, high in _severities(facts, end):
        severity = facts.policy.severities.get(key)
        if severity is None or (low >= end and low > facts.started_at):
            continue  # not a severity of the snapshot, or one it had only after the answer
        judged = True
        if min(high, end) - facts.started_at > severity.response_target:
            return False
    if not judged:
        return None
    return True if answered is not None else None


def _segments(facts: IncidentFacts, now: datetime) -> list[Stretch]:
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


def _status_time(stretches: list[Stretch]) -> dict[str, timedelta]:
    spent: dict[str, timedelta] = {}
    for status, start, end in stretches:
        if status != RESOLVED:
            spent[status] = spent.get(status, timedelta()) + (end - start)
    return spent


def _open_spans(facts: IncidentFacts, stretches: list[Stretch]) -> list[tuple[datetime, datetime]]:
    """The open stretches, joined (investigating then mitigating is one stretch of being
    open); the first starts at L1's page when working hours deferred it."""
    spans: list[tuple[datetime, datetime]] = []
    for status, start, end in stretches:
        if status == RESOLVED:
            continue
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    deferred = _deferred_page(facts)
    if spans and deferred is not None and deferred > spans[0][0]:
        spans[0] = (deferred, max(deferred, spans[0][1]))
    return spans


def _deferred_page(facts: IncidentFacts) -> datetime | None:
    """When L1 was paged, for an incident declared outside working hours whose severity pages
    at their next start (`outside_hours: next_working_hours`)."""
    for entry in facts.timeline:
        if entry.kind == Kind.ESCALATION_SKIPPED and entry.data.get("outside_hours") == DEFERRED:
            try:
                paged = datetime.fromisoformat(str(entry.data.get("paged_at")))
            except ValueError:
                return None
            return paged if paged.tzinfo is not None else paged.replace(tzinfo=UTC)
    return None


def _updates_kept(facts: IncidentFacts, stretches: list[Stretch], now: datetime) -> bool | None:
    if not facts.has_channel:
        return None  # no channel to post an update in, nor to remind in
    touches = sorted(e.at for e in facts.timeline if is_update(e) or e.kind == Kind.STATUS_CHANGED)
    cadences = [
        (every, low, high)
        for key, low, high in _severities(facts, now)
        if (severity := facts.policy.severities.get(key)) and (every := severity.update_every)
    ]
    judged = False
    for start, end in _open_spans(facts, stretches):
        points = [start, *(t for t in touches if start < t < end), end]
        for a, b in zip(points, points[1:], strict=False):
            # The gap (a, b] against the cadence in force at each of its moments.
            for every, low, high in cadences:
                if min(high, b) <= max(low, a):
                    continue
                judged = True
                if min(high, b) - a > every:
                    return False
    return True if judged else None


def _milestones(facts: IncidentFacts) -> dict[str, datetime | None]:
    first_resolved = _first(facts, Kind.RESOLVED)
    return {
        "acknowledged": answered_at(facts),
        "first_update": next((e.at for e in facts.timeline if is_update(e)), None),
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
    if facts.status != RESOLVED or facts.resolved_at is None or not facts.has_channel:
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
        updates_kept=_updates_kept(facts, stretches, now),
        review_within=_review_within(facts, now),
        items_open=sum(not i.done for i in items),
        items_overdue=sum(not i.done and i.due_on is not None and i.due_on < today for i in items),
        items_done=sum(i.done for i in items),
        pages=_pages(facts),
    )
