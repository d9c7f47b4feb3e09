"""`/incident ticket`: open the incident's ticket now, whatever its severity, or say where it is."""

from __future__ import annotations

from app.context import BotContext
from app.services import engine
from app.services.incidents import changing, policy_of
from app.services.tickets.plan import TICKET, want_incident_ticket
from app.store import tickets as store
from app.ui import tickets as texts


async def request_ticket(ctx: BotContext, incident_id: int, user_id: str) -> str:
    """What to answer the person who asked; the ticket step runs at once in this process."""
    async with changing(ctx, incident_id) as change:
        incident = change.incident
        policy = policy_of(ctx, incident)
        if not policy.tickets.enabled:
            if policy.tickets.provider is not None:
                return texts.no_project_text(policy.tickets.provider)
            return texts.no_tracker_text()
        assert policy.tickets.provider is not None
        if policy.tickets.provider not in ctx.trackers:
            return texts.not_configured_text(policy.tickets.provider)
        record, asked = await want_incident_ticket(
            change.session, incident, policy, change.now, user_id
        )
        public_id = incident.public_id
    if not asked:
        return texts.existing_text(public_id, record)
    await engine.run_pending(ctx, incident_id, TICKET)
    async with ctx.sessions() as session:
        current = await store.by_marker(session, record.marker)
    if current is not None and current.key:
        return texts.existing_text(public_id, current)
    return texts.asked_text(public_id, record.provider)
