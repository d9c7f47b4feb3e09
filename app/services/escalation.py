"""Escalation: page L1, L2, ... until someone acknowledges; warn once when the response target
runs out; remind the channel to post status updates.

Every page and reminder is a scheduled step (see `app.services.steps`), so nothing lives only in
memory. The functions other features call (`on_resolved`, `on_severity_changed`,
`on_status_update`) only move or cancel rows; the handlers re-check the incident when a step
falls due (acknowledged? resolved? still within the severity's cap?), so a missed call can delay
nothing worse than a cancelled page showing up as cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.config.policy import EscalationLevel, Policy
from app.context import BotContext
from app.domain import escalation as plan
from app.domain.durations import format_duration
from app.domain.escalation import PAGE, TARGET_WARNING, UPDATE_REMINDER
from app.services import steps, timeline
from app.services.errors import UserError
from app.services.steps import StepRun, is_transient, run_due_steps, slack_error, step_handler
from app.services.summary import refresh_summary
from app.store import steps as step_store
from app.store.models import Incident, ScheduledStep, Status, StepMessage, StepStatus
from app.ui import escalation_blocks as eb

__all__ = [
    "ESCALATION_KINDS",
    "AckResult",
    "acknowledge",
    "announce_acknowledgement",
    "on_resolved",
    "on_severity_changed",
    "on_status_update",
    "run_due_steps",
    "snooze_reminder",
    "start_escalation",
]

log = logging.getLogger(__name__)

ESCALATION_KINDS = (PAGE, TARGET_WARNING, UPDATE_REMINDER)
CHANNEL = "channel"  # StepMessage.recipient of the incident-channel message


def _policy(incident: Incident) -> Policy:
    return Policy.from_snapshot(incident.policy_snapshot)


# ------------------------------------------------------------------------------ starting


async def start_escalation(ctx: BotContext, incident: Incident) -> None:
    """Plan the escalation of a newly declared incident and page L1 at once.

    Safe to call again (retry-setup): an escalation already planned is left as it is (and
    every planned step has a key, so two racing calls plan it once); a page still pending from
    a failed attempt is tried again.
    """
    if not incident.is_open:
        return
    policy = _policy(incident)
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
            await steps.schedule(
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
        await steps.run_now(ctx, first_ids)


# ------------------------------------------------------------------------------ targets


async def _usergroup_ids(run: StepRun) -> dict[str, str]:
    """Handle -> usergroup id, asked of Slack once per tick."""
    if "usergroups" not in run.cache:
        response = await run.ctx.slack.usergroups_list()
        run.cache["usergroups"] = {
            str(group.get("handle", "")).lower(): group["id"]
            for group in response.get("usergroups", [])
        }
    return run.cache["usergroups"]


async def resolve_targets(run: StepRun, notify: Sequence[str]) -> tuple[list[str], list[str]]:
    """The user ids a level's `notify` entries name right now, and what could not be resolved.

    Resolved at send time so a usergroup's current on-call rotation is paged. Transient Slack
    errors raise (the step is retried); a missing group or unknown email is reported instead.
    """
    users: list[str] = []
    problems: list[str] = []
    for entry in notify:
        try:
            if entry.startswith("@"):
                group_id = (await _usergroup_ids(run)).get(entry[1:].lower())
                if group_id is None:
                    problems.append(f"{entry} (no such usergroup)")
                    continue
                members = (await run.ctx.slack.usergroups_users_list(usergroup=group_id))["users"]
                if not members:
                    problems.append(f"{entry} (no members)")
                users += members
            elif "@" in entry:
                found = await run.ctx.slack.users_lookupByEmail(email=entry)
                users.append(found["user"]["id"])
            else:
                users.append(entry)
        except SlackApiError as exc:
            if is_transient(exc):
                raise
            problems.append(f"{entry} ({_why(slack_error(exc))})")
    bot_user = await run.ctx.bot_user_id()
    return [u for u in dict.fromkeys(users) if u != bot_user], problems


def _why(error: str) -> str:
    return {
        "users_not_found": "no Slack user with this email",
        "no_such_subteam": "no such usergroup",
    }.get(error, error)


async def _paged_levels(run: StepRun) -> list[EscalationLevel]:
    """Levels actually paged so far (sent, with someone to page), lowest first.

    A page planned by the previous one carries the list in its data, which saves the query.
    """
    keys = run.data.get("paged_before")
    if keys is None:
        async with run.ctx.sessions() as session:
            sent = await step_store.for_incident(
                session, run.incident.id, [PAGE], [StepStatus.SENT]
            )
        keys = [s.level for s in sent if s.level and s.data.get("targets")]
    return [level for level in run.policy.escalation.levels if level.key in keys]


# ------------------------------------------------------------------------------ handlers


@step_handler(PAGE)
async def _send_page(run: StepRun) -> None:
    incident, policy = run.incident, run.policy
    level_key = run.step.level or ""
    if not incident.is_open:
        run.cancel("resolved")
        return
    if incident.acknowledged_at is not None:
        run.cancel("acknowledged")
        return
    if not plan.in_chain(policy, incident.severity, level_key):
        run.cancel(f"{level_key} is above the cap of {incident.severity}")
        return
    level = policy.level(level_key)
    next_level = plan.level_after(policy, incident.severity, level_key)
    targets, problems = await resolve_targets(run, level.notify)
    run.data.update(targets=targets, problems=problems)

    paged_before = [p for p in await _paged_levels(run) if p.key != level.key]
    if not targets:
        text = eb.empty_level_text(incident, policy, level, next_level, problems)
        if incident.channel_id:
            await run.post(CHANNEL, incident.channel_id, text, eb.notice(text).blocks)
        run.data["skipped"] = True

        async def skipped(session: AsyncSession) -> None:
            timeline.record(
                session,
                incident,
                timeline.Kind.ESCALATION_SKIPPED,
                now=run.now,
                text=f"{level.key} {level.name} had no one to page",
                data={"level": level.key, "problems": problems},
            )
            if next_level is not None:
                paged = [p.key for p in paged_before]
                await _schedule_page(session, incident, next_level, run.now, run.now, paged)

        run.after(skipped)
        return

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
    )
    # The channel page, the invitation and the DMs do not depend on each other: one round.
    sends = []
    if incident.channel_id:
        page = eb.with_ack_button(text, incident)
        sends += [run.post(CHANNEL, incident.channel_id, text, page.blocks), _invite(run, targets)]
    dm = eb.dm_text(incident, policy, level)
    sends += [run.post(user, user, dm, eb.with_ack_button(dm, incident).blocks) for user in targets]
    # Wait for every send before failing the step: a retry must never race a send in flight.
    results = await asyncio.gather(*sends, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]

    async def paged(session: AsyncSession) -> None:
        late = f" (sent {eb.human_minutes(run.lateness)} late)" if run.late else ""
        timeline.record(
            session,
            incident,
            timeline.Kind.PAGED,
            now=run.now,
            text=f"Paged {level.key} {level.name}{late}",
            data={"level": level.key, "targets": targets, "problems": problems, "late": run.late},
        )
        metrics.page_sent(level.key)
        following = plan.next_page_due(policy, incident.severity, level.key, run.now)
        if following is not None:
            paged = [p.key for p in paged_before] + [level.key]
            await _schedule_page(session, incident, following[0], following[1], run.now, paged)

    run.after(paged)


async def _schedule_page(
    session: AsyncSession,
    incident: Incident,
    level: EscalationLevel,
    due: datetime,
    now: datetime,
    paged_before: list[str] | None = None,
) -> int | None:
    data = {} if paged_before is None else {"paged_before": paged_before}
    return await steps.schedule(
        session, incident, PAGE, due, data, now=now, level=level.key, key=plan.page_key(level.key)
    )


async def _invite(run: StepRun, users: list[str]) -> None:
    """Bring the paged people into the incident channel (private ones cannot join alone)."""
    try:
        await run.ctx.slack.conversations_invite(
            channel=run.incident.channel_id, users=",".join(users), force=True
        )
    except SlackApiError as exc:
        if exc.response.get("error") != "already_in_channel":
            log.warning(
                "could not invite paged people to %s: %s",
                run.incident.public_id,
                slack_error(exc),
            )


@step_handler(TARGET_WARNING)
async def _warn_target_missed(run: StepRun) -> None:
    incident, policy = run.incident, run.policy
    if not incident.is_open:
        run.cancel("resolved")
        return
    if incident.acknowledged_at is not None:
        run.cancel("acknowledged")
        return
    deadline = plan.response_deadline(policy, incident.severity, incident.started_at)
    if run.now < deadline:
        run.defer(deadline, "the response target moved with the severity")
        return
    text = eb.target_warning_text(incident, policy, await _paged_levels(run), run.ctx.settings.tz)
    if incident.channel_id:
        await run.post(CHANNEL, incident.channel_id, text, eb.notice(text).blocks)

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
            timeline.Kind.RESPONSE_TARGET_MISSED,
            now=run.now,
            occurred_at=deadline,
            text=f"Not acknowledged within the {incident.severity} response target "
            f"({format_duration(target)})",
            data={"severity": incident.severity, "target_seconds": int(target.total_seconds())},
        )

    run.after(breached)


@step_handler(UPDATE_REMINDER)
async def _remind_update(run: StepRun) -> None:
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
        await _schedule_update_reminder(
            session,
            incident,
            seq + 1,
            run.now + every,
            since,
            since_update=since_update,
            now=run.now,
        )

    run.after(next_reminder)


# ------------------------------------------------------------------------------ acknowledge


@dataclass(frozen=True)
class AckResult:
    incident: Incident
    acknowledged: bool  # True when this call did it; False if already done or resolved
    reply: str  # the answer for the person who asked
    paged: tuple[str, ...] = ()


async def acknowledge(ctx: BotContext, incident: Incident, user_id: str) -> AckResult:
    """Record who acknowledged and when, and stop the chain; the first of two clicks wins.

    The compare-and-set on `acknowledged_at IS NULL` decides the winner, so two people
    clicking at once get one acknowledgement and one "already acknowledged".
    """
    now = ctx.clock.now()
    tz = ctx.settings.tz
    policy = _policy(incident)
    async with ctx.sessions.begin() as session:
        result = await session.execute(
            update(Incident)
            .where(
                Incident.id == incident.id,
                Incident.acknowledged_at.is_(None),
                Incident.resolved_at.is_(None),
                Incident.status != Status.RESOLVED,
            )
            .values(acknowledged_at=now, acknowledged_by=user_id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        current = await session.get(Incident, incident.id, populate_existing=True)
        assert current is not None
        if not result.rowcount:
            if current.acknowledged_at is not None and current.acknowledged_by:
                reply = (
                    f"{current.public_id} was already acknowledged by <@{current.acknowledged_by}> "
                    f"at {eb.short_time(current.acknowledged_at, tz)}."
                )
            else:
                reply = f"{current.public_id} is resolved; there is nothing to acknowledge."
            return AckResult(current, False, reply)
        await step_store.cancel_pending(session, incident.id, [PAGE, TARGET_WARNING], now)
        sent = await step_store.for_incident(session, incident.id, [PAGE], [StepStatus.SENT])
        paged = tuple(
            f"{lvl.key} {lvl.name}"
            for lvl in policy.escalation.levels
            if any(s.level == lvl.key and s.data.get("targets") for s in sent)
        )
        waited = now - current.started_at
        target = policy.severity(current.severity).response_target
        timeline.record(
            session,
            current,
            timeline.Kind.ACKNOWLEDGED,
            now=now,
            actor_id=user_id,
            text=f"Acknowledged after {eb.human_minutes(waited)}",
            data={
                "time_to_acknowledge_seconds": int(waited.total_seconds()),
                "within_target": waited <= target,
                "levels_paged": [p.split()[0] for p in paged],
            },
        )
    metrics.acknowledged(current.severity, current.started_at, now)
    reply = (
        f"You acknowledged {current.public_id}, {eb.human_minutes(waited)} after it was declared. "
        "Escalation stopped."
    )
    return AckResult(current, True, reply, paged)


async def announce_acknowledgement(ctx: BotContext, result: AckResult) -> None:
    """Tell the channel, and turn every page's button into who acknowledged and when."""
    incident = result.incident
    if not result.acknowledged or incident.acknowledged_at is None:
        return
    policy = _policy(incident)
    user = incident.acknowledged_by or ""
    waited = incident.acknowledged_at - incident.started_at
    note = eb.acknowledged_note(user, incident.acknowledged_at, waited, ctx.settings.tz)
    await _settle_pages(ctx, incident, note)
    # The summary loses its Acknowledge button and shows who acknowledged.
    await refresh_summary(ctx, incident)
    if incident.channel_id:
        text = eb.acknowledged_text(incident, policy, user, waited, result.paged)
        try:
            await ctx.slack.chat_postMessage(
                channel=incident.channel_id, text=text, blocks=eb.notice(text).blocks
            )
        except SlackApiError as exc:
            log.warning("could not announce ack of %s: %s", incident.public_id, slack_error(exc))


