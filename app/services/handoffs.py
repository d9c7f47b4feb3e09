"""Hand-offs announced: the person coming on call gets a DM ("You are on call for Primary from
… until …") with the open incidents they may see.

A pass (every minute, and at start: `app.scheduler`) looks at the hand-offs of every schedule
of the current policy in the last `LOOKBACK`, overrides included, and announces each new one
once across replicas: the hand-off is claimed in its own committed transaction before Slack is
called (`store.oncall.claim_handoff`, keyed by the schedule and the instant the person came
on), marked announced when Slack answers, and released when Slack fails for now, so a later
pass within the window tries again. The DM carries metadata, and the bot's IM with the person
is looked at first, so a retry after an answer Slack lost does not send it twice. A refusal for
good (a deactivated user) keeps the claim: it is logged, never retried. A process killed
between the claim and Slack's answer loses that one announcement (never doubles it).

Time is injected: the pass takes `now`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain.policy.fields import USER_ID
from app.domain.policy.oncall import Schedule
from app.domain.rotation import Override, Shift, handoffs
from app.services import listing
from app.services import oncall as oncall_service
from app.services.slack_errors import is_transient, slack_error
from app.services.slack_messages import find_tagged, metadata
from app.store import oncall as store
from app.ui.common import to_dicts
from app.ui.oncall import handoff_message

log = logging.getLogger(__name__)

__all__ = ["HANDOFF_EVENT", "LOOKBACK", "Arrival", "announce_handoffs", "arrivals"]

LOOKBACK = timedelta(minutes=10)  # a hand-off older than this when first seen is not announced
HANDOFF_EVENT = "incident_oncall_handoff"  # the DM's metadata, to find it after a lost answer


@dataclass(frozen=True)
class Arrival:
    """Someone coming on call for `schedule` at `at` (the instant of the hand-off)."""

    schedule: Schedule
    at: datetime
    shift: Shift


def arrivals(
    schedule: Schedule, since: datetime, until: datetime, overrides: Sequence[Override] = ()
) -> list[Arrival]:
    """The hand-offs in (since, until] (`rotation.handoffs`: a shift resumed after an
    override begins when the override ends, so its announcement has a key of its own)."""
    return [
        Arrival(schedule, shift.starts_at, shift)
        for shift in handoffs(schedule, since, until, overrides)
    ]


async def announce_handoffs(ctx: BotContext, now: datetime) -> int:
    """One pass: announce every hand-off of the last LOOKBACK not announced yet; the number
    of DMs sent. A failure with one person never holds back the others."""
    schedules = ctx.policy.oncall.schedules
    if not schedules:
        return 0
    found = await oncall_service.overrides(ctx, now)
    sent = 0
    for key, schedule in schedules.items():
        for arrival in arrivals(schedule, now - LOOKBACK, now, found.get(key, [])):
            if arrival.shift.ends_at is not None and arrival.shift.ends_at <= now:
                continue  # over already: nobody to tell
            try:
                sent += await _announce(ctx, arrival, found, now)
            except Exception:  # noqa: BLE001 - the next arrival still goes out
                log.exception("hand-off of %s at %s: announcement failed", key, arrival.at)
    return sent


async def _user_id(ctx: BotContext, member: str) -> str | None:
    """The Slack user id of a schedule member (an id, or an e-mail looked up now)."""
    if USER_ID.fullmatch(member):
        return member
    try:
        answer = await ctx.slack.users_lookupByEmail(email=member)
    except SlackApiError as exc:
        log.warning("hand-off to %s: no Slack user (%s)", member, slack_error(exc))
        return None
    return str(answer["user"]["id"])


async def _announce(
    ctx: BotContext, arrival: Arrival, found: dict[str, list[Override]], now: datetime
) -> int:
    key = arrival.schedule.key
    user_id = await _user_id(ctx, arrival.shift.user)
    if user_id is None:
        return 0
    async with ctx.sessions.begin() as session:
        claimed = await store.claim_handoff(session, key, arrival.at, user_id, now)
    if not claimed:
        return 0
    try:
        await _send(ctx, arrival, user_id, found)
    except Exception as exc:  # noqa: BLE001 - released for the next pass, or given up below
        if isinstance(exc, SlackApiError) and not is_transient(exc):
            log.warning(
                "hand-off of %s at %s: Slack refused the DM to %s (%s); not retried",
                key,
                arrival.at.isoformat(),
                user_id,
                slack_error(exc),
            )
            return 0
        async with ctx.sessions.begin() as session:
            await store.release_handoff(session, key, arrival.at)
        log.warning(
            "hand-off of %s at %s: DM to %s failed (%s); the next pass tries again",
            key,
            arrival.at.isoformat(),
            user_id,
            slack_error(exc),
        )
        return 0
    async with ctx.sessions.begin() as session:
        await store.handoff_announced(session, key, arrival.at, now)
    log.info("hand-off of %s at %s announced to %s", key, arrival.at.isoformat(), user_id)
    return 1


async def _send(
    ctx: BotContext, arrival: Arrival, user_id: str, found: dict[str, list[Override]]
) -> None:
    """The DM, unless the bot's IM with the person already has it (an answer lost before)."""
    tag = metadata(HANDOFF_EVENT, {"schedule": arrival.schedule.key, "at": arrival.at.isoformat()})
    if await _already_sent(ctx, user_id, tag):
        return
    state = oncall_service.state_of(ctx.policy, arrival.schedule.key, arrival.at, found)
    visible = await listing.open_incidents_for(ctx, user_id)
    message = handoff_message(
        arrival.schedule,
        arrival.at,
        arrival.shift,
        state.backup,
        visible.incidents,
        ctx.settings.tz,
    )
    await ctx.slack.chat_postMessage(
        channel=user_id,
        text=message.text,
        blocks=to_dicts(message.blocks),
        metadata=tag,
    )


async def _already_sent(ctx: BotContext, user_id: str, tag: dict) -> bool:
    """Whether the IM with `user_id` holds this hand-off's DM; a lookup that fails says no
    (a DM twice is better than a hand-off nobody heard of)."""
    try:
        channel = (await ctx.slack.conversations_open(users=user_id))["channel"]["id"]
        return await find_tagged(ctx.slack, channel, tag) is not None
    except SlackApiError as exc:
        log.info(
            "hand-off DM to %s: could not look for an earlier one (%s)", user_id, slack_error(exc)
        )
        return False
