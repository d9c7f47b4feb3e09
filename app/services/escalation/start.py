"""Starting an incident's escalation, and planning its pages and update reminders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain import escalation as plan
from app.domain.escalation import PAGE, TARGET_WARNING, UPDATE_REMINDER
from app.domain.policy import EscalationLevel, Policy
from app.services import engine
from app.store.models import Incident, ScheduledStep, StepStatus

ESCALATION_KINDS = (PAGE, TARGET_WARNING, UPDATE_REMINDER)
CHANNEL = "channel"  # StepMessage.recipient of the incident-channel message


def snapshot_policy(incident: Incident) -> Policy:
    """The policy the incident was declared under."""
    return Policy.from_snapshot(incident.policy_snapshot)


async def start_escalation(ctx: BotContext, incident: Incident) -> None:
    """Plan the escalation of a newly declared incident and page L1 at once.

    Safe to call again (retry-setup): an escalation already planned is left as it is (and
    every planned step has a key, so two racing calls plan it once); a page still pending from
    a failed attempt is tried again.
    """
    if not incident.is_open:
        return
    policy = snapshot_policy(incident)
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        planned_before = await session.execute(
            select(ScheduledStep.id)
            .where(
                ScheduledStep.incident_id == incident.id,
                ScheduledStep.kind.in_(ESCALATION_KINDS),
            )
            .limit(1)
        )
        initial = (
            []
            if planned_before.first()
            else plan.initial_plan(policy, incident.severity, incident.started_at)
        )
        for planned in initial:
            await engine.schedule(
                session,
                incident,
                planned.kind,
                planned.due_at,
                planned.data,
                now=now,
                level=planned.level,
                key=planned.key,
            )
        first = (
            await session.execute(
                select(ScheduledStep.id).where(
                    ScheduledStep.incident_id == incident.id,
                    ScheduledStep.kind == PAGE,
                    ScheduledStep.status == StepStatus.PENDING,
                )
            )
        ).scalars()
        first_ids = list(first)
    if first_ids:
        # L1 goes out now, as the last round of setup, rather than at the next tick.
        await engine.run_now(ctx, first_ids)


async def schedule_page(
    session: AsyncSession,
    incident: Incident,
    level: EscalationLevel,
    due: datetime,
    now: datetime,
    paged_before: list[str] | None = None,
) -> int | None:
    data = {} if paged_before is None else {"paged_before": paged_before}
    return await engine.schedule(
        session, incident, PAGE, due, data, now=now, level=level.key, key=plan.page_key(level.key)
    )


async def schedule_update_reminder(
    session: AsyncSession,
    incident: Incident,
    seq: int,
    due: datetime,
    since: datetime,
    *,
    since_update: bool,
    now: datetime,
) -> None:
    """Plan the incident's `seq`-th update reminder (keyed, so it is planned once)."""
    await engine.schedule(
        session,
        incident,
        UPDATE_REMINDER,
        due,
        plan.reminder_data(seq, since, since_update=since_update),
        now=now,
        key=plan.reminder_key(seq),
    )
