"""Inviting paged people into the incident channel: a step of its own, after the page.

The page (its DMs and its channel message) must not wait on `conversations.invite`, a Tier 3
method (about 50 a minute): when many pages fall due together, invitations queued inside the
page steps held every engine slot and the DMs behind them waited minutes. So a page invites
alongside its messages only when the method's slot is free at once and no deferred invitation
waits for it (`can_go_now`); else, or
if that invitation failed for now, it plans an `invite` step in the transaction that marks it
sent. The invite step defers itself while Slack's tier is busy instead of holding a slot, and a
transient failure is retried by the engine like any step.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.runtime.slack_limits import SlackLimits
from app.services import engine
from app.services.engine import StepRun
from app.services.slack_errors import is_transient, slack_error
from app.store.models import Incident

log = logging.getLogger(__name__)

INVITE = "invite"
METHOD = "conversations.invite"
# A wait longer than this for the method's slot is spent pending in the database, not in a slot.
DEFER_WHEN_WAITING = timedelta(seconds=1)
NO_WAIT = timedelta(0)
# A page's own invitation gives up after this (a Retry-After met on the way): the step retries.
INLINE_WITHIN = 2.0


async def plan_invite(
    ctx: BotContext,
    session: AsyncSession,
    incident: Incident,
    users: list[str],
    page_step: int,
    now: datetime,
    level: str | None = None,
) -> int | None:
    """In the transaction that marks a page sent: invite its people, once per page, at a slot
    of Slack's tier reserved for it (at once when the tier is idle), so it is claimed once, when
    it can go, instead of being woken and deferred again and again."""
    limits = _limits(ctx)
    due = now + timedelta(seconds=limits.reserve(METHOD)) if limits is not None else now
    return await engine.schedule(
        session,
        incident,
        INVITE,
        due,
        {"users": users},
        now=now,
        level=level,
        key=f"{INVITE}:{page_step}",
    )


def _limits(ctx: BotContext) -> SlackLimits | None:
    limits = getattr(ctx.slack, "limits", None)
    return limits if isinstance(limits, SlackLimits) else None


def can_go_now(ctx: BotContext) -> bool:
    """Whether a page may invite alongside its messages: a slot free at once, and no deferred
    invitation waiting for it (those keep their turn)."""
    limits = _limits(ctx)
    return limits is None or (not limits.reserved(METHOD) and busy(ctx, NO_WAIT) is None)


def busy(ctx: BotContext, tolerance: timedelta = DEFER_WHEN_WAITING) -> timedelta | None:
    """How long an invitation would wait for Slack's tier now, if longer than `tolerance`."""
    limits = _limits(ctx)
    if limits is None:
        return None
    wait = timedelta(seconds=limits.expected_wait(METHOD))
    return wait if wait > tolerance else None


async def invite(
    ctx: BotContext,
    incident: Incident,
    channel: str,
    users: list[str],
    within: float | None = None,
) -> bool:
    """Invite `users`; False only when Slack failed for now or took longer than `within`
    seconds (worth another try: inviting twice is harmless). Never raises for Slack: a refusal
    for good (a deactivated user) is logged, the DMs reached them."""
    try:
        async with asyncio.timeout(within):
            await ctx.slack.conversations_invite(channel=channel, users=",".join(users), force=True)
    except SlackApiError as exc:
        error = slack_error(exc)
        if is_transient(exc):
            log.info("inviting paged people to %s failed for now: %s", incident.public_id, error)
            return False
        if error != "already_in_channel":
            log.warning("could not invite paged people to %s: %s", incident.public_id, error)
    except (OSError, TimeoutError) as exc:
        log.info("inviting paged people to %s failed for now: %r", incident.public_id, exc)
        return False
    finally:
        ctx.directory.forget(channel)  # who may act on the incident changed
    return True


async def send_invite(run: StepRun) -> None:
    """The `invite` step's handler (registered by `app.wiring`)."""
    incident = run.incident
    channel = incident.channel_id
    users = [str(u) for u in run.data.get("users") or []]
    if not incident.is_open or not channel or not users:
        run.cancel("resolved" if not incident.is_open else "nobody to invite")
        return
    limits = _limits(run.ctx)
    if limits is not None and busy(run.ctx) is not None:
        # Come back at a slot of its own, not when the next one frees with every other one.
        run.defer(
            run.now + timedelta(seconds=limits.reserve(METHOD)),
            "Slack's conversations.invite tier is busy",
        )
        return
    if not await invite(run.ctx, incident, channel, users):
        raise RuntimeError("Slack could not take the invitation for now")  # retried with backoff