async def _settle_pages(ctx: BotContext, incident: Incident, note: str) -> None:
    """Replace the Acknowledge buttons of an incident's page messages by `note` (best effort)."""
    async with ctx.sessions() as session:
        messages = await step_store.messages_of_kind(session, incident.id, PAGE)
    for message in messages:
        settled = eb.settled(message.text, note)
        try:
            await ctx.slack.chat_update(
                channel=message.channel, ts=message.ts, text=settled.text, blocks=settled.blocks
            )
        except SlackApiError as exc:
            log.warning(
                "could not update page %s of %s: %s",
                message.ts,
                incident.public_id,
                slack_error(exc),
            )


# ------------------------------------------------------------------------------ other events


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
        await _settle_pages(ctx, current, eb.RESOLVED_NOTE)
    return cancelled


async def on_severity_changed(ctx: BotContext, incident: Incident, old: str, new: str) -> None:
    """Extend or trim the chain after the severity changed (the caller saved the new one).

    Raising it pages the next level from where the chain stopped, once the last paged level's
    window is over; lowering it cancels pages above the new cap. The response-target warning
    and the update-reminder cadence follow the new severity.
    """
    policy = _policy(incident)
    now = ctx.clock.now()
    new_chain = [level.key for level in plan.chain(policy, new)]
    trimmed: list[EscalationLevel] = []
    next_page: tuple[EscalationLevel, datetime] | None = None
    async with ctx.sessions.begin() as session:
        current = await session.get(Incident, incident.id, populate_existing=True)
        if current is None or not current.is_open:
            return
        all_steps = await step_store.for_incident(session, incident.id, ESCALATION_KINDS)
        pending = [s for s in all_steps if s.status == StepStatus.PENDING]

        above = [s for s in pending if s.kind == PAGE and s.level not in new_chain]
        if above:
            levels = [s.level for s in above if s.level]
            await step_store.cancel_pending(session, incident.id, [PAGE], now, levels=levels)
            trimmed = [policy.level(key) for key in levels]

        acknowledged = current.acknowledged_at is not None
        live_page = any(s.kind == PAGE and s.level in new_chain for s in pending)
        if not acknowledged and not live_page:
            sent = [s for s in all_steps if s.kind == PAGE and s.status == StepStatus.SENT]
            order = policy.escalation.keys
            last = max(sent, key=lambda s: order.index(s.level or "L1"), default=None)
            if last is not None and last.level in new_chain and last.sent_at is not None:
                following = plan.next_page_due(policy, new, last.level, last.sent_at)
                if following is not None:
                    level, due = following[0], max(following[1], now)
                    if await _schedule_page(session, current, level, due, now):
                        next_page = (level, due)

        if not acknowledged:
            # A target already over under the new severity warns now, not "late".
            deadline = max(plan.response_deadline(policy, new, current.started_at), now)
            for step in pending:
                if step.kind == TARGET_WARNING:
                    await step_store.reschedule(session, step.id, deadline, now)

        await _follow_cadence(session, current, policy, new, all_steps, now)

    text = eb.chain_changed_text(
        current, policy, old, new, trimmed=trimmed, next_page=next_page, tz=ctx.settings.tz
    )
    if text and current.channel_id:
        try:
            await ctx.slack.chat_postMessage(
                channel=current.channel_id, text=text, blocks=eb.notice(text).blocks
            )
        except SlackApiError as exc:
            log.warning("could not post the escalation change of %s: %s", incident.public_id, exc)


