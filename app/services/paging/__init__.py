"""Pages beyond Slack: e-mail (SMTP), SMS and voice (Twilio), and the PagerDuty bridge.

A level's `channels` say which it uses besides the Slack DM. When a page is marked sent, its
transaction plans one durable step per channel (`plan_for_page`), so each is sent once,
retried on failure, looked for before it is redone after an ambiguous failure, and cancelled
by an acknowledgement from any channel (`CHANNEL_KINDS`, cancelled with the pages).

    common.py      contact methods of the people paged, and "send once" for a recipient
    email.py       the `page_email` step (SMTP)
    sms.py         the `page_sms` step (Twilio Messages)
    voice.py       the `page_voice` step (Twilio Calls, "press 1 to acknowledge")
    pagerduty.py   the PagerDuty bridge: trigger, acknowledge, resolve (Events API v2)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain.policy import EscalationLevel
from app.services.engine import Handler
from app.services.paging import email, pagerduty, sms, voice
from app.store.models import Incident

# The steps an acknowledgement or a resolve cancels, with the pages.
CHANNEL_KINDS: tuple[str, ...] = (email.KIND, sms.KIND, voice.KIND)
KINDS: dict[str, Handler] = {
    email.KIND: email.send,
    sms.KIND: sms.send,
    voice.KIND: voice.send,
    pagerduty.KIND: pagerduty.send,
}
_PLANNERS = {"email": email.plan, "sms": sms.plan, "voice": voice.plan, "pagerduty": pagerduty.plan}


async def plan_for_page(
    session: AsyncSession,
    ctx: BotContext,
    incident: Incident,
    level: EscalationLevel,
    targets: Sequence[str],
    page_step_id: int,
    now: datetime,
) -> None:
    """In the transaction marking a Slack page sent: the level's other channels, one step each."""
    for channel in level.channels:
        planner = _PLANNERS.get(channel)
        if planner is not None:
            await planner(session, ctx, incident, level, targets, page_step_id, now)


async def on_acknowledged(
    session: AsyncSession, ctx: BotContext, incident: Incident, now: datetime
) -> None:
    """In the acknowledging transaction: mirror it where it must be (PagerDuty)."""
    await pagerduty.plan_mirror(session, ctx, incident, "acknowledge", now)


async def on_resolved(
    session: AsyncSession, ctx: BotContext, incident: Incident, now: datetime
) -> None:
    """In the resolving transaction: mirror it where it must be (PagerDuty)."""
    await pagerduty.plan_mirror(session, ctx, incident, "resolve", now)


__all__ = ["CHANNEL_KINDS", "KINDS", "on_acknowledged", "on_resolved", "plan_for_page"]
