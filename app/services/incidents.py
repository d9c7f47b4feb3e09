"""Finding the incident a request is about, its policy, and changing it under its lock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.config.policy import Policy, PolicyError
from app.context import BotContext
from app.services.errors import UserError
from app.store import incidents as store
from app.store.models import Incident

log = logging.getLogger(__name__)


def policy_of(bot: BotContext, incident: Incident) -> Policy:
    """The policy the incident was declared under (editing the file later changes nothing)."""
    try:
        return Policy.from_snapshot(incident.policy_snapshot)
    except PolicyError:
        log.warning("policy snapshot of %s is unreadable; using the current policy", incident.id)
        return bot.policy


async def in_channel(bot: BotContext, channel_id: str) -> Incident | None:
    if not channel_id:
        return None
    async with bot.sessions() as session:
        return await store.by_channel(session, channel_id)


async def load(bot: BotContext, incident_id: int) -> Incident:
    async with bot.sessions() as session:
        incident = await session.get(Incident, incident_id)
    if incident is None:
        raise UserError("That incident no longer exists.")
    return incident


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