async def _follow_cadence(
    session: AsyncSession,
    incident: Incident,
    policy: Policy,
    severity: str,
    all_steps: list[ScheduledStep],
    now: datetime,
) -> None:
    """Move, cancel or start the pending update reminder for `severity`'s cadence."""
    reminders = [s for s in all_steps if s.kind == UPDATE_REMINDER]
    pending = [s for s in reminders if s.status == StepStatus.PENDING]
    latest = reminders[-1] if reminders else None
    since_raw = (latest.data.get("since") if latest else None) or incident.started_at.isoformat()
    since = datetime.fromisoformat(since_raw)
    since_update = bool(latest.data.get("since_update")) if latest else False
    # The cadence counts from the last update, or from the last reminder if one went out since.
    reminded = [s.sent_at for s in reminders if s.status == StepStatus.SENT and s.sent_at]
    base = max([since, *reminded])
    due = plan.update_reminder_due(policy, severity, base)
    if due is None:
        await step_store.cancel_pending(session, incident.id, [UPDATE_REMINDER], now)
        return
    due = max(due, now)
    if pending:
        for step in pending:
            await step_store.reschedule(session, step.id, due, now)
        return
    await _schedule_update_reminder(
        session, incident, len(reminders) + 1, due, since, since_update=since_update, now=now
    )


