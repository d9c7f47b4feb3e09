"""The `page_backup` step: a level's schedules' backups, paged when nobody acknowledged within
the level's `backup_after`, before the next level is paged at the level's window.

Planned in the transaction that marks the level's page sent (keyed by that page, so once), it
is cancelled with the pages by an acknowledgement or a resolve, and at send time when the
incident is answered or the level has left the severity's chain. Who backs up is read when it
is sent (`on_call_now(...).backup`: a hand-off or an override since the page counts); nobody
the level's page reached is paged again. Nobody to page is one notice in the channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import escalation as plan
from app.domain.escalation import PAGE_BACKUP
from app.domain.formatting import human_minutes
from app.domain.policy import EscalationLevel
from app.domain.timeline import Kind
from app.services import engine, paging, timeline
from app.services.engine import StepRun
from app.services.engine.run import AfterHook
from app.services.escalation import invites
from app.services.escalation.start import CHANNEL
from app.services.escalation.targets import ON_CALL, SCHEDULE, slack_user
from app.services.oncall import on_call_now
from app.services.paging.common import answered
from app.services.slack_errors import is_transient, slack_error
from app.store.models import Incident, ScheduledStep, StepMessage
from app.ui import backup_page as ui
from app.ui import escalation as eb

KIND = PAGE_BACKUP


async def plan_backup(
    session: AsyncSession,
    incident: Incident,
    level: EscalationLevel,
    page_step_id: int,
    now: datetime,
) -> None:
    """In the transaction marking `level`'s page sent: its backup page, due `backup_after`
    later, when the level names schedules. A `backup_after` as long as the window is not
    planned: the next level is paged by then, and the backup would come after it."""
    after = level.backup_after
    if after is None or not level.schedules:
        return
    if level.window is not None and after >= level.window:
        return
    await engine.schedule(
        session,
        incident,
        KIND,
        now + after,
        {"page_step": page_step_id},
        now=now,
        level=level.key,
        key=f"{KIND}:{page_step_id}",
    )


@dataclass
class _Backups:
    """Who backs the level up now, and who the level's page reached."""

    paged: list[str]  # the level's page targets
    primaries: list[str]  # of those, the ones a schedule named (else every target)
    primary_on_call: dict[str, str]  # the page's ON_CALL: user -> schedule key
    sent_at: datetime | None
    users: list[str] = field(default_factory=list)
    backing: dict[str, str] = field(default_factory=dict)  # backup -> schedule key
    problems: list[str] = field(default_factory=list)


async def _the_page(run: StepRun, level: EscalationLevel) -> _Backups:
    async with run.ctx.sessions() as session:
        page = await session.get(ScheduledStep, int(run.data.get("page_step") or 0))
    data = (page.data or {}) if page is not None else {}
    targets = [str(u) for u in data.get("targets") or []]
    on_call = {str(u): str(k) for u, k in (data.get(ON_CALL) or {}).items()}
    primaries = [u for u in targets if on_call.get(u) in level.schedules] or targets
    sent_at = page.sent_at if page is not None else None
    return _Backups(targets, primaries, on_call, sent_at)


async def _find_backups(run: StepRun, level: EscalationLevel, found: _Backups) -> None:
    """Each schedule's backup at the step's instant, as Slack users; never someone the level's
    page reached (a hand-off since may make the page's primary the backup), nor twice."""
    for key in level.schedules:
        state = await on_call_now(run.ctx, run.policy, key, run.now)
        if state.backup is None:
            found.problems.append(f"{SCHEDULE}{key} (no backup on call)")
            continue
        try:
            user = await slack_user(run, state.backup.user)
        except SlackApiError as exc:
            if is_transient(exc):
                raise
            found.problems.append(f"{SCHEDULE}{key} ({state.backup.user}: {slack_error(exc)})")
            continue
        if user in found.paged:
            found.problems.append(f"{SCHEDULE}{key} (its backup was already paged)")
        elif user not in found.backing:
            found.users.append(user)
            found.backing[user] = key


async def send_backup_page(run: StepRun) -> None:
    incident, policy = run.incident, run.policy
    level_key = run.step.level or ""
    if answered(run):
        return
    if not plan.in_chain(policy, incident.severity, level_key):
        run.cancel(f"{level_key} is above the cap of {incident.severity}")
        return
    level = policy.level(level_key)
    found = await _the_page(run, level)
    await _find_backups(run, level, found)
    run.data.update(targets=found.users, problems=found.problems, primaries=found.primaries)
    run.data[ON_CALL] = found.backing
    reason = ui.BackupReason(
        primaries=found.primaries,
        on_call=found.primary_on_call,
        after=level.backup_after or timedelta(0),
        next_page=(
            plan.next_page_due(policy, incident.severity, level.key, found.sent_at)
            if found.sent_at is not None
            else None
        ),
        problems=found.problems,
        tz=run.ctx.settings.tz,
    )
    if not found.users:
        text = ui.no_backup_text(incident, policy, level, reason)
        if incident.channel_id:
            await run.post(CHANNEL, incident.channel_id, text, eb.notice(text).blocks)
        return
    text = ui.backup_channel_text(incident, policy, level, found.users, found.backing, reason)
    dm = ui.backup_dm_text(incident, policy, level, reason)
    invited = await _send(run, found.users, dm, text)
    run.after(_paged_hook(run, level, found, invited))


async def _send(run: StepRun, users: list[str], dm: str, text: str) -> bool:
    """The DMs (with the Acknowledge button), the channel's notice and the invitation, in one
    round; whether the backups were invited. Every send is awaited before the step fails."""
    incident = run.incident
    button = eb.with_ack_button(dm, incident).blocks
    sends: list[Awaitable[StepMessage]] = [run.post(user, user, dm, button) for user in users]
    invitation: asyncio.Task[bool] | None = None
    if incident.channel_id:
        sends.append(run.post(CHANNEL, incident.channel_id, text, eb.notice(text).blocks))
        if invites.can_go_now(run.ctx):
            invitation = asyncio.ensure_future(
                invites.invite(run.ctx, incident, incident.channel_id, users, invites.INLINE_WITHIN)
            )
    results = await asyncio.gather(*sends, return_exceptions=True)
    invited = await invitation if invitation is not None else False
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]
    return invited


def _paged_hook(run: StepRun, level: EscalationLevel, found: _Backups, invited: bool) -> AfterHook:
    incident = run.incident

    async def paged(session: AsyncSession) -> None:
        late = f" (sent {human_minutes(run.lateness)} late)" if run.late else ""
        named = " ".join(f"<@{user}>" for user in found.users)
        timeline.record(
            session,
            incident,
            Kind.PAGED,
            now=run.now,
            text=f"Paged the backup for {level.key} {level.name}: {named}{late}",
            data={
                "backup": True,
                "level": level.key,
                "targets": found.users,
                ON_CALL: found.backing,
                "primaries": found.primaries,
                "problems": found.problems,
                "late": run.late,
                "people": found.users,
            },
        )
        if incident.channel_id and not invited:
            await invites.plan_invite(
                run.ctx, session, incident, found.users, run.step.id, run.now, level.key
            )
        # The level's other channels (e-mail, SMS, voice...) reach the backups too.
        await paging.plan_for_page(
            session, run.ctx, incident, level, found.users, run.step.id, run.now
        )

    return paged
