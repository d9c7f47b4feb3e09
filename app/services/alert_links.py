"""An alert saved on its incident: its link (how it came there, its firing episode) and its
timeline entry, always in the caller's transaction so that they commit with the change or not
at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.alerts import Alert
from app.domain.timeline import Kind
from app.services import timeline
from app.store.models import AlertLink, AlertStatus, Incident, TimelineEntry


def entry_data(alert: Alert) -> dict[str, Any]:
    return {
        "source": alert.source,
        "fingerprint": alert.fingerprint,
        "status": alert.status,
        "labels": dict(alert.labels),
        "url": alert.url,
    }


def record(
    session: AsyncSession, incident: Incident, alert: Alert, text: str, now: datetime
) -> TimelineEntry:
    """The alert's timeline entry."""
    return timeline.record(
        session, incident, Kind.ALERT, now=now, text=text, data=entry_data(alert)
    )


async def attach(
    session: AsyncSession, incident: Incident, alert: Alert, role: str, text: str, now: datetime
) -> AlertLink:
    """Link the alert to `incident` (`role`: an AlertRole) with its first timeline entry."""
    entry = record(session, incident, alert, text, now)
    await session.flush()
    link = AlertLink(
        source=alert.source,
        fingerprint=alert.fingerprint,
        group_key=alert.group,
        incident_id=incident.id,
        status=AlertStatus.FIRING,
        received=1,
        first_seen_at=now,
        last_seen_at=now,
        role=role,
        entry_id=entry.id,
        deliveries=1,
    )
    session.add(link)
    return link


async def fire_again(
    session: AsyncSession, incident: Incident, link: AlertLink, alert: Alert, now: datetime
) -> None:
    """The alert had resolved and fires again: a new episode, with an entry of its own."""
    link.status = AlertStatus.FIRING
    link.received += 1
    link.last_seen_at = now
    link.deliveries = 1
    entry = record(session, incident, alert, f"Alert firing again: {alert.title}", now)
    await session.flush()
    link.entry_id = entry.id


async def still_firing(
    session: AsyncSession, incident: Incident, link: AlertLink, alert: Alert, now: datetime
) -> None:
    """A redelivery of a firing alert: its episode's entry says how many deliveries it had,
    instead of a new entry per delivery."""
    link.received += 1
    link.last_seen_at = now
    link.deliveries += 1
    entry = await session.get(TimelineEntry, link.entry_id) if link.entry_id else None
    if entry is None or entry.incident_id != incident.id:
        # Linked before entries were tracked (or the entry is gone): start one.
        entry = record(
            session,
            incident,
            alert,
            f"Alert still firing ({link.deliveries} deliveries): {alert.title}",
            now,
        )
        await session.flush()
        link.entry_id = entry.id
        return
    headline = entry.data.get("headline") or entry.text
    entry.text = f"{headline} (still firing, {link.deliveries} deliveries)"
    entry.data = {
        **entry.data,
        "headline": headline,
        "deliveries": link.deliveries,
        "last_seen_at": now.isoformat(),
    }