async def _schedule_update_reminder(
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
    await steps.schedule(
        session,
        incident,
        UPDATE_REMINDER,
        due,
        plan.reminder_data(seq, since, since_update=since_update),
        now=now,
        key=plan.reminder_key(seq),
    )


async def on_status_update(ctx: BotContext, incident: Incident) -> datetime | None:
    """A status update was posted: the next reminder is one full cadence from now.

    Returns when that reminder is due (None when the severity has no cadence or the incident
    is resolved).
    """
    policy = _policy(incident)
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
            await _schedule_update_reminder(
                session, current, len(reminders) + 1, due, now, since_update=True, now=now
            )
    return due


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
    from app.store import incidents as incident_store

    now = ctx.clock.now()
    if delay not in eb.SNOOZE_CHOICES:
        raise UserError("That snooze length is not offered; pick one of the buttons.")
    async with ctx.sessions.begin() as session:
        incident = await incident_store.by_public_id(session, public_id)
        if incident is None:
            raise UserError(f"No incident {public_id}.")
        if not incident.is_open:
            raise UserError(f"{incident.public_id} is resolved; no more reminders.")
        pending = await steps.pending(session, incident.id, UPDATE_REMINDER)
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
    if clicked is not None and clicked.ts and clicked.channel:
        settled = eb.settled(clicked.text, eb.snoozed_note(user_id, until, tz))
        try:
            await ctx.slack.chat_update(
                channel=clicked.channel, ts=clicked.ts, text=settled.text, blocks=settled.blocks
            )
        except SlackApiError as exc:
            log.warning("could not mark reminder %s snoozed: %s", clicked.ts, slack_error(exc))
    reply = f"Update reminders for {incident.public_id} snoozed until {eb.short_time(until, tz)}."
    return SnoozeResult(incident, until, reply)
