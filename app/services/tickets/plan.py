"""Asking for tickets and planning the step that keeps them in step, in the caller's
transaction: a declaration, a severity change, a resolve or reopen, an action item added or
done, a post-mortem uploaded. The `ticket` step (`sync.py`) then makes the tracker match.

Planned with the change, the step exists exactly when the change does: a process killed right
after the commit leaves it to another worker, and a tracker outage only delays it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.policy import Policy
from app.domain.tickets import action_item_marker, incident_marker
from app.services import engine
from app.store import tickets as store
from app.store.models import ActionItem, Incident, TicketRecord

TICKET = "ticket"
TICKET_POLL = "ticket_poll"  # an item's ticket looked at until it is closed (ticket_news)


def _record(
    incident: Incident,
    policy: Policy,
    marker: str,
    now: datetime,
    *,
    item: ActionItem | None = None,
    requested_by: str | None = None,
) -> TicketRecord:
    tickets = policy.tickets
    assert tickets.provider is not None
    rank = policy.rank(incident.severity)
    spec = tickets.item_spec() if item is not None else tickets.spec(incident.severity, rank)
    return TicketRecord(
        incident_id=incident.id,
        action_item_id=item.id if item is not None else None,
        marker=marker,
        provider=tickets.provider,
        project=spec.project,
        closed=False,
        channel_linked=False,
        bookmarked=False,
        announced=False,
        uncertain=False,
        requested_by=requested_by,
        created_at=now,
        updated_at=now,
    )


async def plan_sync(session: AsyncSession, incident: Incident, now: datetime) -> int | None:
    """Plan a `ticket` step for an incident that has tickets (nothing otherwise).

    Unkeyed: every change gets its pass, even two in one instant (a pass reads the incident as
    it is when it runs, and one with nothing left to do calls nobody)."""
    if not await store.for_incident(session, incident.id):
        return None
    return await engine.schedule(session, incident, TICKET, now, {}, now=now)


async def plan_for_declared(
    session: AsyncSession, incident: Incident, policy: Policy, now: datetime
) -> None:
    """In the declaring transaction: the incident's ticket, if its severity opens one."""
    if policy.tickets.opens_for(incident.severity):
        session.add(_record(incident, policy, incident_marker(incident.public_id), now))
        await session.flush()
        await plan_sync(session, incident, now)


async def want_incident_ticket(
    session: AsyncSession, incident: Incident, policy: Policy, now: datetime, user_id: str
) -> tuple[TicketRecord, bool]:
    """`/incident ticket`: the incident's ticket, asked for now unless it exists; the bool says
    whether it was asked for now. A ticket that failed for good is asked for again."""
    marker = incident_marker(incident.public_id)
    existing = await store.by_marker(session, marker)
    if existing is not None:
        if existing.key is None:
            await store.save(session, existing.id, now, error=None)
            await plan_sync(session, incident, now)
        return existing, existing.key is None
    record = _record(incident, policy, marker, now, requested_by=user_id)
    session.add(record)
    await session.flush()
    await plan_sync(session, incident, now)
    return record, True


async def plan_for_item(
    session: AsyncSession,
    incident: Incident,
    item: ActionItem,
    number: int,
    policy: Policy,
    now: datetime,
) -> None:
    """In the transaction adding an action item (the incident's `number`th): its ticket, if
    the policy makes items tickets."""
    if policy.tickets.enabled and policy.tickets.action_items.open:
        marker = action_item_marker(incident.public_id, number)
        session.add(_record(incident, policy, marker, now, item=item))
        await session.flush()
        await plan_sync(session, incident, now)


async def plan_poll(
    session: AsyncSession, incident: Incident, record_id: int, now: datetime, seconds: float
) -> None:
    """Look at an action item's ticket every `seconds` until it is closed (0: never)."""
    if seconds > 0:
        await engine.schedule(
            session,
            incident,
            TICKET_POLL,
            now + timedelta(seconds=seconds),
            {"ticket": record_id},
            now=now,
            key=f"ticket_poll:{record_id}",
        )
