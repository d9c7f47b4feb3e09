"""The report's reads: a period's incidents with what the report needs of them, in four
queries whatever the number of incidents (the incidents; their timeline entries of the kinds
the report reads; their action items; their alerts' sources). bench/report.py measures them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import ActionItem, AlertLink, Incident, TimelineEntry

__all__ = ["PeriodRows", "StoredIncident", "read_period"]


@dataclass(frozen=True)
class StoredIncident:
    id: int
    public_id: str
    severity: str
    status: str
    started_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    review_held_at: datetime | None
    incident_type: str | None
    has_channel: bool
    # The policy snapshot as the database holds it (JSON text): most incidents share a few
    # snapshots, so the service decodes each distinct text once (decoding 2,000 was most of
    # the report's time).
    snapshot_text: str


@dataclass
class PeriodRows:
    """The period's incidents, declaration order, and their rows by incident id."""

    incidents: list[StoredIncident] = field(default_factory=list)
    # (kind, occurred_at, data) in the order they happened
    entries: dict[int, list[tuple[str, datetime, dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    items: dict[int, list[tuple[date | None, bool]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    sources: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))


async def read_period(
    session: AsyncSession, since: datetime, until: datetime, kinds: tuple[str, ...]
) -> PeriodRows:
    """The incidents declared in [since, until), their entries of `kinds` (deleted ones left
    out), action items and alert sources."""
    rows = PeriodRows()
    declared = (Incident.started_at >= since, Incident.started_at < until)
    ids = select(Incident.id).where(*declared).scalar_subquery()
    found = await session.execute(
        select(
            Incident.id,
            Incident.public_id,
            Incident.severity,
            Incident.status,
            Incident.started_at,
            Incident.acknowledged_at,
            Incident.resolved_at,
            Incident.review_held_at,
            Incident.incident_type,
            Incident.channel_id.is_not(None),
            cast(Incident.policy_snapshot, Text),
        )
        .where(*declared)
        .order_by(Incident.started_at, Incident.id)
    )
    rows.incidents = [StoredIncident(*tuple(row)) for row in found]
    if not rows.incidents:
        return rows
    entries = await session.execute(
        select(
            TimelineEntry.incident_id,
            TimelineEntry.kind,
            TimelineEntry.occurred_at,
            TimelineEntry.data,
        )
        .where(
            TimelineEntry.incident_id.in_(ids),
            TimelineEntry.kind.in_(kinds),
            TimelineEntry.deleted.is_(False),
        )
        .order_by(TimelineEntry.incident_id, TimelineEntry.occurred_at, TimelineEntry.id)
    )
    for incident_id, kind, occurred_at, data in entries:
        rows.entries[incident_id].append((kind, occurred_at, data or {}))
    items = await session.execute(
        select(ActionItem.incident_id, ActionItem.due_on, ActionItem.done)
        .where(ActionItem.incident_id.in_(ids))
        .order_by(ActionItem.incident_id, ActionItem.id)
    )
    for incident_id, due_on, done in items:
        rows.items[incident_id].append((due_on, done))
    sources = await session.execute(
        select(AlertLink.incident_id, AlertLink.source)
        .where(AlertLink.incident_id.in_(ids))
        .distinct()
        .order_by(AlertLink.incident_id, AlertLink.source)
    )
    for incident_id, source in sources:
        rows.sources[incident_id].append(source)
    return rows
