"""An incident's policy, and changing an incident under its lock (one transaction, its timeline
entry included)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain.policy import Policy, PolicyError
from app.services import timeline
from app.services.errors import UserError
from app.store import incidents as store
from app.store.models import Incident, TimelineEntry

log = logging.getLogger(__name__)


def policy_of(bot: BotContext, incident: Incident) -> Policy:
    """The policy the incident was declared under (editing the file later changes nothing)."""
    try:
        return Policy.from_snapshot(incident.policy_snapshot)
    except PolicyError:
        log.warning("policy snapshot of %s is unreadable; using the current policy", incident.id)
        return bot.policy


@dataclass(frozen=True)
class Outcome:
    """What a change did: ``changed`` is False when the incident already was that way, and
    ``message`` is the answer for the person who asked."""

    incident: Incident
    changed: bool
    message: str


@dataclass
class Change:
    """An open change of one incident: its session, the locked row, and the time of the change."""

    session: AsyncSession
    incident: Incident
    now: datetime

    def record(
        self,
        kind: str,
        *,
        text: str,
        actor_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> TimelineEntry:
        """The change's timeline entry, committed with the change (see `timeline.record`)."""
        return timeline.record(
            self.session, self.incident, kind, now=self.now, text=text, actor_id=actor_id, data=data
        )


@asynccontextmanager
async def changing(bot: BotContext, incident_id: int) -> AsyncIterator[Change]:
    """One transaction holding the incident's lock. A UserError raised inside rolls back, so a
    refused change leaves nothing behind; leaving normally commits the change and its timeline
    entries together, before anything is said in Slack."""
    now = bot.clock.now()
    async with bot.sessions.begin() as session:
        incident = await store.lock(session, incident_id, now)
        if incident is None:
            raise UserError("That incident no longer exists.")
        yield Change(session, incident, now)
