"""Starting an incident's escalation, and planning its pages and update reminders."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain import escalation as plan
from app.domain.escalation import PAGE, PAGE_CHANNELS, TARGET_WARNING, UPDATE_REMINDER
from app.domain.policy import EscalationLevel, Policy
from app.domain.timeline import Kind
from app.services import engine, timeline
from app.store.models import Incident, ScheduledStep, StepStatus

ESCALATION_KINDS = (PAGE, TARGET_WARNING, UPDATE_REMINDER, *PAGE_CHANNELS)
CHANNEL = "channel"  # StepMessage.recipient of the incident-channel message


def snapshot_policy(incident: Incident) -> Policy:
    """The policy the incident was declared under."""
    return Policy.from_snapshot(incident.policy_snapshot)


# How long L1's page waits for its incident channel: setup releases it as soon as the channel
# and its summary exist (normally well within a second); a setup that is stuck or died lets the
# page go out by itself after this, by DM and in the broadcast channel.
PAGE_WAITS_FOR_CHANNEL = timedelta(seconds=2)


async def plan_escalation(session: AsyncSession, incident: Incident, now: datetime) -> list[int]:
    """Plan a new incident's escalation in the declaring transaction; the ids of its pages.

    Every step has a key, so planning twice (a redelivery, a replica racing) plans it once. L1's
    page is due at the declaration, but may not be claimed before PAGE_WAITS_FOR_CHANNEL has
    passed (`release_first_pages` lets setup send it earlier, once the channel is there).
    Outside working hours it may be due at their next start instead (the channel exists long
    before: it is claimable then), or not planned at all; the timeline says which.
    """
    policy = snapshot_policy(incident)
    paging = plan.when_paged(policy, incident.severity, incident.started_at)
    if paging.deferred or paging.silent:
        _record_outside_hours(session, incident, policy, paging, now)
    pages: list[int] = []
    for planned in plan.initial_plan(policy, incident.severity, incident.started_at):
        step_id = await engine.schedule(
            session,
            incident,
            planned.kind,
            planned.due_at,
            planned.data,
            now=now,
            level=planned.level,
            key=planned.key,
        )
        if step_id is not None and planned.kind == PAGE:
            pages.append(step_id)
            if paging.deferred:
                continue
            await session.execute(
                update(ScheduledStep)
                .where(ScheduledStep.id == step_id)
                .values(next_attempt_at=planned.due_at + PAGE_WAITS_FOR_CHANNEL)
                .execution_options(synchronize_session=False)
            )
    return pages


def _record_outside_hours(
    session: AsyncSession, incident: Incident, policy: Policy, paging: plan.Paging, now: datetime
) -> None:
    """The incident's log says why L1 was not paged at declaration."""
    first = plan.chain(policy, incident.severity)[0]
    if paging.at is None:
        text = (
            f"Declared outside working hours: {incident.severity} pages nobody "
            "(outside_hours: none)"
        )
    else:
        zone = paging.hours.time_zone if paging.hours else "UTC"
        local = paging.at.astimezone(paging.hours.tz) if paging.hours else paging.at
        text = (
            f"Declared outside working hours: {first.key} {first.name} is paged at "
            f"{local:%Y-%m-%d %H:%M} {zone} (next working hours)"
        )
    timeline.record(
        session,
        incident,
        Kind.ESCALATION_SKIPPED,
        now=now,
        text=text,
        data={
            "level": first.key,
            "outside_hours": paging.rule,
            "paged_at": paging.at.isoformat() if paging.at else None,
        },
    )


async def release_first_pages(ctx: BotContext, incident: Incident) -> None:
    """Send the incident's due pages now (setup calls it once the channel exists, or failed).

    Only a page still waiting for its channel is moved: one in a retry's backoff keeps it, and
    one being sent is left to its worker. Claiming is atomic, so a page is sent once however
    many callers release it.
    """
    if not incident.is_open:
        return
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        released = await session.execute(
            update(ScheduledStep)
            .where(
                ScheduledStep.incident_id == incident.id,
                ScheduledStep.kind == PAGE,
                ScheduledStep.status == StepStatus.PENDING,
                ScheduledStep.claimed_by.is_(None),
                ScheduledStep.attempts == 0,
                ScheduledStep.due_at <= now,
            )
            .values(next_attempt_at=now)
            .returning(ScheduledStep.id)
            .execution_options(synchronize_session=False)
        )
        ids = list(released.scalars())
    if ids:
        await engine.run_now(ctx, ids)


async def schedule_page(
    session: AsyncSession,
    incident: Incident,
    level: EscalationLevel,
    due: datetime,
    now: datetime,
    paged_before: list[str] | None = None,
    announced_empty: list[str] | None = None,
) -> int | None:
    """Plan a level's page (keyed by level). `announced_empty`: the levels an earlier page's
    notice already named as having no one to page, so their own skips stay silent."""
    data: dict[str, Any] = {} if paged_before is None else {"paged_before": paged_before}
    if announced_empty:
        data["announced_empty"] = announced_empty
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
