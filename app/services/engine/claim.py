"""Taking due steps for one worker: the claim is committed before anything is sent."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from app.context import BotContext
from app.store import steps as store
from app.store.models import Incident, ScheduledStep, StepMessage


@dataclass
class Claimed:
    step: ScheduledStep
    incident: Incident
    sent: list[StepMessage]


def new_worker_id() -> str:
    """Who holds a claim: host, process, and a random part so two loops never share one."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def claim(
    ctx: BotContext, worker: str, limit: int, step_ids: list[int] | None = None
) -> list[Claimed]:
    """Claim (and commit the claim), then load the claimed steps in one round trip."""
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        ids = await store.claim_due(
            session,
            worker=worker,
            now=now,
            lease_until=now + timedelta(seconds=ctx.settings.lease_seconds),
            limit=limit,
            step_ids=step_ids,
        )
    if not ids:
        return []
    async with ctx.sessions() as session:
        rows = await store.load_claimed(session, ids)
    return [Claimed(step, incident, sent) for step, incident, sent in rows]
