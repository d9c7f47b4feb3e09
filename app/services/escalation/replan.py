"""Following the other features' changes, after they are committed: a resolved incident stops
its escalation, a new severity extends or trims the chain, a status update restarts the
update-reminder cadence. `app.wiring` subscribes these to the events of `app.services.events`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain import escalation as plan
from app.domain.escalation import PAGE, PAGE_BACKUP, TARGET_WARNING, UPDATE_REMINDER, Paging
from app.domain.policy import EscalationLevel, Policy
from app.services import engine
from app.services.escalation.acknowledge import settle_pages
from app.services.escalation.start import (
    ESCALATION_KINDS,
    schedule_page,
    schedule_update_reminder,
    snapshot_policy,
)
from app.store import steps as step_store
from app.store.models import Incident, ScheduledStep, StepStatus
from app.ui import escalation as eb
from app.ui.summary import paged_when

log = logging.getLogger(__name__)


async def on_resolved(ctx: BotContext, incident: Incident) -> int:
    """Stop everything escalation still had planned for a resolved incident.

    Call it after the resolution is committed. Returns how many steps were cancelled. Pages
    nobody acknowledged lose their button. Steps of other kinds (review reminders) are kept.
    """
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        cancelled = await step_store.cancel_pending(session, incident.id, ESCALATION_KINDS, now)
        current = await session.get(Incident, incident.id, populate_existing=True)
    if current is not None and current.acknowledged_at is None:
        await settle_pages(ctx, current, eb.RESOLVED_NOTE)
    return cancelled


async def on_severity_changed(ctx: BotContext, incident: Incident, old: str, new: str) -> None:
    """Extend or trim the chain after the severity changed (the caller saved the new one).

    Raising it pages the next level from where the chain stopped, once the last paged level's
    window is over; lowering it cancels pages above the new cap. The response-target warning
    and the update-reminder cadence follow the new severity.
    """
    policy = snapshot_policy(incident)
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        current = await session.get(Incident, incident.id, populate_existing=True)
        if current is None or not current.is_open:
            return
        steps = await step_store.for_incident(session, incident.id, ESCALATION_KINDS)
        replan = _Replan(session, current, policy, new, steps, now)
        trimmed = await replan.trim()
        next_page = None
        hours = None
        if current.acknowledged_at is None:
            next_page = await replan.extend()
            hours = await replan.follow_hours()
            await replan.move_target_warning()
        await replan.follow_cadence()

    text = eb.chain_changed_text(
        current, policy, old, new, trimmed=trimmed, next_page=next_page, tz=ctx.settings.tz
    )
    if hours is not None:
        text = "\n".join(
            filter(None, [text, hours_changed_text(policy, new, hours, ctx.settings.tz)])
        )
    if text and current.channel_id:
        try:
            await ctx.slack.chat_postMessage(
                channel=current.channel_id, text=text, blocks=eb.notice(text).blocks
            )
        except SlackApiError as exc:
            log.warning("could not post the escalation change of %s: %s", incident.public_id, exc)


def hours_changed_text(policy: Policy, severity: str, paging: Paging, tz: ZoneInfo) -> str:
    """What the new severity's working hours did to the pages still to come."""
    if paging.silent:
        return (
            f":zzz: Outside working hours {severity} pages nobody: the pages still to come are "
            "cancelled; the team picks the incident up in working hours."
        )
    if paging.deferred:
        return (
            f":zzz: Outside working hours {severity} waits: the pages still to come go out "
            f"{paged_when(paging, tz)}."
        )
    return f":bell: {severity} pages now: the pages held for working hours go out now."


