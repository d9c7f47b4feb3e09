"""The one way anything is written to an incident's timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import Incident, TimelineEntry


class Kind:
    """Timeline entry kinds; automatic ones are written by services, never by hand."""

    DECLARED = "declared"
    NOTE = "note"
    MESSAGE = "message"
    SEVERITY_CHANGED = "severity_changed"
    STATUS_CHANGED = "status_changed"
    PAGED = "paged"
    ACKNOWLEDGED = "acknowledged"
    LEAD_ASSIGNED = "lead_assigned"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    SETUP_FAILED = "setup_failed"
    ALERT = "alert"
    RUNBOOK_POSTED = "runbook_posted"
    RUNBOOK_STEP = "runbook_step"


def record(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    *,
    now: datetime,
    text: str = "",
    actor_id: str | None = None,
    occurred_at: datetime | None = None,
    data: dict[str, Any] | None = None,
    source_ts: str | None = None,
) -> TimelineEntry:
    """Add an entry in the caller's transaction, so a change and its entry commit together."""
    entry = TimelineEntry(
        incident_id=incident.id,
        kind=kind,
        occurred_at=occurred_at or now,
        actor_id=actor_id,
        text=text,
        data=data or {},
        source_ts=source_ts,
        created_at=now,
    )
    session.add(entry)
    return entry
