"""Snoozing the update reminders: the next one moves, and the clicked one says until when."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from app.context import BotContext
from app.domain import escalation as plan
from app.domain.escalation import UPDATE_REMINDER
from app.domain.formatting import short_time
from app.services.errors import UserError
from app.services.escalation.acknowledge import settle_message
from app.store import incidents as incident_store
from app.store import steps as step_store
from app.store.models import Incident, StepMessage, StepStatus
from app.ui import escalation as eb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnoozeResult:
    incident: Incident
    until: datetime
    reply: str


async def snooze_reminder(
    ctx: BotContext,
    public_id: str,
    user_id: str,
    delay: timedelta,
    *,
    message_channel: str | None = None,
    message_ts: str | None = None,
) -> SnoozeResult:
    """Push the next update reminder to `delay` from now, and mark the reminder clicked."""
    now = ctx.clock.now()
    if delay not in plan.SNOOZE_CHOICES:
        raise UserError("That snooze length is not offered; pick one of the buttons.")
    async with ctx.sessions.begin() as session:
        incident = await incident_store.by_public_id(session, public_id)
        if incident is None:
            raise UserError(f"No incident {public_id}.")
        if not incident.is_open:
            raise UserError(f"{incident.public_id} is resolved; no more reminders.")
        pending = await step_store.for_incident(
            session, incident.id, [UPDATE_REMINDER], [StepStatus.PENDING]
        )
        until = now + delay
        moved = [await step_store.reschedule(session, s.id, until, now) for s in pending]
        if not any(moved):
            raise UserError("The next reminder is being sent right now; snooze that one instead.")
        clicked: StepMessage | None = None
        if message_channel and message_ts:
            clicked = (
                await session.execute(
                    select(StepMessage).where(
                        StepMessage.channel == message_channel, StepMessage.ts == message_ts
                    )
                )
            ).scalar_one_or_none()
    tz = ctx.settings.tz
    if clicked is not None:
        note = eb.snoozed_note(user_id, until, tz)
        if error := await settle_message(ctx, clicked, note):
            log.warning("could not mark reminder %s snoozed: %s", clicked.ts, error)
    reply = f"Update reminders for {incident.public_id} snoozed until {short_time(until, tz)}."
    return SnoozeResult(incident, until, reply)
