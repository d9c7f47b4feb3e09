"""What was deployed, and when: the deployments the webhooks told of (`deployment_news`),
stored one row each (`store.deployments.record`: redeliveries and events in any order
converge); the ones of the 2 hours before an incident started, for its channel and its
post-mortem. Kept apart from the webhook's handling, which raises alerts: setup and the
documents read deployments without depending on the alert intake.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain.deployments import DeploymentEvent
from app.store import deployments as store
from app.store.deployment_model import Deployment
from app.store.models import Incident

__all__ = ["SOURCES", "WINDOW", "before_incident", "record"]

log = logging.getLogger(__name__)

# "What changed shortly before it broke": the deployments a new incident's channel shows.
WINDOW = timedelta(hours=2)
SOURCES = ("vercel", "github")


async def record(ctx: BotContext, event: DeploymentEvent) -> None:
    """Store the deployment (or bring its row up to date)."""
    async with ctx.sessions.begin() as session:
        await store.record(session, event, ctx.clock.now())
    log.info(
        "%s deployment %s of %s: %s",
        event.source,
        event.external_id,
        event.project,
        event.state,
        extra={"source": event.source},
    )


async def before_incident(session: AsyncSession, incident: Incident) -> Sequence[Deployment]:
    """Deployments started in the WINDOW before the incident started, newest first."""
    return await store.in_window(session, incident.started_at - WINDOW, incident.started_at)
