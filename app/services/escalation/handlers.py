"""Sending escalation steps when they fall due: pages (and their copies in a channel made after
them), the response-target warning, and the update reminders. `app.wiring` registers each with
the engine under its kind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.domain import escalation as plan
from app.domain.durations import format_duration
from app.domain.formatting import human_minutes
from app.domain.policy import EscalationLevel
from app.domain.timeline import Kind
from app.services import paging, timeline
from app.services.engine import StepRun
from app.services.escalation import backup, invites
from app.services.escalation.start import CHANNEL, schedule_page, schedule_update_reminder
from app.services.escalation.targets import paged_levels, resolve_targets
from app.services.paging.common import answered
from app.store.models import Incident, StepMessage
from app.ui import escalation as eb
from app.ui.empty_levels import empty_levels_text

log = logging.getLogger(__name__)

BROADCAST = "broadcast"  # StepMessage.recipient of a page posted in INCIDENTS_CHANNEL


async def _notice(run: StepRun, text: str) -> None:
    """Say `text` in the incident channel, if it has one."""
    if run.incident.channel_id:
        await run.post(CHANNEL, run.incident.channel_id, text, eb.notice(text).blocks)


async def send_page(run: StepRun) -> None:
    incident, policy = run.incident, run.policy
    level_key = run.step.level or ""
    if answered(run):
        return
    if not plan.in_chain(policy, incident.severity, level_key):
        run.cancel(f"{level_key} is above the cap of {incident.severity}")
        return
    level = policy.level(level_key)
    targets, problems = await resolve_targets(run, level.notify)
    run.data.update(targets=targets, problems=problems)

    paged_before = [p for p in await paged_levels(run) if p.key != level.key]
    if not targets and reaches_beyond_slack(level):
        await _page_beyond_slack(run, level, problems, paged_before)
        return
    if not targets:
        await _skip_empty(run, level, problems, paged_before)
        return

    next_level = plan.level_after(policy, incident.severity, level_key)
    text = eb.page_text(
        incident,
        policy,
        level,
        targets,
        paged_before=paged_before,
        next_level=next_level,
        waited=run.now - incident.started_at,
        problems=problems,
        late_by=run.lateness if run.late else None,
        on_call=run.data.get("on_call"),
    )
    invited = await _send(run, level, text, targets)

    async def paged(session: AsyncSession) -> None:
        late = f" (sent {human_minutes(run.lateness)} late)" if run.late else ""
        timeline.record(
            session,
            incident,
            Kind.PAGED,
            now=run.now,
            text=f"Paged {level.key} {level.name}{late}",
            data={
                "level": level.key,
                "targets": targets,
                "problems": problems,
                "late": run.late,
                "on_call": run.data.get("on_call", {}),
            },
        )
        metrics.page_sent(level.key)
        if incident.channel_id and not invited:
            await invites.plan_invite(
                run.ctx, session, incident, targets, run.step.id, run.now, level.key
            )
        # The level's other channels (e-mail, SMS, voice, PagerDuty) and its backup, planned
        # with the page: sent once each, stopped by an acknowledgement from any of them.
        await paging.plan_for_page(session, run.ctx, incident, level, targets, run.step.id, run.now)
        await backup.plan_backup(session, incident, level, run.step.id, run.now)
        following = plan.next_page_due(policy, incident.severity, level.key, run.now)
        if following is not None:
            paged = [p.key for p in paged_before] + [level.key]
            await schedule_page(session, incident, following[0], following[1], run.now, paged)

    run.after(paged)


async def _send(run: StepRun, level: EscalationLevel, text: str, targets: list[str]) -> bool:
    """The page's messages, and its invitation; whether the paged people were invited.

    They do not depend on each other: one round. An invitation that would queue behind Slack's
    tier, or failed for now, is left to a step of its own (`invites`): the page never waits
    on it. Every send is awaited before the step fails: a retry must never race one in flight.
    """
    incident = run.incident
    page = eb.with_ack_button(text, incident)
    sends: list[Awaitable[StepMessage]] = []
    invitation: asyncio.Task[bool] | None = None
    if incident.channel_id:
        sends.append(run.post(CHANNEL, incident.channel_id, text, page.blocks))
        if invites.can_go_now(run.ctx):  # a slot free now: no queueing
            invitation = asyncio.ensure_future(
                invites.invite(
                    run.ctx, incident, incident.channel_id, targets, invites.INLINE_WITHIN
                )
            )
    else:
        # No channel yet (setup is slow or stuck): the page must not wait for it. The broadcast
        # channel shows it meanwhile, and the channel gets a copy once it exists.
        run.data["page_text"] = text
        if broadcast := run.ctx.settings.incidents_channel:
            sends.append(run.post(BROADCAST, broadcast, text, page.blocks))
    dm = eb.dm_text(incident, run.policy, level)
    sends += [run.post(user, user, dm, eb.with_ack_button(dm, incident).blocks) for user in targets]
    results = await asyncio.gather(*sends, return_exceptions=True)
    invited = await invitation if invitation is not None else False
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]
    return invited


def reaches_beyond_slack(level: EscalationLevel) -> bool:
    """Whether a level pages someone without naming a Slack user: its own e-mail addresses
    (the plan's on-call address) or the PagerDuty bridge."""
    return bool(level.email and "email" in level.channels) or "pagerduty" in level.channels


async def _page_beyond_slack(
    run: StepRun,
    level: EscalationLevel,
    problems: list[str],
    paged_before: list[EscalationLevel],
) -> None:
    """A level with nobody in Slack that still pages (e-mail to its addresses, PagerDuty): it
    is a page like any other, its window runs before the next level."""
    incident, policy = run.incident, run.policy
    how = " and ".join(
        (
            [f"e-mail to {', '.join(level.email)}"]
            if level.email and "email" in level.channels
            else []
        )
        + (["PagerDuty"] if "pagerduty" in level.channels else [])
    )
    run.data["beyond"] = True
    await _notice(run, eb.paged_beyond_slack_text(level, how))

    async def paged(session: AsyncSession) -> None:
        timeline.record(
            session,
            incident,
            Kind.PAGED,
            now=run.now,
            text=f"Paged {level.key} {level.name} by {how}",
            data={"level": level.key, "targets": [], "problems": problems, "beyond": True},
        )
        metrics.page_sent(level.key)
        await paging.plan_for_page(session, run.ctx, incident, level, [], run.step.id, run.now)
        following = plan.next_page_due(policy, incident.severity, level.key, run.now)
        if following is not None:
            paged = [p.key for p in paged_before] + [level.key]
            await schedule_page(session, incident, following[0], following[1], run.now, paged)

    run.after(paged)


async def _skip_empty(
    run: StepRun,
    level: EscalationLevel,
    problems: list[str],
    paged_before: list[EscalationLevel],
) -> None:
    """No one to page at this level: move on to the next level now.

    The first empty level of a run of them says so once, naming every consecutive empty level
    (looked up now); those levels' own steps then skip silently, unless someone was added.
    """
    incident, policy = run.incident, run.policy
    announced = list(run.data.get("announced_empty") or [])
    next_level = plan.level_after(policy, incident.severity, level.key)
    if level.key in announced:
        announced.remove(level.key)
    else:
        empty: list[tuple[EscalationLevel, list[str]]] = [(level, problems)]
        while next_level is not None:
            ahead, ahead_problems = await resolve_targets(run, next_level.notify)
            if ahead or reaches_beyond_slack(next_level):
                break
            empty.append((next_level, ahead_problems))
            next_level = plan.level_after(policy, incident.severity, next_level.key)
        announced = [lvl.key for lvl, _ in empty[1:]]
        await _notice(run, empty_levels_text(incident, policy, empty, next_level))
    run.data["skipped"] = True
    following = plan.level_after(policy, incident.severity, level.key)

    async def skipped(session: AsyncSession) -> None:
        timeline.record(
            session,
            incident,
            Kind.ESCALATION_SKIPPED,
            now=run.now,
            text=f"{level.key} {level.name} had no one to page",
            data={"level": level.key, "problems": problems},
        )
        if following is not None:
            paged = [p.key for p in paged_before]
            await schedule_page(
                session, incident, following, run.now, run.now, paged, announced_empty=announced
            )

    run.after(skipped)


async def warn_target_missed(run: StepRun) -> None:
    incident, policy = run.incident, run.policy
    if answered(run):
        return
    deadline = plan.response_deadline(policy, incident.severity, incident.started_at)
    if run.now < deadline:
        run.defer(deadline, "the response target moved with the severity")
        return
    levels = await paged_levels(run)
    await _notice(run, eb.target_warning_text(incident, policy, levels, run.ctx.settings.tz))

    async def breached(session: AsyncSession) -> None:
        await session.execute(
            update(Incident)
            .where(Incident.id == incident.id, Incident.response_breached_at.is_(None))
            .values(response_breached_at=deadline, updated_at=run.now)
        )
        target = policy.severity(incident.severity).response_target
        timeline.record(
            session,
            incident,
            Kind.RESPONSE_TARGET_MISSED,
            now=run.now,
            occurred_at=deadline,
            text=f"Not acknowledged within the {incident.severity} response target "
            f"({format_duration(target)})",
            data={"severity": incident.severity, "target_seconds": int(target.total_seconds())},
        )

    run.after(breached)


async def remind_update(run: StepRun) -> None:
    incident, policy = run.incident, run.policy
    if not incident.is_open:
        run.cancel("resolved")
        return
    every = policy.severity(incident.severity).update_every
    if every is None:
        run.cancel(f"{incident.severity} has no update cadence")
        return
    since = datetime.fromisoformat(run.data.get("since") or incident.started_at.isoformat())
    since_update = bool(run.data.get("since_update"))
    message = eb.update_reminder(
        incident, policy, since=since, since_update=since_update, now=run.now
    )
    if incident.channel_id:
        await run.post(CHANNEL, incident.channel_id, message.text, message.blocks)
    seq = int(run.data.get("seq") or 1)

    async def next_reminder(session: AsyncSession) -> None:
        await schedule_update_reminder(
            session,
            incident,
            seq + 1,
            run.now + every,
            since,
            since_update=since_update,
            now=run.now,
        )

    run.after(next_reminder)
