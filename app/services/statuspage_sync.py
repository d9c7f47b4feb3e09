"""The copy of published status posts on Atlassian Statuspage, as the durable `statuspage`
step (frame; issue 18)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.services.engine import StepRun
from app.store.models import Incident, StatusPost

STATUSPAGE = "statuspage"


async def plan_sync(
    session: AsyncSession, incident: Incident | None, post: StatusPost, now: datetime
) -> None:
    """Plan the `statuspage` step for a post just published, in the publishing transaction."""
    return None


async def sync_statuspage(run: StepRun) -> None:
    """The `statuspage` step's handler (registered by `app.wiring`)."""
    return None
