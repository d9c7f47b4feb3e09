"""Post-incident review and overdue action-item reminders, as durable scheduled steps.

The engine's rows make them survive restarts and be sent by one replica. When a row falls due,
the running-an-incident service posts the reminder and says whether another is needed; if so
the next row is planned in the same transaction that closes this one. The first review
reminder is planned in the resolving transaction (`resolve_steps`); `app.wiring` registers the
two kinds with the engine and subscribes the first action-item reminder to its event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain import reminders
from app.domain.policy import Policy
from app.services import action_items, review
from app.services.engine import StepRun, schedule
from app.store import steps as step_store
from app.store.models import ActionItem, Incident

REVIEW = "review_reminder"
ACTION_ITEM = "action_item_reminder"


async def plan_first_review(session: AsyncSession, incident: Incident, now: datetime) -> None:
    """In the resolving transaction: remind the lead of the review the policy asks for."""
    if incident.resolved_at is None:
        return
    review_within = Policy.from_snapshot(incident.policy_snapshot).review_within
    due_at = reminders.first_review_reminder_at(incident.resolved_at, review_within)
    await _schedule_review(session, incident, due_at, now)


async def _schedule_review(
    session: AsyncSession, incident: Incident, due_at: datetime, now: datetime
) -> None:
    # The due time is part of the key: each reminder is its own row, planned once.
    await schedule(session, incident, REVIEW, due_at, now=now, key=f"review:{due_at.isoformat()}")


async def schedule_first_action_item(bot: BotContext, item: ActionItem) -> None:
    """An item with a due date was added: its owner is reminded once it is overdue."""
    if item.due_on is None:
        return
    due_at = reminders.first_action_item_reminder_at(item.due_on, bot.settings.tz)
    await schedule_action_item(bot, item, due_at)


async def schedule_action_item(bot: BotContext, item: ActionItem, due_at: datetime) -> None:
    async with bot.sessions.begin() as session:
        incident = await session.get(Incident, item.incident_id)
        if incident is not None:
            await _schedule_item(session, incident, item.id, due_at, bot.clock.now())


async def _schedule_item(
    session: AsyncSession, incident: Incident, item_id: int, due_at: datetime, now: datetime
) -> None:
    key = f"action_item:{item_id}:{due_at.isoformat()}"
    await schedule(session, incident, ACTION_ITEM, due_at, {"item": item_id}, now=now, key=key)


async def cancel_reviews(bot: BotContext, incident: Incident) -> int:
    """A reopened incident has no review to hold yet."""
    async with bot.sessions.begin() as session:
        return await step_store.cancel_pending(session, incident.id, (REVIEW,), bot.clock.now())


async def send_review_reminder(run: StepRun) -> None:
    if not await review.send_review_reminder(run.ctx, run.incident.id):
        return
    resolved_at = run.incident.resolved_at
    if resolved_at is None:
        return
    after = reminders.next_review_reminder_at(resolved_at, run.policy.review_within, run.now)

    async def plan_next(session: AsyncSession) -> None:
        await _schedule_review(session, run.incident, after, run.now)

    run.after(plan_next)


async def send_action_item_reminder(run: StepRun) -> None:
    item_id = int(run.step.data["item"])
    if not await action_items.send_action_item_reminder(run.ctx, item_id):
        return
    async with run.ctx.sessions() as session:
        item = await session.get(ActionItem, item_id)
    if item is None or item.due_on is None:
        return
    after = reminders.next_action_item_reminder_at(item.due_on, run.ctx.settings.tz, run.now)

    async def plan_next(session: AsyncSession) -> None:
        await _schedule_item(session, run.incident, item_id, after, run.now)

    run.after(plan_next)