@dataclass
class _Replan:
    """The escalation steps of one incident (as they were before the change), re-planned for
    its new `severity` in one transaction."""

    session: AsyncSession
    incident: Incident
    policy: Policy
    severity: str
    steps: list[ScheduledStep]
    now: datetime

    @property
    def chain(self) -> list[str]:
        return [level.key for level in plan.chain(self.policy, self.severity)]

    def pending(self, kind: str) -> list[ScheduledStep]:
        return [s for s in self.steps if s.kind == kind and s.status == StepStatus.PENDING]

    async def trim(self) -> list[EscalationLevel]:
        """Cancel the pending pages above the new cap; the levels they were for."""
        above = [s for s in self.pending(PAGE) if s.level not in self.chain]
        if not above:
            return []
        levels = [s.level for s in above if s.level]
        await step_store.cancel_pending(
            self.session, self.incident.id, [PAGE], self.now, levels=levels
        )
        return [self.policy.level(key) for key in levels]

    async def extend(self) -> tuple[EscalationLevel, datetime] | None:
        """With no page pending in the new chain, plan the level after the last one paged (once
        its window is over); the level and when, if one was planned."""
        chain = self.chain
        if any(s.level in chain for s in self.pending(PAGE)):
            return None
        sent = [s for s in self.steps if s.kind == PAGE and s.status == StepStatus.SENT]
        order = self.policy.escalation.keys
        last = max(sent, key=lambda s: order.index(s.level or "L1"), default=None)
        if last is None or last.level not in chain or last.sent_at is None:
            return None
        following = plan.next_page_due(self.policy, self.severity, last.level, last.sent_at)
        if following is None:
            return None
        level, due = following[0], max(following[1], self.now)
        if await schedule_page(self.session, self.incident, level, due, self.now):
            return level, due
        return None

    async def follow_hours(self) -> Paging | None:
        """Apply the new severity's working hours from now to the pages still to come: paged
        now, they go out now (those deferred, at their own time if later); deferred, they wait
        for the next start of working hours; none, they are cancelled. With nothing paged nor
        pending (declared to page nobody), L1 is planned. The decision, if it moved anything."""
        paging = plan.when_paged(self.policy, self.severity, self.now)
        pending = await step_store.for_incident(
            self.session, self.incident.id, [PAGE, PAGE_BACKUP], [StepStatus.PENDING]
        )
        pending = [s for s in pending if s.kind == PAGE_BACKUP or s.level in self.chain]
        if paging.at is None:
            cancelled = await step_store.cancel_pending(
                self.session, self.incident.id, [PAGE, PAGE_BACKUP], self.now
            )
            return paging if cancelled else None
        moved = False
        for step in pending:
            moved = await self._move(step, paging.at) or moved
        silenced = paging.hours is not None and not any(s.kind == PAGE for s in pending)
        if silenced and not await self._paged_before():
            first = plan.chain(self.policy, self.severity)[0]
            data = {plan.DEFERRED_FROM: self.now.isoformat()} if paging.deferred else {}
            planned = await engine.schedule(
                self.session,
                self.incident,
                PAGE,
                paging.at,
                data,
                now=self.now,
                level=first.key,
                key=plan.page_key(first.key),
            )
            moved = moved or planned is not None
        return paging if moved else None

    async def _move(self, step: ScheduledStep, earliest: datetime) -> bool:
        """Defer a pending step to `earliest` (the next start of working hours), or send one
        deferred before at its own time (never before now) when `earliest` is now."""
        deferred_from = step.data.get(plan.DEFERRED_FROM)
        if earliest > self.now:
            if step.due_at >= earliest:
                return False
            data = {**step.data, plan.DEFERRED_FROM: deferred_from or step.due_at.isoformat()}
            return await step_store.reschedule(self.session, step.id, earliest, self.now, data=data)
        if deferred_from is None:
            return False
        due = max(datetime.fromisoformat(deferred_from), self.now)
        data = {k: v for k, v in step.data.items() if k != plan.DEFERRED_FROM}
        return await step_store.reschedule(self.session, step.id, due, self.now, data=data)

    async def _paged_before(self) -> bool:
        sent = await step_store.for_incident(
            self.session, self.incident.id, [PAGE], [StepStatus.SENT]
        )
        return bool(sent)

    async def move_target_warning(self) -> None:
        # A target already over under the new severity warns now, not "late".
        started_at = self.incident.started_at
        deadline = max(plan.response_deadline(self.policy, self.severity, started_at), self.now)
        for step in self.pending(TARGET_WARNING):
            await step_store.reschedule(self.session, step.id, deadline, self.now)

    async def follow_cadence(self) -> None:
        """Move, cancel or start the pending update reminder for the new severity's cadence."""
        session, incident, now = self.session, self.incident, self.now
        reminders = [s for s in self.steps if s.kind == UPDATE_REMINDER]
        pending = self.pending(UPDATE_REMINDER)
        latest = reminders[-1] if reminders else None
        since_raw = (
            latest.data.get("since") if latest else None
        ) or incident.started_at.isoformat()
        since = datetime.fromisoformat(since_raw)
        since_update = bool(latest.data.get("since_update")) if latest else False
        # The cadence counts from the last update, or from the last reminder if one went out
        # since.
        reminded = [s.sent_at for s in reminders if s.status == StepStatus.SENT and s.sent_at]
        start = max([since, *reminded])
        paging = plan.when_paged(self.policy, self.severity, now)
        if paging.deferred and paging.at is not None:
            start = max(start, paging.at)  # nobody is working to post an update before then
        due = plan.update_reminder_due(self.policy, self.severity, start)
        if due is None:
            await step_store.cancel_pending(session, incident.id, [UPDATE_REMINDER], now)
            return
        due = max(due, now)
        if pending:
            for step in pending:
                await step_store.reschedule(session, step.id, due, now)
            return
        await schedule_update_reminder(
            session, incident, len(reminders) + 1, due, since, since_update=since_update, now=now
        )


async def on_status_update(ctx: BotContext, incident: Incident) -> datetime | None:
    """A status update was posted: the next reminder is one full cadence from now.

    Returns when that reminder is due (None when the severity has no cadence or the incident
    is resolved).
    """
    policy = snapshot_policy(incident)
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        current = await session.get(Incident, incident.id, populate_existing=True)
        if current is None or not current.is_open:
            return None
        reminders = await step_store.for_incident(session, incident.id, [UPDATE_REMINDER])
        due = plan.update_reminder_due(policy, current.severity, now)
        if due is None:
            await step_store.cancel_pending(session, incident.id, [UPDATE_REMINDER], now)
            return None
        pending = [s for s in reminders if s.status == StepStatus.PENDING]
        for step in pending:
            seq = int(step.data.get("seq") or 1)
            await step_store.reschedule(
                session, step.id, due, now, data=plan.reminder_data(seq, now, since_update=True)
            )
        if not pending:
            await schedule_update_reminder(
                session, current, len(reminders) + 1, due, now, since_update=True, now=now
            )
    return due
